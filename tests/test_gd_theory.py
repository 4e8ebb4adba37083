"""THEORY.md §13 (the GD certificate) checked against an independent implementation.

``theory/gd.py`` is called only through ``certify_gd`` (and ``geometric_sum`` is compared
with a plain sum). The reference below is §13 written out again from the document, not
from the code: no rounding margins, every function vectorized over ρ, the smallest fixed
point of ρ ↦ R_gd(ρ) by a dense grid (20,001 points) and bisection, sup_ρ η_max(ρ) as the
largest η for which some ρ certifies (bisection on η: the certified η form an interval,
§13 remark iv) and the certified γ set by a scan over γ and bisection of its ends — the
code instead maximizes the per-ρ step bound and unions per-ρ γ intervals, so the two
meet only in the theorem.

Tolerances: closed-form quantities (η, stability, α, Σ, a, rate at the named ρ) agree to
1e-8 relative (the code's rounding margins are 64u ≈ 7e-15 per operation); solved ones (ρ,
lr_max, the ends of the γ set) to 1e-6 (the code solves to 1e-12, the reference to 1e-13;
near η_max the feasible ρ set is a point, so ρ there is known only to √(1e-12)).

The last part runs plain full-batch GD on small real problems built through the pipeline
(THEORY.md §11: rigour by search) and checks G1 (every step), the rate, G2, G3 and G5.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ntkcheck.theory.certificate import Quantities
from ntkcheck.theory.drift import LipschitzDrift
from ntkcheck.theory.gd import certify_gd, geometric_sum

from .conftest import AtGamma

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
LOSSES = ("half_sum", "sum", "mse", "half_mean")
ROWS = 8  # m, the number of residual entries, for the mean conventions


def loss_c(loss: str, m: int) -> float:
    """§13 "Loss conventions": ℓ = (c/2)‖r‖², η = c·lr."""
    return {"half_sum": 1.0, "sum": 2.0, "mse": 2.0 / m, "half_mean": 1.0 / m}[loss]


# ---- drift bounds implementing the Drift protocol (test-local) --------------------------


@dataclass(frozen=True)
class SmoothBallDrift:
    """Like the mlp's ball bound: h(ρ) = β(ρ)ρ with β(ρ) = β0(1 + ρ/ρ0)² increasing, J
    β(ρ)-Lipschitz on the ball (§13 (L)); pair 2h."""

    beta0: float
    rho0: float
    rigorous: bool = True
    kind: str = "ball_lipschitz"

    def beta(self, rho):
        return self.beta0 * (1.0 + rho / self.rho0) ** 2

    def h(self, rho: float) -> float:
        return float(self.beta(rho) * rho)

    def lipschitz(self, rho: float) -> float | None:
        return float(self.beta(rho))

    def pair(self, rho: float) -> float:
        return 2.0 * self.h(rho)

    def safe_radius(self, target: float) -> float:
        lo, hi = 0.0, target / self.beta0  # h(ρ) ≥ β0ρ
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if self.h(mid) <= target:
                lo = mid
            else:
                hi = mid
        return lo


@dataclass(frozen=True)
class ConcaveFlipDrift:
    """Like the relu flip bound: h(ρ) = h0 + cρ^{1/3} for ρ > 0 (h(0+) = h0 > 0, concave),
    J not Lipschitz, pair min(2h(ρ), h(√2ρ)) (§13 (G))."""

    h0: float
    c: float
    rigorous: bool = True
    kind: str = "flip_count"

    def h(self, rho: float) -> float:
        return 0.0 if rho <= 0.0 else self.h0 + self.c * rho ** (1.0 / 3.0)

    def lipschitz(self, rho: float) -> float | None:
        return None

    def pair(self, rho: float) -> float:
        return min(2.0 * self.h(rho), self.h(math.sqrt(2.0) * rho))

    def safe_radius(self, target: float) -> float:
        if target < self.h0:
            return 0.0
        return ((target - self.h0) / self.c) ** 3


# ---- the reference: §13 written out again ------------------------------------------------


@dataclass(frozen=True)
class Case:
    """σ bounds, the drift written as numpy formulas (h, β or None, h_pair), its α-radius
    sup{h < σ_min}, and L0(γ) = ½‖γf0 − y‖² through ‖f0‖², f0·y, ‖y‖²."""

    name: str
    smin: float
    smax: float
    drift: object  # what certify_gd is fed
    h: Callable[[np.ndarray], np.ndarray]
    beta: Callable[[np.ndarray], np.ndarray] | None
    pair: Callable[[np.ndarray], np.ndarray]
    top: float
    f0_sq: float = 0.0
    f0_dot_y: float = 0.0
    y_sq: float = 4.0
    mp_h: Callable | None = None  # h in mpmath, for the exact rigour check

    @property
    def depends(self) -> bool:
        return self.f0_sq > 0.0

    def r0(self, gamma: float) -> float:
        return math.sqrt(gamma * gamma * self.f0_sq - 2.0 * gamma * self.f0_dot_y + self.y_sq)

    def quantities(self, gamma: float) -> Quantities:
        return Quantities(
            sigma_min=self.smin,
            sigma_max=self.smax,
            loss0=0.5 * self.r0(gamma) ** 2,
            f0_sq=self.f0_sq,
            f0_dot_y=self.f0_dot_y,
            y_sq=self.y_sq,
            full_rank=True,
            loss_depends_on_gamma=self.depends,
        )

    def certify(self, gamma: float, lr: float, loss: str = "half_sum", steps: int = 100):
        return certify_gd(
            gamma, lr, loss, steps, ROWS, self.quantities(gamma), self.drift, rigorous=True
        )

    # §13 at radius ρ (arrays), exact formulas
    def ball(self, rho, eta: float, gamma: float) -> dict[str, np.ndarray]:
        rho = np.asarray(rho, dtype=float)
        r = self.r0(gamma)
        h = self.h(rho)
        alpha = self.smin - h
        Sigma = self.smax + h
        c1 = eta * gamma**2 * Sigma**2
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = np.where(alpha > 0, 2.0 * self.pair(rho) / alpha, np.inf)
            if self.beta is not None:
                c2 = np.minimum(c2, eta * gamma * self.beta(rho) * r)
            a = 2.0 - c1 - c2
            ok = (alpha > 0) & (a > 0)
            R = np.where(ok, 2.0 * r / (a * gamma * alpha), np.inf)
        return {"h": h, "alpha": alpha, "Sigma": Sigma, "a": a, "R": R}

    def excess(self, rho, eta: float, gamma: float) -> np.ndarray:
        """(ρ − R_gd(ρ))/ρ: ≥ 0 ⇔ the theorem's hypothesis holds at ρ."""
        rho = np.asarray(rho, dtype=float)
        return (rho - self.ball(rho, eta, gamma)["R"]) / rho

    def rho_grid(self, gamma: float, points: int) -> np.ndarray:
        lo = self.r0(gamma) / (gamma * self.smin)  # R_gd ≥ ‖r0‖/(γσ_min): a < 2, α ≤ σ_min
        top = self.top if math.isfinite(self.top) else lo * 1e8
        if lo == 0.0:  # r0(γ) = 0: R_gd = 0 wherever a > 0
            lo = top * 1e-12
        return np.geomspace(lo, top * (1.0 - 1e-13), points)

    def best(self, eta: float, gamma: float, points: int = 20001) -> tuple[float, float]:
        """max_ρ (ρ − R_gd)/ρ: grid, then golden section on log ρ around the best point."""
        grid = self.rho_grid(gamma, points)
        v = self.excess(grid, eta, gamma)
        i = int(np.argmax(v))
        lo, hi = math.log(grid[max(i - 1, 0)]), math.log(grid[min(i + 1, points - 1)])
        g = (math.sqrt(5.0) - 1.0) / 2.0
        best_x, best_v = float(grid[i]), float(v[i])
        for _ in range(80):
            x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
            v1, v2 = (float(self.excess(math.exp(x), eta, gamma)) for x in (x1, x2))
            if v1 >= v2:
                hi = x2
            else:
                lo = x1
            for x, vx in ((x1, v1), (x2, v2)):
                if vx > best_v:
                    best_x, best_v = math.exp(x), vx
        return best_x, best_v

    def feasible(self, eta: float, gamma: float, points: int = 20001) -> bool:
        return self.best(eta, gamma, points)[1] >= 0.0

    def smallest_rho(self, eta: float, gamma: float) -> float | None:
        """The smallest ρ with R_gd(ρ) ≤ ρ: first grid point inside, bisection below it."""
        grid = self.rho_grid(gamma, 20001)
        inside = np.nonzero(self.excess(grid, eta, gamma) >= 0.0)[0]
        if inside.size:
            i = int(inside[0])
            if i == 0:
                return float(grid[0])
            lo, hi = float(grid[i - 1]), float(grid[i])
        else:
            x, v = self.best(eta, gamma)
            if v < 0.0:
                return None
            lo, hi = float(grid[grid < x][-1]), x
        while hi - lo > 1e-14 * hi:
            mid = 0.5 * (lo + hi)
            if self.excess(mid, eta, gamma) >= 0.0:
                hi = mid
            else:
                lo = mid
        return hi

    def eta_max(self, gamma: float) -> float:
        """sup of the certified η at γ (0 when none): bisection, the set being (0, η_max]."""
        hi = 2.0 / (gamma * gamma * self.smax**2)  # c1 ≥ 2 from here on: a < 0
        lo = 0.0
        if not self.feasible(hi * 1e-12, gamma):
            return 0.0
        while hi - lo > 1e-13 * hi:
            mid = 0.5 * (lo + hi)
            if self.feasible(mid, gamma):
                lo = mid
            else:
                hi = mid
        return lo

    def gamma_set(self, eta: float) -> list[tuple[float, float]]:
        """The certified γ at η: a log-γ scan (400 points, coarse ρ grid), every run of
        certified points widened to its ends by bisection (fine ρ grid)."""
        cap = math.sqrt(2.0 / eta) / self.smax  # c1 < 2 needs γ below this
        gs = np.geomspace(cap * 1e-9, cap, 120)
        if self.depends and 0 < self.f0_dot_y / self.f0_sq < cap:  # where ‖γf0 − y‖ is least
            gs = np.sort(np.append(gs, self.f0_dot_y / self.f0_sq))
        ok = np.array([self.best(eta, float(g), 2001)[1] >= 0.0 for g in gs])
        if not ok.any():  # near the largest step the set is a narrow window: refine in γ
            i = int(np.argmax([self.best(eta, float(g), 2001)[1] for g in gs]))
            lo, hi = math.log(gs[max(i - 1, 0)]), math.log(gs[min(i + 1, gs.size - 1)])
            for _ in range(40):
                t1, t2 = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
                if self.best(eta, math.exp(t1))[1] >= self.best(eta, math.exp(t2))[1]:
                    hi = t2
                else:
                    lo = t1
            g = math.exp(0.5 * (lo + hi))
            if not self.feasible(eta, g):
                return []
            gs = np.sort(np.append(gs, g))
            ok = gs == g
        runs: list[tuple[float, float]] = []
        idx = np.nonzero(ok)[0]
        starts = [int(idx[0])] + [int(b) for a, b in itertools.pairwise(idx) if b > a + 1]
        ends = [int(a) for a, b in itertools.pairwise(idx) if b > a + 1] + [int(idx[-1])]
        for s, e in zip(starts, ends, strict=True):
            runs.append((self._end(eta, gs, s, -1), self._end(eta, gs, e, +1)))
        return runs

    def _end(self, eta: float, gs: np.ndarray, i: int, side: int) -> float:
        inner = float(gs[i])
        j = i + side
        if j < 0:
            return (
                0.0 if self.feasible(eta, inner * 1e-6) else self._bisect(eta, inner * 1e-6, inner)
            )
        if j >= gs.size:
            return inner
        return self._bisect(eta, float(gs[j]), inner)

    def _bisect(self, eta: float, out: float, inner: float) -> float:
        while abs(inner - out) > 1e-13 * inner:
            mid = math.sqrt(out * inner)
            if self.feasible(eta, mid):
                inner = mid
            else:
                out = mid
        return inner

    def exact_R(self, rho: float, eta: float, gamma: float) -> mpmath.mpf:
        """R_gd(ρ) in 60-digit arithmetic (the float inputs are exact there)."""
        assert self.mp_h is not None
        with mpmath.workdps(60):
            m = mpmath.mpf
            rho_m, eta_m, g = m(rho), m(eta), m(gamma)
            r = mpmath.sqrt(g * g * m(self.f0_sq) - 2 * g * m(self.f0_dot_y) + m(self.y_sq))
            h = self.mp_h(rho_m)
            alpha, Sigma = m(self.smin) - h, m(self.smax) + h
            c1 = eta_m * g * g * Sigma**2
            pair = self.mp_pair(rho_m)
            c2 = 2 * pair / alpha
            if self.beta is not None:
                c2 = min(c2, eta_m * g * self.mp_beta(rho_m) * r)
            a = 2 - c1 - c2
            assert alpha > 0 and a > 0
            return 2 * r / (a * g * alpha)

    mp_pair: Callable | None = None
    mp_beta: Callable | None = None


