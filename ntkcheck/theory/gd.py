"""Gradient descent with a step size (THEORY.md §13): the GD path-length certificate.

GD on L = ½‖r‖² takes ``Δ_k = −ηγ J_kᵀ r_k``. On the ball of radius ρ, with the
proven σ bounds and a drift bound h (§8, §11):

    α(ρ) = σ_min − h(ρ),   Σ(ρ) = σ_max + h(ρ),   c1 = ηγ²Σ²,
    c2 = ηγβ(ρ)‖r0‖ (L)  or  2h_pair(ρ)/α (G)  (the smaller where both apply),
    a = 2 − c1 − c2,       R_gd(ρ) = 2‖r0‖/(aγα).

Certified ⇔ some ρ has α > 0, a > 0 and R_gd(ρ) ≤ ρ; then G1–G5 hold with the
constants at that ρ (``GdGuarantees``). The certificate names the smallest such ρ
(``radius_R``), checked with a rounding margin. At fixed ρ the condition is linear
in η, so the largest certified step is ``sup_ρ η_max(ρ)`` (``step_max``); the
certified γ set at fixed η is bounded above (§13 remark iii).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from ..choices import LossConvention
from .certificate import Quantities, Status
from .drift import Drift, DriftKind, LipschitzDrift
from .gamma_set import Interval
from .lecture import radius_B
from .solve import brent_root, golden_max

#: Relative rounding margins of the few operations in α, a and R_gd: the σ's and h
#: are rigorous bounds already; these cover the arithmetic here (≤ 6 roundings each).
_TINY = 64.0 * 2.0**-53
#: Points of the geometric ρ grid on which the searches start (then refined locally).
GRID_POINTS = 161
#: Relative tolerance of the solved quantities (ρ, η_max, the γ interval).
SOLVE_RTOL = 1e-12
#: Steps ρ ← R_gd(ρ) per grid cell in the search for the smallest ρ (``smallest_radius``).
EXCLUSION_STEPS = 4


class GdTheorem(StrEnum):
    """The GD certificate's name in ``certificate.theorem`` and ``certificates``."""

    gd = "gd"


class GdReason(StrEnum):
    """Why a GD certificate does not hold: the flow certificates' ``Reason`` codes, or
    ``unstable`` (ηγ²σ_max² ≥ 2 with the proven σ_max: at or past the stability limit of
    GD on the linearized network; nothing is certified),
    ``too_small``/``too_large`` (γ below/above the certified set at this lr; too_small
    also when no lr is certified at this γ) and ``lr_too_large`` (no γ is certified at
    this lr, but a smaller lr is at this γ)."""

    none = ""
    no_drift_bound = "no_drift_bound"
    not_full_rank = "not_full_rank"
    unstable = "unstable"
    too_small = "too_small"
    too_large = "too_large"
    lr_too_large = "lr_too_large"


def loss_factor(loss: LossConvention | str, m: int) -> float:
    """c with ``ℓ = (c/2)‖r‖²`` (THEORY.md §13 "Loss conventions"); η = c·lr.

    half_sum ½‖r‖²: 1; sum ‖r‖² (``MSELoss(reduction='sum')``): 2; mse ‖r‖²/m
    (``MSELoss()``): 2/m; half_mean ½‖r‖²/m: 1/m — m residual entries.
    """
    loss = LossConvention(loss)
    return {
        LossConvention.half_sum: 1.0,
        LossConvention.sum: 2.0,
        LossConvention.mse: 2.0 / m,
        LossConvention.half_mean: 1.0 / m,
    }[loss]


@dataclass(frozen=True)
class BallAt:
    """The §13 quantities at radius ρ for one (η, γ): ``descent`` is §13's a, ``radius``
    R_gd(ρ) rounded up (∞ when α ≤ 0 or a ≤ 0), ``lipschitz``: c2 came from (L)."""

    rho: float
    h: float
    alpha: float
    Sigma: float
    c1: float
    c2: float
    descent: float
    radius: float
    lipschitz: bool

    @property
    def inside(self) -> bool:
        """R_gd(ρ) ≤ ρ: the theorem's hypothesis at this ρ."""
        return self.radius <= self.rho


