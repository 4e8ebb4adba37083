"""The certificate's algebra (THEORY.md §4–§5): γ*, R, B and the exact γ set."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.report.words import certificate_message
from ntkcheck.run.measure import FullRank
from ntkcheck.theory.certificate import Quantities, Status, Theorem
from ntkcheck.theory.certificate import certify as certify_theorem
from ntkcheck.theory.drift import LipschitzDrift
from ntkcheck.theory.gamma_set import certified_gammas as certified_set
from ntkcheck.theory.lecture import gamma_star, gap_D, lecture_lambda, radius_B, radius_R


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