BETA, SMIN, SMAX = 0.3, 2.0, 5.0


def lipschitz_case(f0: bool) -> Case:
    extra = {"f0_sq": 1.0, "f0_dot_y": 0.3, "y_sq": 4.0} if f0 else {}
    return Case(
        name="lipschitz_f0" if f0 else "lipschitz",
        smin=SMIN,
        smax=SMAX,
        drift=LipschitzDrift(BETA),
        h=lambda rho: BETA * rho,
        beta=lambda rho: np.full_like(rho, BETA),
        pair=lambda rho: 2.0 * BETA * rho,
        top=SMIN / BETA,
        mp_h=lambda rho: BETA * rho,
        mp_pair=lambda rho: 2 * mpmath.mpf(BETA) * rho,
        mp_beta=lambda rho: mpmath.mpf(BETA),
        **extra,
    )


def smooth_case() -> Case:
    d = SmoothBallDrift(beta0=BETA, rho0=0.5)
    m = mpmath.mpf
    return Case(
        name="smooth_ball",
        smin=SMIN,
        smax=SMAX,
        drift=d,
        h=lambda rho: BETA * (1.0 + rho / 0.5) ** 2 * rho,
        beta=lambda rho: BETA * (1.0 + rho / 0.5) ** 2,
        pair=lambda rho: 2.0 * BETA * (1.0 + rho / 0.5) ** 2 * rho,
        top=d.safe_radius(SMIN),
        mp_h=lambda rho: m(BETA) * (1 + rho / m(0.5)) ** 2 * rho,
        mp_pair=lambda rho: 2 * m(BETA) * (1 + rho / m(0.5)) ** 2 * rho,
        mp_beta=lambda rho: m(BETA) * (1 + rho / m(0.5)) ** 2,
    )