@dataclass(eq=False)
class BallBounds:
    """ρ ↦ (h(ρ), β(ρ) or None, h_pair(ρ)), cached: none depends on η or γ."""

    drift: Drift
    sigma_min: float
    sigma_max: float
    _cache: dict[float, tuple[float, float | None, float]] = field(default_factory=dict)

    def at(self, rho: float) -> tuple[float, float | None, float]:
        hit = self._cache.get(rho)
        if hit is None:
            d = self.drift
            hit = self._cache[rho] = (d.h(rho), d.lipschitz(rho), d.pair(rho))
        return hit

    def ball(self, rho: float, eta: float, gamma: float, r0: float) -> BallAt:
        """α, Σ, c1, c2, a and R_gd at ρ (THEORY.md §13), each rounded the safe way."""
        h, beta, pair = self.at(rho)
        alpha = (self.sigma_min - h) * (1.0 - _TINY)
        Sigma = (self.sigma_max + h) * (1.0 + _TINY)
        c1 = eta * gamma * gamma * Sigma * Sigma * (1.0 + _TINY)
        c2 = 2.0 * pair / alpha * (1.0 + _TINY) if alpha > 0.0 else math.inf
        lipschitz = False
        if beta is not None:
            c2_l = eta * gamma * beta * r0 * (1.0 + _TINY)
            if c2_l < c2:
                c2, lipschitz = c2_l, True
        a = (2.0 - c1 - c2) - _TINY * (2.0 + c1 + c2)
        if alpha > 0.0 and a > 0.0:
            radius = 2.0 * r0 / (a * gamma * alpha) * (1.0 + _TINY)
        else:
            radius = math.inf
        return BallAt(rho, h, alpha, Sigma, c1, c2, a, radius, lipschitz)

    def alpha_radius(self) -> float:
        """sup{ρ : h(ρ) ≤ σ_min}: beyond it α ≤ 0 and no ball certifies."""
        return self.drift.safe_radius(self.sigma_min)

    def step_max_at(self, rho: float, gamma: float, r0: float) -> float:
        """η_max(ρ): the largest η with R_gd(ρ) ≤ ρ (0 when none). With A = 2‖r0‖/(γαρ):
        (L) η ≤ (2 − A)/(γ²Σ² + γβ(ρ)‖r0‖); (G) η ≤ (2 − A − 2h_pair/α)/(γ²Σ²) — with
        ``ball``'s rounding margins, so that a step below it passes ``ball``'s check."""
        h, beta, pair = self.at(rho)
        alpha = (self.sigma_min - h) * (1.0 - _TINY)
        if not (alpha > 0.0 and rho > 0.0):
            return 0.0
        Sigma = (self.sigma_max + h) * (1.0 + _TINY)
        up = (1.0 + _TINY) ** 2
        room = 2.0 * (1.0 - _TINY) - 2.0 * r0 * (1.0 + _TINY) / (gamma * alpha * rho)
        best = (room - up * 2.0 * pair / alpha) / (up * gamma * gamma * Sigma * Sigma)
        if beta is not None:
            best = max(best, room / (up * (gamma * gamma * Sigma * Sigma + gamma * beta * r0)))
        return max(best, 0.0)


def _grid(lo: float, hi: float, points: int = GRID_POINTS) -> list[float]:
    """``points`` geometric points from lo to hi (both > 0)."""
    if hi <= lo:
        return [lo]
    ratio = (hi / lo) ** (1.0 / (points - 1))
    return [lo * ratio**i for i in range(points - 1)] + [hi]


