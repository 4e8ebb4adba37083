"""``theory.certificate``: the certificate's algebra (THEORY.md §4–§5, §8–§9): γ*, R, B, the
exact γ set, both theorems, drift bounds that are not Lipschitz, not applicable."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.report.words import certificate_message
from ntkcheck.run.measure import FullRank
from ntkcheck.theory.certificate import Quantities, Reason, Status, Theorem, certify_both
from ntkcheck.theory.certificate import certify as certify_theorem
from ntkcheck.theory.drift import DriftKind, LipschitzDrift, NoDrift
from ntkcheck.theory.gamma_set import certified_gammas as certified_set
from ntkcheck.theory.lecture import gamma_star, gap_D, lecture_lambda, radius_B, radius_R

from .conftest import FORMULA_REL


def certified_gammas(beta, smin, smax, f0_sq, f0_y, y_sq):
    """The lecture's set: γσ_min³ > 4β(2σ_max + σ_min)‖γf0 − y‖ (THEORY.md §4)."""
    return certified_set(smin * smin * smin, 4.0 * beta * (2.0 * smax + smin), f0_sq, f0_y, y_sq)


pos = st.floats(1e-3, 1e3)


@settings(max_examples=200, deadline=None)
@given(beta=pos, smin=pos, ratio=st.floats(1.0, 100.0), L0=pos)
def test_radius_at_gamma_star_equals_ball(beta, smin, ratio, L0):
    """R(γ*) = B: γ* is exactly where the trajectory bound touches the ball (§4)."""
    smax = smin * ratio
    g = gamma_star(beta, smin, smax, L0)
    assert radius_R(g, smin, smax, L0) == pytest.approx(radius_B(beta, smin), rel=1e-12)
    assert g <= 12 * math.sqrt(2) * lecture_lambda(beta, smin, smax, L0) * (1 + 1e-12)
    # strictly monotone: above γ*, R < B; below, R > B
    assert radius_R(1.01 * g, smin, smax, L0) < radius_B(beta, smin)
    assert radius_R(0.99 * g, smin, smax, L0) > radius_B(beta, smin)


def _certified_directly(gamma, beta, smin, smax, f0_sq, f0_y, y_sq):
    """γ > γ*(γ) with L0(γ) = ½‖γ f0 − y‖², evaluated literally."""
    L0 = 0.5 * max(gamma**2 * f0_sq - 2 * gamma * f0_y + y_sq, 0.0)
    return gamma > gamma_star(beta, smin, smax, L0)


def _in(intervals, g):
    return any(lo < g < hi for lo, hi in intervals)


@settings(max_examples=300, deadline=None)
@given(
    beta=st.floats(1e-2, 10.0),
    smin=st.floats(0.5, 5.0),
    ratio=st.floats(1.0, 10.0),
    f0_norm=st.floats(0.0, 50.0),
    y_norm=st.floats(0.1, 10.0),
    cos=st.floats(-1.0, 1.0),
)
def test_gamma_interval_pointwise_on_a_grid(beta, smin, ratio, f0_norm, y_norm, cos):
    """Membership in the returned set ⇔ the literal condition, on a log grid of γ."""
    smax = smin * ratio
    f0_sq, y_sq, f0_y = f0_norm**2, y_norm**2, cos * f0_norm * y_norm
    intervals = certified_gammas(beta, smin, smax, f0_sq, f0_y, y_sq)
    ends = [e for iv in intervals for e in iv if 0 < e < math.inf]
    for g in np.logspace(-4, 8, 400):
        if any(abs(g - e) <= 1e-8 * e for e in ends):
            continue  # at an endpoint the two sides are equal up to rounding
        assert _in(intervals, g) == _certified_directly(g, beta, smin, smax, f0_sq, f0_y, y_sq)