def flip_case() -> Case:
    h0, c = 0.05, 0.4
    d = ConcaveFlipDrift(h0, c)

    def h(rho):
        rho = np.asarray(rho, dtype=float)
        return np.where(rho > 0, h0 + c * np.cbrt(rho), 0.0)

    def mp_h(rho):
        return h0 + c * mpmath.cbrt(rho) if rho > 0 else mpmath.mpf(0)

    return Case(
        name="concave_flip",
        smin=SMIN,
        smax=SMAX,
        drift=d,
        h=h,
        beta=None,
        pair=lambda rho: np.minimum(2.0 * h(rho), h(math.sqrt(2.0) * np.asarray(rho))),
        top=((SMIN - h0) / c) ** 3,
        mp_h=mp_h,
        mp_pair=lambda rho: min(2 * mp_h(rho), mp_h(mpmath.sqrt(2) * rho)),
        f0_sq=0.0,
        y_sq=0.04,  # under (G) GD needs γ ≫ the flow threshold (§13 remark vi)
    )


CASES = {
    c.name: c for c in (lipschitz_case(False), lipschitz_case(True), smooth_case(), flip_case())
}


#: (case, γ) pairs: γ a few times the GD threshold, so both ends of the γ set are finite.
GAMMAS = {"lipschitz": 3.0, "lipschitz_f0": 3.0, "smooth_ball": 5.0, "concave_flip": 10.0}