def _maximize(f: Callable[[float], float], grid: list[float]) -> tuple[float, float]:
    """(argmax, max) of f: the best grid point, then Brent's method on log ρ between
    its neighbours (f is evaluated at every grid point first)."""
    values = [f(x) for x in grid]
    i = max(range(len(grid)), key=lambda j: values[j])
    best_x, best_v = grid[i], values[i]
    if len(grid) < 3 or not math.isfinite(best_v):
        return best_x, best_v
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]

    def objective(t: float) -> float:  # NaN (∞ − ∞) counts as the worst value
        v = f(math.exp(t))
        return v if not math.isnan(v) else -math.inf

    t, _ = golden_max(objective, math.log(lo), math.log(hi), xtol=1e-10)
    x = math.exp(t)
    v = f(x)
    return (x, v) if v > best_v else (best_x, best_v)


def _crossing(g: Callable[[float], float], lo: float, hi: float) -> float:
    """The point where g turns ≥ 0 in [lo, hi] (g(lo) < 0 ≤ g(hi)), from above: g ≥ 0 there."""
    if hi <= lo:
        return hi
    root = brent_root(g, lo, hi, rtol=SOLVE_RTOL)
    x = root
    for _ in range(60):  # move up until the check holds (the root is within rtol)
        if g(x) >= 0.0:
            return min(x, hi)
        x = x + max(x, lo) * SOLVE_RTOL
    return hi


@dataclass(frozen=True)
class Search:
    """The ρ range the searches use: from ``lo`` to ``top`` (the α > 0 boundary, or a
    large multiple of ``lo`` when h stays below σ_min)."""

    lo: float
    top: float

    def grid(self) -> list[float]:
        return _grid(self.lo, self.top)


def search_range(bounds: BallBounds, gamma: float, r0: float) -> Search | None:
    """ρ ∈ [‖r0‖/(γσ_min), sup{h ≤ σ_min}): R_gd ≥ ‖r0‖/(γσ_min) (a ≤ 2, α ≤ σ_min)."""
    lo = r0 / (gamma * bounds.sigma_min)
    top = bounds.alpha_radius()
    if math.isinf(top):
        top = max(lo, 1e-300) * 1e12
    if not (top > 0.0 and math.isfinite(top)):
        return None
    if lo >= top:
        return None
    return Search(max(lo, top * 1e-15), top)


def smallest_radius(bounds: BallBounds, eta: float, gamma: float, r0: float) -> BallAt | None:
    """The smallest ρ with R_gd(ρ) ≤ ρ (THEORY.md §13), or None when no ρ has it.

    ρ ↦ R_gd(ρ) is nondecreasing (h, β(ρ) and h_pair are), but the inside set need not
    be an interval (a drift bound may jump, §8: then R_gd jumps too), so the first grid
    point inside may lie beyond a window that the grid steps over. Monotonicity excludes
    whole stretches instead: when R_gd(ρ) > ρ, no ρ' in [ρ, R_gd(ρ)) is inside
    (R_gd(ρ') ≥ R_gd(ρ) > ρ'). The search walks up from ‖r0‖/(γσ_min) by these steps
    (ρ ← R_gd(ρ), a few per grid cell); where they stall inside a cell (R_gd(ρ) ≈ ρ:
    a fixed point is near, or the inside set shrinks to a point near the largest η,
    §13 remark v) it solves ρ = R_gd(ρ) in the cell by Brent's method, after maximizing
    (ρ − R_gd)/ρ there when the cell's end is outside too.
    """
    if r0 == 0.0:  # nothing to fit: θ stays at θ0
        ball = bounds.ball(0.0, eta, gamma, r0)
        return ball if ball.inside else None
    rng = search_range(bounds, gamma, r0)
    if rng is None:
        return None

    def g(rho: float) -> float:
        return rho - bounds.ball(rho, eta, gamma, r0).radius

    rho = rng.lo  # no ρ below it is inside: R_gd ≥ ‖r0‖/(γσ_min)
    for x in rng.grid()[1:]:
        if rho >= x:
            continue
        steps = 0
        while rho < x:  # invariant: nothing in [lo, ρ) is inside
            radius = bounds.ball(rho, eta, gamma, r0).radius
            if radius <= rho:
                return bounds.ball(rho, eta, gamma, r0)
            if math.isinf(radius):  # α ≤ 0 or a ≤ 0 here, hence at every larger ρ
                return None
            if steps == EXCLUSION_STEPS:
                break
            rho, steps = radius, steps + 1
        if rho >= x:
            continue
        # the steps stall in this cell; ρ itself is outside
        if g(x) >= 0.0:
            return bounds.ball(_crossing(g, rho, x), eta, gamma, r0)
        x_best, v_best = _maximize(lambda t: g(t) / t, [rho, 0.5 * (rho + x), x])
        if v_best >= 0.0:
            return bounds.ball(_crossing(g, rho, x_best), eta, gamma, r0)
        rho = x
    return None