def test_gamma_interval_shapes():
    # f0 = 0: (γ*, ∞) with γ* from L0 = ½‖y‖²
    (iv,) = certified_gammas(1.0, 2.0, 3.0, 0.0, 0.0, 4.0)
    assert iv[1] == math.inf
    assert iv[0] == pytest.approx(gamma_star(1.0, 2.0, 3.0, 2.0))
    # large f0 aligned with y: bounded interval
    ivs = certified_gammas(1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert len(ivs) == 1 and math.isfinite(ivs[0][1])
    # large f0 orthogonal to y: empty
    assert certified_gammas(10.0, 1.0, 1.0, 100.0, 0.0, 1.0) == ()
    # β = 0: every γ
    assert certified_gammas(0.0, 1.0, 1.0, 5.0, 1.0, 1.0) == ((0.0, math.inf),)
    # β = ∞ or σ_min = 0: none
    assert certified_gammas(math.inf, 1.0, 1.0, 0.0, 0.0, 1.0) == ()
    assert certified_gammas(1.0, 0.0, 1.0, 0.0, 0.0, 1.0) == ()


class _Cert:
    """A certificate with its message, as the JSON shows it."""

    def __init__(self, c, full_rank):
        est = SimpleNamespace(
            full_rank=full_rank,
            measurement=SimpleNamespace(
                beta_method="analytic", bounds=SimpleNamespace(rigorous=True), family="two_layer"
            ),
        )
        self.c, self.message = c, certificate_message(c, "tanh", est)

    def __getattr__(self, name):
        return getattr(self.c, name)


def certify(gamma, q, centered_or_zero=True):
    quantities, beta, full = q
    fr = FullRank(True) if full else FullRank(False, "underparametrized", {"params": 1, "n": 2})
    cert = certify_theorem(Theorem.lecture, gamma, quantities, LipschitzDrift(beta), rigorous=True)
    return _Cert(cert, fr)


def _estimate(beta=1.0, smin=2.0, smax=3.0, L0=2.0, full=True, f0=0.0, y=2.0, f0y=0.0, dep=False):
    q = Quantities(smin, smax, L0, f0 * f0, f0y, y * y, full, loss_depends_on_gamma=dep)
    return q, beta, full


def test_certify_statuses_and_guarantees():
    est = _estimate()
    g_star = gamma_star(1.0, 2.0, 3.0, 2.0)
    yes = certify(2 * g_star, est)
    assert yes.status is Status.certified and yes.certified and yes.rigorous
    assert yes.margin == pytest.approx(2.0)
    assert yes.radius_R < yes.radius_B
    g = yes.guarantees
    gamma = 2 * g_star
    assert g.loss_rate == pytest.approx(0.5 * gamma**2 * 4.0)
    assert g.lin_loss_rate == pytest.approx(2 * gamma**2 * 4.0)
    assert g.gap_rate == pytest.approx(0.25 * gamma**2 * 4.0)
    assert g.sigma_min_lower == 1.0 and g.jacobian_norm_upper == 4.0
    assert g.lin_radius == pytest.approx(math.sqrt(4.0) / (gamma * 2.0))
    assert g.gap_D == pytest.approx(gap_D(gamma, 1.0, 2.0, 3.0, 2.0))
    # C5's D(γ) = (4/3) β R (2σ_max + σ_min/2) √(2L0)/σ_min², spelled out
    R = (4 * 3 + 2 * 2) * 2.0 / (gamma * 4.0)
    assert g.gap_D == pytest.approx(4 / 3 * 1.0 * R * (6 + 1) * 2.0 / 4.0)
    no = certify(0.5 * g_star, est)
    assert no.status is Status.not_certified and no.guarantees is None
    assert "raise γ above" in no.message
    assert certify(1.0, _estimate(beta=math.inf)).status is Status.not_applicable
    na = certify(1.0, _estimate(full=False))
    assert na.status is Status.not_applicable and "(H2)" in na.message


def test_certify_with_zero_beta_has_infinite_ball():
    c = certify(1e-6, _estimate(beta=0.0))
    assert c.certified and math.isinf(c.radius_B) and c.gamma_star == 0.0
    assert "B = ∞" in c.message


def test_empty_interval_message_suggests_symmetric_or_centered():
    est = _estimate(beta=10.0, smin=1.0, smax=1.0, L0=0.5 * (100 + 1), f0=10.0, y=1.0)
    est = _estimate(beta=10.0, smin=1.0, smax=1.0, L0=0.5 * (100 + 1), f0=10.0, y=1.0, dep=True)
    c = certify(1.0, est)
    assert c.gamma_interval == ()
    assert "init: symmetric" in c.message and "centered: true" in c.message


def test_a_zero_sigma_min_bound_says_why_h2_fails():
    """(H2)'s rank test passed but the rigorous σ_min bound is 0: the message says so."""
    c = certify(10.0, _estimate(smin=0.0))
    assert c.status is Status.not_applicable
    assert c.message.startswith("(H2) fails: the rigorous lower bound on σ_min is 0")


# ---- the path theorem, drift bounds that are not Lipschitz, both theorems ----------------

SYM = Quantities(2.0, 3.0, 2.0, 0.0, 0.0, 4.0, True, loss_depends_on_gamma=False)  # ‖r0‖ = 2


def test_the_path_theorem_with_a_lipschitz_drift_is_section_9():
    """β = 1, σ_min = 2, ‖r0‖ = √(2L0) = 2: ρ* = σ_min/(2β) = 1, R_p = 2‖r0‖/(γσ_min) = 2/γ,
    γ*_p = 4β‖r0‖/σ_min² = 2 (THEORY.md §9)."""
    c = certify_theorem(Theorem.path, 4.0, SYM, LipschitzDrift(1.0), rigorous=True)
    assert c.theorem is Theorem.path and c.certified
    # a formula of a few correctly rounded operations: a few ulps
    assert (c.radius_R, c.radius_B) == (0.5, 1.0)
    assert c.gamma_star == pytest.approx(2.0, rel=FORMULA_REL)
    assert c.margin == pytest.approx(2.0, rel=FORMULA_REL)
    ((lo, hi),) = c.gamma_interval
    assert lo == pytest.approx(2.0, rel=FORMULA_REL) and hi == math.inf
    g = c.guarantees
    assert g.path_length and g.radius_R == 0.5 and g.radius_B == 1.0
    assert g.jacobian_norm_upper == 3.0 + 0.5  # σ_max + h(R_p), h(R_p) = βR_p
    assert not certify_theorem(Theorem.path, 1.5, SYM, LipschitzDrift(1.0), True).certified


class QuadraticDrift:
    """h(ρ) = cρ²: not Lipschitz in ρ (a ball-local bound, THEORY.md §8)."""

    kind = DriftKind.ball_lipschitz
    rigorous = True

    def __init__(self, c: float) -> None:
        self.c = c

    def h(self, rho: float) -> float:
        return self.c * rho * rho

    def safe_radius(self, target: float) -> float:
        return math.sqrt(target / self.c)


def test_a_general_drift_bound_uses_its_safe_radius():
    """h = ρ²/4, σ_min = 2: ρ* = √(σ_min/(2c)) = 2 = B. Path: γ*_p = 2‖r0‖/(σ_min ρ*) = 1;
    lecture: γ* = (4σ_max + 2σ_min)‖r0‖/(σ_min² ρ*) = 16·2/8 = 4 (§8); the lecture's Λ
    with β_eff = σ_min/(2ρ*) = ½: βσ_max√L0/σ_min³ = 3/16 (L0 = 2)."""
    drift = QuadraticDrift(0.25)
    path = certify_theorem(Theorem.path, 2.0, SYM, drift, rigorous=False)
    assert (path.gamma_star, path.radius_B, path.radius_R, path.certified) == (1.0, 2.0, 1.0, True)
    assert path.guarantees.jacobian_norm_upper == 3.0 + drift.h(1.0)
    assert not path.rigorous and not path.drift_free
    lecture = certify_theorem(Theorem.lecture, 2.0, SYM, drift, rigorous=False)
    assert lecture.gamma_star == 4.0 and not lecture.certified and lecture.guarantees is None
    assert lecture.radius_R == (4 * 3.0 + 2 * 2.0) * 2.0 / (2.0 * 4.0)  # = 4 > ρ* = 2
    assert lecture.lecture_lambda == pytest.approx(0.5 * 3.0 * math.sqrt(2.0) / 8.0, rel=1e-15)


def test_an_unbounded_safe_radius_certifies_every_gamma():
    drift = SimpleNamespace(kind=DriftKind.ball_lipschitz, h=lambda rho: 0.0,
                            safe_radius=lambda target: math.inf)  # fmt: skip
    c = certify_theorem(Theorem.path, 1e-9, SYM, drift, rigorous=True)
    assert c.certified and c.drift_free and c.gamma_star == 0.0 and c.margin == math.inf
    assert c.gamma_interval == ((0.0, math.inf),) and c.lecture_lambda == 0.0


@pytest.mark.parametrize("theorem", list(Theorem))
def test_not_applicable_without_a_drift_bound_or_rank(theorem):
    c = certify_theorem(theorem, 5.0, SYM, NoDrift("not_lipschitz"), rigorous=True)
    assert c.status is Status.not_applicable and c.reason is Reason.no_drift_bound
    assert (c.gamma, c.gamma_star, c.margin, c.radius_R, c.radius_B) == (5.0, math.inf, 0.0,
                                                                          math.inf, 0.0)  # fmt: skip
    assert c.gamma_interval == () and c.guarantees is None and not c.certified
    rank = Quantities(**{**SYM.__dict__, "full_rank": False})
    c = certify_theorem(theorem, 5.0, rank, LipschitzDrift(1.0), rigorous=True)
    assert c.reason is Reason.not_full_rank and c.radius_B == 1.0  # B is still σ_min/(2β)


def test_certify_both_gives_the_lecture_then_the_path():
    both = certify_both(4.0, SYM, LipschitzDrift(1.0), rigorous=True)
    assert list(both) == [Theorem.lecture, Theorem.path]
    for theorem, c in both.items():
        assert c == certify_theorem(theorem, 4.0, SYM, LipschitzDrift(1.0), rigorous=True)
    # γ*/γ*_p = 2κ + 1 when ‖r0‖ does not depend on γ (§9): κ = 3/2
    ratio = both[Theorem.lecture].gamma_star / both[Theorem.path].gamma_star
    assert ratio == pytest.approx(2 * 1.5 + 1, rel=1e-15)