class Reference:
    """The reference's answers per case, computed once (η = ½η_max at the case's γ)."""

    _memo: ClassVar[dict[str, dict]] = {}

    @classmethod
    def of(cls, name: str) -> dict:
        if name not in cls._memo:
            case, gamma = CASES[name], GAMMAS[name]
            eta_max = case.eta_max(gamma)
            eta = 0.5 * eta_max
            cls._memo[name] = {
                "gamma": gamma,
                "eta_max": eta_max,
                "eta": eta,
                "rho": case.smallest_rho(eta, gamma),
                "gamma_set": case.gamma_set(eta),
            }
        return cls._memo[name]


def rel(x: float, y: float) -> float:
    return abs(x - y) / max(abs(y), 1e-300)


def g5_sum(q: float, lam: float, k: int) -> float:
    return math.fsum(q ** (k - 1 - j) * lam**j for j in range(k))


# ---- certify_gd against the reference ----------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", list(CASES))
def test_certificate_matches_the_reference(name, loss):
    """η, stability, ρ, α, Σ, a, rate, the bounds, lr_max and the γ set, for every loss
    convention (the same step η on ½‖r‖², so the same certificate; lr_max in lr's units)."""
    case, ref = CASES[name], Reference.of(name)
    gamma, eta = ref["gamma"], ref["eta"]
    c = loss_c(loss, ROWS)
    lr, steps = eta / c, 150
    cert = case.certify(gamma, lr, loss, steps)
    assert cert.certified and cert.rigorous and cert.loss == loss and cert.steps == steps
    # closed form
    assert rel(cert.eta, eta) <= 1e-14
    assert rel(cert.stability, eta * gamma**2 * case.smax**2) <= 1e-8
    rho = cert.radius_R
    at = case.ball(rho, eta, gamma)  # §13 at the named ρ
    assert rel(cert.alpha, float(at["alpha"])) <= 1e-8
    assert rel(cert.Sigma, float(at["Sigma"])) <= 1e-8
    assert rel(cert.descent, float(at["a"])) <= 1e-8
    rate = 1.0 - float(at["a"]) * eta * gamma**2 * float(at["alpha"]) ** 2
    assert 0.0 <= rate < 1.0
    assert rel(cert.rate, rate) <= 1e-8
    L0 = 0.5 * case.r0(gamma) ** 2
    assert rel(cert.loss_bound, L0 * rate**steps) <= 1e-8 * steps
    # G5 at step K with h(R_gd(ρ)), q from the σ bounds, λ = rate^{1/2}
    R = float(at["R"])
    hR = float(case.h(R))
    e2 = eta * gamma**2
    q = max(abs(1.0 - e2 * case.smin**2), abs(e2 * case.smax**2 - 1.0))
    dev = e2 * hR * (2 * case.smax + hR) * case.r0(gamma) * g5_sum(q, math.sqrt(rate), steps)
    assert rel(cert.deviation_bound, dev) <= 1e-8
    g = cert.guarantees
    assert g.radius_R == rho and rel(g.radius_gd, R) <= 1e-8 and g.radius_gd <= rho
    assert rel(g.q, q) <= 1e-12 and rel(g.lam, math.sqrt(rate)) <= 1e-8
    # solved
    assert rel(rho, ref["rho"]) <= 1e-6
    assert rel(cert.lr_max, ref["eta_max"] / c) <= 1e-6
    (lo, hi), *more = cert.gamma_interval
    assert not more and len(ref["gamma_set"]) == 1
    ref_lo, ref_hi = ref["gamma_set"][0]
    assert rel(lo, ref_lo) <= 1e-6 and rel(hi, ref_hi) <= 1e-6
    assert lo < gamma < hi


@pytest.mark.parametrize("name", list(CASES))
def test_named_radius_satisfies_the_hypothesis_exactly(name):
    """Rigour: R_gd(radius_R) ≤ radius_R in 60-digit arithmetic, with α > 0 and a > 0, and
    the reported α, a are below the exact ones (rounded the safe way), at several steps
    up to 0.999 η_max (where the feasible ρ set has nearly shrunk to a point)."""
    case, ref = CASES[name], Reference.of(name)
    gamma = ref["gamma"]
    for frac in (0.01, 0.5, 0.9, 0.999, 0.999999):
        eta = frac * ref["eta_max"]
        cert = case.certify(gamma, eta)
        assert cert.certified, frac
        rho = cert.radius_R
        assert case.exact_R(rho, eta, gamma) <= rho
        at = case.ball(rho, eta, gamma)
        assert cert.alpha <= float(at["alpha"]) and cert.descent <= float(at["a"])
        assert cert.guarantees.radius_gd >= case.exact_R(rho, eta, gamma)
        assert rel(rho, case.smallest_rho(eta, gamma)) <= (1e-6 if frac < 0.99 else 1e-4)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", list(CASES))