def step_max(bounds: BallBounds, gamma: float, r0: float) -> float:
    """sup_ρ η_max(ρ): the largest certified step on ½‖r‖² at this γ (0 when none)."""
    if r0 == 0.0:
        h, _, _ = bounds.at(0.0)
        return 2.0 / (gamma * gamma * (bounds.sigma_max + h) ** 2)
    rng = search_range(bounds, gamma, r0)
    if rng is None:
        return 0.0
    _, value = _maximize(lambda rho: bounds.step_max_at(rho, gamma, r0), rng.grid())
    return max(value, 0.0)


def residual_norm(q: Quantities, gamma: float) -> float:
    """‖r0(γ)‖ = ‖γf0 − y‖ from ‖f0‖², f0·y, ‖y‖² (THEORY.md §4)."""
    if not q.loss_depends_on_gamma:
        return math.sqrt(q.y_sq)
    sq = gamma * gamma * q.f0_sq - 2.0 * gamma * q.f0_dot_y + q.y_sq
    return math.sqrt(max(sq, 0.0))


def gamma_interval(bounds: BallBounds, eta: float, q: Quantities) -> tuple[Interval, ...]:
    """The certified γ set at step η: ``{γ : some ρ has R_gd(ρ) ≤ ρ}``, as one interval.

    For each ρ, ``φ_ρ(γ) = γ·a·α·ρ − 2‖r0(γ)‖ ≥ 0`` holds on an interval of γ below
    the stability scale √(2/η)/Σ(ρ) (a < 0 beyond it); the set's ends are the
    smallest left end and the largest right end over ρ (the per-ρ intervals overlap
    along the continuous path of their peaks). Empty when no ρ certifies any γ. With
    f0 ≠ 0 the per-ρ search in γ includes γ = f0·y/‖f0‖², where ‖r0(γ)‖ is least (the
    set can be a narrow window there); ‖r0(γ)‖ = 0 there is no special case.
    """
    top = bounds.alpha_radius()
    smin = bounds.sigma_min
    r0_min = math.sqrt(q.y_sq)  # min over γ of ‖γf0 − y‖: y's distance to the line of f0
    if q.loss_depends_on_gamma and q.f0_sq > 0.0:
        r0_min = math.sqrt(max(q.y_sq - q.f0_dot_y * q.f0_dot_y / q.f0_sq, 0.0))
    # ‖γf0 − y‖ is smallest at γ = f0·y/‖f0‖²: when y is nearly a multiple of f0 the
    # certified set is a narrow window around it, which a grid in log γ steps over
    dip = q.f0_dot_y / q.f0_sq if q.loss_depends_on_gamma and q.f0_sq > 0.0 else 0.0
    t_dip = math.log(dip) if dip > 0.0 else -math.inf

    memo: dict[float, tuple[float, float] | None] = {}

    def per_rho(rho: float) -> tuple[float, float] | None:
        if rho not in memo:
            memo[rho] = _per_rho(rho)
        return memo[rho]

    def _per_rho(rho: float) -> tuple[float, float] | None:
        h, _, _ = bounds.at(rho)
        if not smin - h > 0.0:
            return None
        scale = math.sqrt(2.0 / eta) / (bounds.sigma_max + h)

        def phi(t: float) -> float:  # on log γ
            gamma = math.exp(t)
            ball = bounds.ball(rho, eta, gamma, residual_norm(q, gamma))
            if not (ball.alpha > 0.0 and ball.descent > 0.0):
                return -1.0
            return (ball.rho - ball.radius) / ball.rho

        # φ ≥ 0 needs γ ≥ ‖r0(γ)‖/(αρ) (a ≤ 2): start below the smallest ‖r0‖ over γ
        hi_t = math.log(scale)
        lo_t = min(hi_t - 60.0, math.log(max(r0_min, 1e-300) / (smin * rho)) - 2.0)
        count = max(240, math.ceil((hi_t - lo_t) / 0.25))
        ts = [lo_t + (hi_t - lo_t) * i / count for i in range(count + 1)]
        if lo_t < t_dip < hi_t:  # ‖r0(γ)‖'s minimum: φ may peak in a spike there
            ts = sorted([*ts, t_dip])
        vals = _phi_grid(bounds, rho, eta, ts, q)
        i = max(range(len(ts)), key=lambda j: vals[j])
        if vals[i] < -0.5:  # phi moves by less than this between grid points near its peak
            return None
        if vals[i] < 0.0:
            a, b = ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)]
            peak, best = golden_max(phi, a, b, xtol=1e-12)
            if best < 0.0:
                return None
        else:
            peak = ts[i]
        left = ts[0]
        right = ts[-1]
        if phi(left) < 0.0:
            left = brent_root(phi, left, peak, rtol=0.0, xtol=1e-14)
        if phi(right) < 0.0:
            right = brent_root(phi, peak, right, rtol=0.0, xtol=1e-14)
        return math.exp(left), math.exp(right)

    if not math.isfinite(top):
        h_inf, beta_inf, _ = bounds.at(math.inf)
        if h_inf == 0.0 and not beta_inf:  # J does not move: a > 0 is the only condition
            return ((0.0, math.sqrt(2.0 / eta) / bounds.sigma_max),)
        top = 1e300
    hi_rho = top
    lo_rho = top * 1e-14
    grid = _grid(lo_rho, hi_rho)
    ends = {rho: per_rho(rho) for rho in grid}
    found = [e for e in ends.values() if e is not None]
    if not found:
        return ()

    def left_end(rho: float) -> float:
        e = per_rho(rho)
        return -math.inf if e is None else -math.log(e[0])

    def right_end(rho: float) -> float:
        e = per_rho(rho)
        return -math.inf if e is None else math.log(e[1])

    _, lo_v = _maximize(left_end, grid)
    _, hi_v = _maximize(right_end, grid)
    return ((math.exp(-lo_v), math.exp(hi_v)),)


