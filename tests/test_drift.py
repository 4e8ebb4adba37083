"""``theory.drift``: the drift bounds' shared semantics (THEORY.md §8) and the closed enum
of their kinds (direct tests)."""

from __future__ import annotations

import math

import pytest

from ntkcheck.theory.drift import DriftKind, LipschitzDrift, NoDrift


@pytest.mark.parametrize("beta", [0.0, 0.5, 3e4])
def test_lipschitz_drift_is_beta_rho_and_its_inverse(beta):
    drift = LipschitzDrift(beta)
    assert drift.kind is DriftKind.lipschitz and drift.rigorous
    for rho in (0.0, 1e-3, 2.0):
        assert drift.h(rho) == beta * rho
        assert drift.pair(rho) == 2 * beta * rho  # h_pair ≤ 2h always holds
        assert drift.lipschitz(rho) == beta
    target = 0.25
    rho_star = drift.safe_radius(target)
    assert rho_star == (math.inf if beta == 0 else target / beta)
    if beta:  # ρ* = sup{ρ : h(ρ) ≤ target}
        assert drift.h(rho_star) == pytest.approx(target, rel=1e-15)
        assert drift.h(rho_star * (1 + 1e-12)) > target


def test_an_infinite_beta_has_no_safe_ball():
    assert LipschitzDrift(math.inf).safe_radius(1.0) == 0.0
    assert LipschitzDrift(math.inf).h(0.0) == 0.0  # the ball of radius 0 does not move


def test_no_drift_certifies_nothing():
    drift = NoDrift("σ' jumps in a deep network")
    assert drift.kind is DriftKind.none and drift.reason.startswith("σ'")
    assert drift.h(0.0) == math.inf and drift.pair(1.0) == math.inf
    assert drift.safe_radius(1e9) == 0.0 and drift.lipschitz(1.0) is None


def test_every_kind_has_a_formula_and_a_label():
    assert [k.value for k in DriftKind] == ["lipschitz", "ball_lipschitz", "flip_count", "none"]
    for kind in DriftKind:
        assert kind.formula.startswith("h(ρ)") or kind is DriftKind.none
        assert kind.label and kind == kind.value  # a StrEnum: the JSON string