def test_lr_max_is_the_edge_of_the_certified_steps(name, loss):
    """lr slightly below lr_max certifies, slightly above does not (§13 remark iv: the
    certified steps at fixed γ are an interval from 0)."""
    case, ref = CASES[name], Reference.of(name)
    gamma = ref["gamma"]
    lr_max = case.certify(gamma, ref["eta"] / loss_c(loss, ROWS), loss).lr_max
    below = case.certify(gamma, lr_max * (1 - 1e-6), loss)
    above = case.certify(gamma, lr_max * (1 + 1e-6), loss)
    assert below.certified and below.lr_max == lr_max
    assert not above.certified and above.radius_R == math.inf and above.rate is None
    assert above.reason.value in ("too_small", "too_large", "lr_too_large")
    assert case.certify(gamma, 1e-3 * lr_max, loss).certified


@pytest.mark.parametrize("name", list(CASES))
def test_gamma_interval_is_the_edge_of_the_certified_scales(name):
    """At a fixed step: γ just inside the reported set certifies, just outside does not,
    with the reason on the right side (too_small below, too_large above)."""
    case, ref = CASES[name], Reference.of(name)
    eta = ref["eta"]
    (lo, hi), *_ = case.certify(ref["gamma"], eta).gamma_interval
    for gamma, ok, reason in (
        (lo * (1 + 1e-6), True, ""),
        (hi * (1 - 1e-6), True, ""),
        (lo * (1 - 1e-6), False, "too_small"),
        (hi * (1 + 1e-6), False, "too_large"),
    ):
        cert = case.certify(gamma, eta)
        assert cert.certified is ok and cert.reason.value == reason, (gamma, cert.reason)
        assert cert.gamma_interval == ((lo, hi),)


def test_unstable_step_is_refused_whatever_gamma():
    """ηγ²σ_max² ≥ 2: not certified, reason unstable; just below 2 the reason is the γ's."""
    case = CASES["lipschitz"]
    gamma = 3.0
    eta = 2.0 / (gamma**2 * case.smax**2)
    cert = case.certify(gamma, eta * (1 + 1e-12))
    assert not cert.certified and cert.reason.value == "unstable" and cert.stability >= 2.0
    cert = case.certify(gamma, eta * (1 - 1e-9))
    assert not cert.certified and cert.reason.value != "unstable"


def test_flow_limit_is_the_path_theorem():
    """§13 remark (i): as η → 0 with h = βρ and f0 = 0, the certified γ threshold tends to
    §9's γ*_p = 4β‖r0‖/σ_min² (from above, error O(η)), and radius_R to the flow's
    smallest fixed point ρ = ‖r0‖/(γ(σ_min − βρ)), which is R_p = 2‖r0‖/(γσ_min) at γ*_p
    and below R_p above it."""
    case = CASES["lipschitz"]
    r = case.r0(1.0)
    gstar = 4 * BETA * r / SMIN**2
    errs = []
    for stab in (1e-2, 1e-4, 1e-6):
        eta = stab / (gstar**2 * SMAX**2)
        (lo, _), *_ = case.certify(gstar * 2, eta).gamma_interval
        errs.append(lo / gstar - 1)
    assert all(e > 0 for e in errs)
    assert errs[1] < 2e-2 * errs[0] and errs[2] < 2e-2 * errs[1] and errs[2] < 1e-4
    for mult in (1.0001, 2.0, 10.0):
        gamma = mult * gstar
        flow = (SMIN - math.sqrt(SMIN**2 - 4 * BETA * r / gamma)) / (2 * BETA)
        R_p = 2 * r / (gamma * SMIN)
        eta = 1e-9 / (gamma**2 * SMAX**2)
        cert = case.certify(gamma, eta)
        assert cert.certified and rel(cert.radius_R, flow) <= 1e-4 * (1 + 1 / (mult - 1))
        assert cert.radius_R <= R_p * (1 + 1e-2)


@pytest.mark.parametrize("k", [0, 1, 2, 7, 150, 3000])
@pytest.mark.parametrize(
    "q,lam", [(0.9, 0.5), (0.5, 0.9), (0.7, 0.7), (0.99, 0.9899999), (0.0, 0.3), (1e-3, 0.0)]
)
def test_geometric_sum_is_the_sum(q, lam, k):
    want = g5_sum(q, lam, k)
    assert geometric_sum(q, lam, k) == want or rel(geometric_sum(q, lam, k), want) <= 1e-12


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    smin=st.floats(0.1, 10.0),
    kappa=st.floats(1.0, 30.0),
    beta=st.floats(1e-3, 10.0),
    r=st.floats(1e-2, 10.0),
    mult=st.floats(0.5, 50.0),
    stab=st.floats(1e-5, 1.99),
    f0=st.booleans(),
)
def test_property_lipschitz_drift_agrees_with_the_reference(smin, kappa, beta, r, mult, stab, f0):
    """Random h = βρ problems: certified ⇔ the reference finds a ρ (away from the edge),
    and then the same smallest ρ and an exactly valid named ρ; the same lr_max."""
    smax = smin * kappa
    extra = (
        {"f0_sq": 0.25 * r * r, "f0_dot_y": 0.1 * r * r, "y_sq": r * r} if f0 else {"y_sq": r * r}
    )
    case = Case(
        name="prop",
        smin=smin,
        smax=smax,
        drift=LipschitzDrift(beta),
        h=lambda rho: beta * np.asarray(rho),
        beta=lambda rho: np.full_like(np.asarray(rho, dtype=float), beta),
        pair=lambda rho: 2 * beta * np.asarray(rho),
        top=smin / beta,
        mp_h=lambda rho: mpmath.mpf(beta) * rho,
        mp_pair=lambda rho: 2 * mpmath.mpf(beta) * rho,
        mp_beta=lambda rho: mpmath.mpf(beta),
        **extra,
    )
    check_against_reference(case, mult * 4 * beta * r / smin**2, stab)