def _widen(
    bounds: BallBounds, eta: float, q: Quantities, gamma: float, interval: tuple[Interval, ...]
) -> tuple[Interval, ...]:
    """The certified γ set when γ certifies but lies outside the union's estimate: near
    the largest certifiable step the set of (ρ, γ) that certify is a small island, which the
    ρ grid of ``gamma_interval`` steps over (§13 remark v). Its ends by bisection in log γ on
    "some ρ certifies" (``smallest_radius``) from γ outwards, hulled with ``interval``."""

    def certified(t: float) -> bool:
        g = math.exp(t)
        return smallest_radius(bounds, eta, g, residual_norm(q, g)) is not None

    def end(inside: float, outside: float) -> float:
        if certified(outside):
            return outside
        while abs(outside - inside) > SOLVE_RTOL:
            mid = 0.5 * (inside + outside)
            if certified(mid):
                inside = mid
            else:
                outside = mid
        return inside

    t = math.log(gamma)
    cap = math.log(math.sqrt(2.0 / eta) / bounds.sigma_max)  # c1 ≥ 2 from here on
    lo, hi = math.exp(end(t, t - 60.0)), math.exp(end(t, max(cap, t)))
    for a, b in interval:
        lo, hi = min(lo, a), max(hi, b)
    return ((lo, hi),)