def check_against_reference(case: Case, gamma: float, stab: float) -> None:
    """certified ⇔ the reference finds a ρ (cases within 1e-7 of the edge skipped); then
    the same smallest ρ, exactly valid; the same lr_max; γ inside the reported γ set
    exactly when certified (up to 1e-6 at its ends)."""
    eta = stab / (gamma**2 * case.smax**2)
    _, margin = case.best(eta, gamma)
    assume(abs(margin) > 1e-7)
    cert = case.certify(gamma, eta)
    assert cert.certified is (margin > 0)
    if cert.certified:
        assert case.exact_R(cert.radius_R, eta, gamma) <= cert.radius_R
        assert rel(cert.radius_R, case.smallest_rho(eta, gamma)) <= 1e-6
    eta_max = case.eta_max(gamma)
    assert (eta_max == 0.0 and cert.lr_max == 0.0) or rel(cert.lr_max, eta_max) <= 1e-6
    inside = [lo <= gamma <= hi for lo, hi in cert.gamma_interval]
    near = [rel(gamma, lo) <= 1e-6 or rel(gamma, hi) <= 1e-6 for lo, hi in cert.gamma_interval]
    assert any(inside) is cert.certified or any(near)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h0=st.floats(0.0, 0.5),
    c=st.floats(1e-2, 2.0),
    r=st.floats(1e-3, 1.0),
    gamma=st.floats(1.0, 1e3),
    stab=st.floats(1e-4, 1.99),
)
def test_property_concave_flip_drift_agrees_with_the_reference(h0, c, r, gamma, stab):
    """Random h = h0 + cρ^{1/3} (pair min(2h(ρ), h(√2ρ)), no β): as above."""
    d = ConcaveFlipDrift(h0, c)

    def h(rho):
        rho = np.asarray(rho, dtype=float)
        return np.where(rho > 0, h0 + c * np.cbrt(rho), 0.0)

    def mp_h(rho):
        return h0 + c * mpmath.cbrt(rho) if rho > 0 else mpmath.mpf(0)

    case = Case(
        name="prop_flip",
        smin=SMIN,
        smax=SMAX,
        drift=d,
        h=h,
        beta=None,
        pair=lambda rho: np.minimum(2.0 * h(rho), h(math.sqrt(2.0) * np.asarray(rho))),
        top=((SMIN - h0) / c) ** 3,
        mp_h=mp_h,
        mp_pair=lambda rho: min(2 * mp_h(rho), mp_h(mpmath.sqrt(2) * rho)),
        y_sq=r * r,
    )
    check_against_reference(case, gamma, stab)


# ---- rigour by search: plain GD on real problems (THEORY.md §11) -------------------------

MLP_SPEC = (
    "seed: {seed}\ngamma: 1.0\ndata: {{n: 6, d: 3}}\n"
    "model: {{architecture: mlp, widths: [16, 16], activation: softplus, bias: false,\n"
    "        parametrization: standard, centered: true}}\n"
)

#: name → (overrides of the built-in example, or None for the mlp spec; γ; loss; seeds).
#: γ a few times the GD threshold at a small step (found once by scanning γ).
REAL = {
    "tanh": ({"data.n": 8, "model.width": 64}, 10.0, "half_sum", (0, 1, 2)),
    "gelu": ({"data.n": 8, "model.width": 64, "model.activation": "gelu"}, 10.0, "mse", (0, 1)),
    "relu": (
        {"data.n": 8, "model.width": 64, "model.activation": "relu"},
        3000.0,
        "sum",
        (0, 1, 2),
    ),
    "tanh_f0": (
        {"data.n": 8, "model.width": 256, "model.init": "gaussian", "model.init_std": 0.05},
        1.0,
        "half_mean",
        (0, 1),
    ),
    "mlp": (None, 5e5, "half_sum", (0, 1)),
}

WORST: dict[str, float] = {}  # the worst measured/bound ratio of each check over the runs


def real_problem(name: str, seed: int):
    from ntkcheck.io.loading import parse_spec
    from ntkcheck.run.job import load, measure_spec

    overrides, gamma, loss, _ = REAL[name]
    if overrides is None:
        loaded = parse_spec(MLP_SPEC.format(seed=seed), source="mlp.yaml", base_dir=ROOT)
    else:
        loaded = load(None, {**overrides, "seed": seed, "gamma": gamma})
    shared = measure_spec(loaded)
    problem, m = AtGamma(shared.problem, gamma), shared.measurement
    q = Quantities(  # as run.job.certificates_for builds them
        sigma_min=m.bounds.sigma_min_lower,
        sigma_max=m.bounds.sigma_max_upper,
        loss0=problem.loss0(gamma),
        f0_sq=m.f0_norm**2,
        f0_dot_y=m.f0_dot_y,
        y_sq=m.y_norm**2,
        full_rank=m.full_rank.holds,
        loss_depends_on_gamma=problem.loss_depends_on_gamma,
    )
    rigorous = m.drift.rigorous and m.bounds.rigorous
    return problem, m.drift, q, rigorous, gamma, loss


def run_gd(problem, cert, q, lr: float, loss: str, steps: int) -> dict[str, float]:
    """GD θ_{k+1} = θ_k − lr·∇ℓ = θ_k − (c·lr)γ J_kᵀ r_k on the user's loss, and the linearized
    GD s_{k+1} = (I − ηγ²K0)s_k; every G-check's worst ratio measured/bound (≤ 1 + floor)."""
    model, X, y, gamma = problem.model, problem.X, problem.y, problem.gamma
    g = cert.guarantees
    eta = loss_c(loss, problem.n) * lr
    assert rel(eta, cert.eta) <= 1e-15
    a, alpha, Sigma = g.descent, g.alpha, g.Sigma
    theta0 = np.array(model.theta0, dtype=float)
    theta = theta0.copy()
    K0 = model.linearize(X, theta0).gram()
    offset = problem.f0 if problem.centered else 0.0
    u = 2.0**-53
    worst = dict.fromkeys(("G1", "rate", "G2", "radius", "G3_min", "G3_max", "G5"), 0.0)
    r0 = s = None
    path = 0.0
    prev = None  # (‖r_k‖, ‖Δ_k‖)
    for k in range(steps + 1):
        lin = model.linearize(X, theta)
        r = problem.residual(lin.f)
        nr = float(np.linalg.norm(r))
        if r0 is None:
            r0, s = r.copy(), r.copy()
            nr0 = nr
            assert rel(0.5 * nr0**2, q.loss0) <= 1e-10
        # ‖r_k‖ is known to ε: γf sums many O(1) terms that cancel (symmetric init: f ≈ y/γ),
        # so its rounding is ~ γ·u·Σ|terms|, not γ·u·|f|; 1e-9‖r0‖ covers it (the issue's
        # floor: rounding of γf − y dominates once ‖r_k‖ ≲ 1e-7‖r0‖)
        eps = (
            64 * u * (gamma * (np.linalg.norm(lin.f) + np.linalg.norm(offset)) + np.linalg.norm(y))
        )
        eps = max(eps, 1e-9 * nr0)
        if prev is not None:  # G1 at step k − 1
            nr_prev, nd_prev = prev
            lhs, rhs = nr**2 + (a / eta) * nd_prev**2, nr_prev**2
            # floor: ε in r_k, r_{k+1}, and ηγΣε in Δ_k (it is computed from r_k)
            floor = 4 * eps * nr_prev + 4 * a * gamma * Sigma * eps * nd_prev + 8 * eps**2
            assert lhs <= rhs + floor, (k, lhs / rhs)
            if nr_prev > 1e3 * eps:
                worst["G1"] = max(worst["G1"], lhs / rhs)
        # rate, G2, the ball (θ_k); G5 (s_k)
        assert nr <= math.sqrt(g.rate**k) * nr0 + eps
        if k and nr0 * math.sqrt(g.rate**k) > 1e3 * eps:
            worst["rate"] = max(worst["rate"], nr / (math.sqrt(g.rate**k) * nr0))
        if k:
            bound = 2 * (nr0 - nr) / (a * gamma * alpha)
            assert path <= bound + 4 * eps / (a * gamma * alpha)
            worst["G2"] = max(worst["G2"], path / bound)
        dist = float(np.linalg.norm(theta - theta0))
        assert dist <= g.radius_gd <= g.radius_R
        worst["radius"] = max(worst["radius"], dist / g.radius_gd)
        dev, dev_bound = float(np.linalg.norm(r - s)), g.deviation_bound(k)
        assert dev <= dev_bound + eps + 1e-14 * (k + 1) * nr0
        if dev_bound > 1e3 * eps:
            worst["G5"] = max(worst["G5"], dev / dev_bound)
        # G3 from the Gram's eigenvalues
        lam = np.linalg.eigvalsh(lin.gram())
        smin_k, smax_k = math.sqrt(max(lam[0], 0.0)), math.sqrt(lam[-1])
        assert alpha <= smin_k * (1 + 1e-9) and smax_k <= Sigma * (1 + 1e-9)
        worst["G3_min"] = max(worst["G3_min"], alpha / smin_k)
        worst["G3_max"] = max(worst["G3_max"], smax_k / Sigma)
        if k == steps:
            break
        delta = -eta * gamma * lin.vjp(r)
        nd = float(np.linalg.norm(delta))
        path += nd
        prev = (nr, nd)
        theta = theta + delta
        s = s - eta * gamma**2 * (K0 @ s)
    return worst


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", list(REAL))
def test_gd_never_exceeds_a_g_bound(name):
    """At lr = lr_max·(1 − 1e-9) and lr_max/2 (the step the certificate allows, in the
    user's loss convention), over seeds: G1 at every step, the rate, G2, the ball, G3 and
    G5 all hold on the real GD trajectory."""
    for seed in REAL[name][3]:
        problem, drift, q, rigorous, gamma, loss = real_problem(name, seed)
        lr_max = certify_gd(gamma, 1e-300, loss, 1, problem.n, q, drift, rigorous).lr_max  # any lr
        assert lr_max > 0
        for lr in (lr_max * (1 - 1e-9), 0.5 * lr_max):
            cert = certify_gd(gamma, lr, loss, 200, problem.n, q, drift, rigorous)
            assert cert.certified and cert.rigorous, (seed, lr, cert.reason)
            worst = run_gd(problem, cert, q, lr, loss, 200)
            for key, v in worst.items():
                WORST[f"{name}:{key}"] = max(WORST.get(f"{name}:{key}", 0.0), v)
    print(name, {k: f"{v:.3g}" for k, v in WORST.items() if k.startswith(name + ":")})