def _phi_grid(
    bounds: BallBounds, rho: float, eta: float, ts: list[float], q: Quantities
) -> list[float]:
    """(ρ − R_gd(ρ))/ρ at γ = e^t for every t (−1 where α ≤ 0 or a ≤ 0): ``BallBounds.ball``
    on an array of γ (the searches' coarse stage; the ends are then refined by scalars)."""
    import numpy as np

    h, beta, pair = bounds.at(rho)
    gamma = np.exp(np.asarray(ts))
    if q.loss_depends_on_gamma:
        r0 = np.sqrt(np.maximum(gamma * gamma * q.f0_sq - 2.0 * gamma * q.f0_dot_y + q.y_sq, 0.0))
    else:
        r0 = np.full_like(gamma, math.sqrt(q.y_sq))
    alpha = (bounds.sigma_min - h) * (1.0 - _TINY)
    Sigma = (bounds.sigma_max + h) * (1.0 + _TINY)
    c1 = eta * gamma * gamma * Sigma * Sigma * (1.0 + _TINY)
    c2 = np.full_like(gamma, 2.0 * pair / alpha * (1.0 + _TINY) if alpha > 0.0 else math.inf)
    if beta is not None:
        c2 = np.minimum(c2, eta * gamma * beta * r0 * (1.0 + _TINY))
    a = (2.0 - c1 - c2) - _TINY * (2.0 + c1 + c2)
    ok = (a > 0.0) & (alpha > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(ok, 2.0 * r0 / (a * gamma * alpha) * (1.0 + _TINY), np.inf)
        out = np.where(ok, (rho - radius) / rho, -1.0)
    return [float(v) for v in out]


def contraction(step: float, lo: float, hi: float) -> float:
    """max(|1 − ηγ²lo²|, |ηγ²hi² − 1|) with ``step`` = ηγ²: ‖I − ηγ²K‖ when the singular
    values of J lie in [lo, hi] (G5's q with σ_min, σ_max; THEORY.md §13)."""
    return max(abs(1.0 - step * lo * lo), abs(step * hi * hi - 1.0))


def geometric_sum(q: float, lam: float, k: int) -> float:
    """Σ_{j<k} q^{k−1−j} λ^j = (q^k − λ^k)/(q − λ), without cancellation."""
    if k <= 0:
        return 0.0
    big, small = (q, lam) if q >= lam else (lam, q)
    if big == 0.0:
        return 1.0 if k == 1 else 0.0
    t = small / big  # ≤ 1
    if t == 1.0:
        return k * big ** (k - 1)
    # big^{k−1}·(1 − t^k)/(1 − t), with expm1/log1p for t near 1
    ratio = -math.expm1(k * math.log(t)) / (1.0 - t) if t > 0.0 else 1.0
    return big ** (k - 1) * ratio


@dataclass(frozen=True)
class GdGuarantees:
    """What a GD certificate promises for every k ≥ 0 (THEORY.md §13, G1–G5).

    ``descent`` is §13's a.
    G1 ``‖r_{k+1}‖² ≤ ‖r_k‖² − (a/η)‖Δ_k‖²``, hence ``L_k ≤ rate^k·L0``,
       rate = 1 − aηγ²α²;
    G2 ``Σ_{j<k}‖Δ_j‖ ≤ 2(‖r0‖ − ‖r_k‖)/(aγα) ≤ R_gd ≤ radius_R``;
    G3 ``σ_min(J_k) ≥ α``, ``‖J_k‖ ≤ Σ``;
    G5 ``‖r_k − s_k‖ ≤ ηγ²h(R)(2σ_max + h(R))‖r0‖·Σ_{j<k} q^{k−1−j}λ^j`` with
       q = max(|1 − ηγ²σ_min²|, |ηγ²σ_max² − 1|), λ = rate^{1/2}.
    """

    loss0: float
    eta: float
    gamma: float
    descent: float
    alpha: float
    Sigma: float
    rate: float
    radius_R: float
    radius_gd: float
    h_R: float
    q: float
    lam: float
    deviation_coef: float

    @property
    def a(self) -> float:
        """§13's a (the JSON's name)."""
        return self.descent

    def loss_bound(self, k: int) -> float:
        """G1: L0·rate^k."""
        return self.loss0 * self.rate**k

    def path_bound(self, r0_norm: float, r_norm: float) -> float:
        """G2: 2(‖r0‖ − ‖r_k‖)/(aγα)."""
        return 2.0 * (r0_norm - r_norm) / (self.descent * self.gamma * self.alpha)

    def deviation_bound(self, k: int) -> float:
        """G5 at step k."""
        return self.deviation_coef * geometric_sum(self.q, self.lam, k)


#: G1–G5 as the report and the JSON state them (THEORY.md §13).
STATEMENTS = {
    "G1": "‖r_{k+1}‖² ≤ ‖r_k‖² − (a/η)‖Δ_k‖², so L_k ≤ (1 − aηγ²α²)^k·L0",
    "G2": "Σ_{j<k}‖Δ_j‖ ≤ 2(‖r0‖ − ‖r_k‖)/(aγα) ≤ R_gd",
    "G3": "σ_min(J_k) ≥ α and ‖J_k‖ ≤ Σ",
    "G5": "‖r_k − s_k‖ ≤ ηγ²h(R)(2σ_max + h(R))‖r0‖·Σ_{j<k} q^{k−1−j}λ^j",
}


@dataclass(frozen=True)
class GdCertificate:
    """The GD verdict for (γ, lr, loss, K) (JSON ``certificates.gd``, THEORY.md §13).

    ``eta`` = c·lr is the step on ½‖r‖²; ``stability`` = ηγ²σ_max² (proven σ_max);
    ``radius_R`` the smallest ρ with R_gd(ρ) ≤ ρ (∞ when none), ``radius_B`` ρ* (§8);
    ``lr_max`` the largest certified lr at this γ (the user's units), ``gamma_interval``
    the certified γ set at this lr; when certified, ``guarantees`` holds the step's
    constants, read here as ``descent`` (§13's a, JSON ``a``), ``alpha``, ``Sigma``,
    ``rate``, ``loss_bound`` = L0·rate^K and ``deviation_bound`` (G5 at step K); all None
    when not certified.
    """

    gamma: float
    lr: float
    loss: str
    eta: float
    steps: int
    status: Status
    reason: GdReason
    rigorous: bool
    radius_R: float
    radius_B: float
    stability: float
    lr_max: float
    gamma_interval: tuple[Interval, ...]
    guarantees: GdGuarantees | None
    theorem: GdTheorem = GdTheorem.gd

    @property
    def certified(self) -> bool:
        return self.status is Status.certified

    @property
    def descent(self) -> float | None:
        return None if self.guarantees is None else self.guarantees.descent

    @property
    def a(self) -> float | None:
        """§13's a (the JSON's name)."""
        return self.descent

    @property
    def alpha(self) -> float | None:
        return None if self.guarantees is None else self.guarantees.alpha

    @property
    def Sigma(self) -> float | None:
        return None if self.guarantees is None else self.guarantees.Sigma

    @property
    def rate(self) -> float | None:
        return None if self.guarantees is None else self.guarantees.rate

    @property
    def loss_bound(self) -> float | None:
        return None if self.guarantees is None else self.guarantees.loss_bound(self.steps)

    @property
    def deviation_bound(self) -> float | None:
        g = self.guarantees
        return None if g is None else g.deviation_bound(self.steps)


def _safe_radius_B(drift: Drift, sigma_min: float) -> float:
    """ρ* as the flow certificates report it (B = σ_min/(2β) for a Lipschitz drift)."""
    if isinstance(drift, LipschitzDrift):
        return radius_B(drift.beta, sigma_min)
    return drift.safe_radius(0.5 * sigma_min) if sigma_min > 0 else 0.0


def certify_gd(
    gamma: float,
    lr: float,
    loss: LossConvention | str,
    steps: int,
    rows: int,
    q: Quantities,
    drift: Drift,
    rigorous: bool,
) -> GdCertificate:
    """The GD certificate (THEORY.md §13) at γ for ``lr`` on the user's ``loss`` with m
    = ``rows`` residual entries, over ``steps`` steps."""
    loss = LossConvention(loss)
    factor = loss_factor(loss, rows)
    eta = factor * lr
    smin, smax = q.sigma_min, q.sigma_max
    stability = eta * gamma * gamma * smax * smax
    B = _safe_radius_B(drift, smin)
    inf = math.inf

    def verdict(
        status: Status, reason: GdReason, lr_max: float, interval: tuple[Interval, ...]
    ) -> GdCertificate:
        return GdCertificate(
            gamma, lr, loss.value, eta, steps, status, reason, rigorous, inf, B, stability,
            lr_max, interval, None,
        )  # fmt: skip

    if drift.kind is DriftKind.none:
        return verdict(Status.not_applicable, GdReason.no_drift_bound, 0.0, ())
    if not q.full_rank or not smin > 0.0:
        return verdict(Status.not_applicable, GdReason.not_full_rank, 0.0, ())
    bounds = BallBounds(drift, smin, smax)
    r0 = math.sqrt(2.0 * q.loss0)
    lr_max = step_max(bounds, gamma, r0) / factor
    interval = gamma_interval(bounds, eta, q)
    ball = smallest_radius(bounds, eta, gamma, r0) if stability < 2.0 else None
    if ball is not None and not any(lo <= gamma <= hi for lo, hi in interval):
        interval = _widen(bounds, eta, q, gamma, interval)
    if ball is None:
        if stability >= 2.0:
            reason = GdReason.unstable
        elif not interval:  # no γ at this lr: γ too small for every lr, or lr too large
            reason = GdReason.too_small if lr_max == 0.0 else GdReason.lr_too_large
        else:
            lo, hi = interval[0]
            reason = GdReason.too_small if gamma <= math.sqrt(lo * hi) else GdReason.too_large
        return verdict(Status.not_certified, reason, lr_max, interval)
    rate = max(1.0 - ball.descent * eta * gamma * gamma * ball.alpha * ball.alpha, 0.0)
    R = min(ball.radius, ball.rho)
    h_R = drift.h(R)
    e2 = eta * gamma * gamma
    qq = contraction(e2, smin, smax)
    lam = math.sqrt(rate)
    guarantees = GdGuarantees(
        loss0=q.loss0,
        eta=eta,
        gamma=gamma,
        descent=ball.descent,
        alpha=ball.alpha,
        Sigma=ball.Sigma,
        rate=rate,
        radius_R=ball.rho,
        radius_gd=ball.radius,
        h_R=h_R,
        q=qq,
        lam=lam,
        deviation_coef=e2 * h_R * (2.0 * smax + h_R) * r0,
    )
    return GdCertificate(
        gamma=gamma,
        lr=lr,
        loss=loss.value,
        eta=eta,
        steps=steps,
        status=Status.certified,
        reason=GdReason.none,
        rigorous=rigorous,
        radius_R=ball.rho,
        radius_B=B,
        stability=stability,
        lr_max=lr_max,
        gamma_interval=interval,
        guarantees=guarantees,
    )


__all__ = [
    "STATEMENTS",
    "BallAt",
    "BallBounds",
    "GdCertificate",
    "GdGuarantees",
    "GdReason",
    "certify_gd",
    "contraction",
    "gamma_interval",
    "geometric_sum",
    "loss_factor",
    "smallest_radius",
    "step_max",
]