# ---- a drift bound that jumps (§8: "h may jump"; §10's refinement h = 0 below the
# smallest margin) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JumpDrift:
    """h(ρ) = 0 below the smallest margin m, h0 + cρ from there (nondecreasing, not
    continuous); J not Lipschitz, pair min(2h(ρ), h(√2ρ))."""

    m: float
    h0: float
    c: float
    rigorous: bool = True
    kind: str = "flip_count"

    def h(self, rho: float) -> float:
        return 0.0 if rho < self.m else self.h0 + self.c * rho

    def lipschitz(self, rho: float) -> float | None:
        return None

    def pair(self, rho: float) -> float:
        return min(2.0 * self.h(rho), self.h(math.sqrt(2.0) * rho))

    def safe_radius(self, target: float) -> float:
        return self.m if target < self.h0 else max(self.m, (target - self.h0) / self.c)


def jump_case(m: float) -> Case:
    d = JumpDrift(m, 0.3, 0.1)

    def h(rho):
        rho = np.asarray(rho, dtype=float)
        return np.where(rho < m, 0.0, 0.3 + 0.1 * rho)

    return Case(
        name="jump",
        smin=SMIN,
        smax=SMAX,
        drift=d,
        h=h,
        beta=None,
        pair=lambda rho: np.minimum(2 * h(rho), h(math.sqrt(2.0) * np.asarray(rho))),
        top=(SMIN - 0.3) / 0.1,
        y_sq=0.04,
    )


@pytest.mark.filterwarnings("error")  # and no RuntimeWarning from the searches (∞ values)
@pytest.mark.parametrize("gamma", [1.0, 4.0])
@pytest.mark.parametrize("width", [1.005, 1.02, 1.05])
def test_smallest_radius_finds_a_window_narrower_than_the_grid(gamma, width):
    """With h = 0 up to the margin m, R_gd is constant, R0 = 2‖r0‖/((2 − c1)γσ_min), below
    m and jumps above it at m: the inside set is [R0, m) ∪ [R1, …). When [R0, m) is narrower
    than a step of the search grid, the first grid point inside is in the second window:
    the smallest ρ is R0, and α, a, the rate are those of h = 0 there."""
    eta = 0.2 / (gamma**2 * SMAX**2)
    R0 = 2 * 0.2 / ((2 - 0.2) * gamma * SMIN)
    case = jump_case(width * R0)
    cert = case.certify(gamma, eta)
    assert cert.certified
    assert rel(cert.radius_R, R0) <= 1e-6 and rel(case.smallest_rho(eta, gamma), R0) <= 1e-9
    assert (
        rel(cert.alpha, SMIN) <= 1e-8 and rel(cert.rate, 1 - 1.8 * eta * gamma**2 * SMIN**2) <= 1e-8
    )


@pytest.mark.parametrize("ny,cos", [(10.0, 1.0), (100.0, 1 - 1e-6), (1e3, 1 - 1e-12)])
def test_gamma_interval_finds_the_window_where_the_residual_dips(ny, cos):
    """y (nearly) a multiple of f0: ‖γf0 − y‖ has a deep minimum at γ0 = f0·y/‖f0‖² = cos,
    and the certified γ set is a window around it, narrow when ‖y‖ is large (relative
    width ~ σ_min²/(β‖y‖)). The reported set holds the certified γ0 and is the reference's
    (before: (0, ∞) when r0(γ0) = 0 exactly, () or too narrow when the window fell between
    the points of the search grid in γ)."""
    case = Case(
        name="dip",
        smin=SMIN,
        smax=SMAX,
        drift=LipschitzDrift(BETA),
        h=lambda rho: BETA * np.asarray(rho),
        beta=lambda rho: np.full_like(np.asarray(rho, dtype=float), BETA),
        pair=lambda rho: 2 * BETA * np.asarray(rho),
        top=SMIN / BETA,
        f0_sq=ny * ny,
        f0_dot_y=cos * ny * ny,
        y_sq=ny * ny,
    )
    eta = 0.1 / SMAX**2
    cert = case.certify(cos, eta)
    assert cert.certified
    (lo, hi), *more = cert.gamma_interval
    assert not more and lo < cos < hi
    ((ref_lo, ref_hi),) = case.gamma_set(eta)
    assert rel(lo, ref_lo) <= 1e-6 and rel(hi, ref_hi) <= 1e-6


@pytest.mark.parametrize("name", ["lipschitz", "concave_flip"])
def test_gamma_interval_near_the_largest_step(name):
    """Near the largest step any γ certifies (η_max at its best γ*), the certified γ set is
    a narrow window around γ* and the (ρ, γ) that certify a small island (§13 remark v):
    the reported set holds γ* (certified) and is the reference's (before: () — certified
    with an empty certified set)."""
    from scipy.optimize import minimize_scalar

    case = CASES[name]
    res = minimize_scalar(
        lambda t: -case.certify(math.exp(t), 1e-300).lr_max,
        bounds=(math.log(0.05), math.log(10.0)),
        method="bounded",
        options={"xatol": 5e-2},
    )
    gamma = math.exp(res.x)
    eta = (1 - 1e-4) * case.eta_max(gamma)
    cert = case.certify(gamma, eta)
    assert cert.certified
    ((lo, hi),) = cert.gamma_interval
    assert lo < gamma < hi and hi / lo < 1.1
    ((ref_lo, ref_hi),) = case.gamma_set(eta)
    assert rel(lo, ref_lo) <= 1e-6 and rel(hi, ref_hi) <= 1e-6
