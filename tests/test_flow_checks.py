"""``flow.checks``: C1–C5 as measured vs bound along a path (THEORY.md §5): the worst
ratio where the bound is resolved, violations beyond the error floor, unresolved
checks, and which quantity each check compares (hand-built paths, exact ratios)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck.flow.checks import ROUNDING, Floors, _ratio_check, checks_for, not_applicable_checks
from ntkcheck.theory.guarantees import STATEMENTS, Guarantees

T = np.array([0.0, 1.0, 2.0, 3.0])


def _check(parts):
    return _ratio_check("C9", "a statement", T, parts, False, "lecture")


def test_worst_ratio_its_time_and_the_final_slack():
    b = np.array([4.0, 4.0, 2.0, 1.0])
    m = np.array([1.0, 3.0, 1.0, 0.25])  # ratios 0.25, 0.75, 0.5, 0.25
    c = _check([(m, b, np.zeros(4))])
    assert (c.holds, c.worst_ratio, c.worst_t, c.final_ratio) == (True, 0.75, 1.0, 0.25)
    assert (c.id, c.statement, c.applicable, c.theorem) == ("C9", "a statement", True, "lecture")


def test_the_worst_over_parts_and_the_largest_final():
    zero = np.zeros(4)
    a = (np.array([1.0, 1, 1, 1]), np.array([2.0, 2, 2, 2]), zero)  # 0.5 throughout
    b = (np.array([0.0, 0, 0, 0.9]), np.array([1.0, 1, 1, 1]), zero)  # 0.9 at t = 3
    c = _check([a, b])
    assert (c.worst_ratio, c.worst_t, c.final_ratio) == (0.9, 3.0, 0.9)


def test_only_bounds_above_ten_floors_count():
    """At t = 0, 1 the bound is within 10× its floor: not a ratio; t = 2, 3 are."""
    b = np.array([1.0, 1.0, 100.0, 100.0])
    m = np.array([1.05, 1.05, 10.0, 20.0])  # above b at t ≤ 1, but within the floor
    c = _check([(m, b, np.full(4, 0.5))])
    assert (c.holds, c.worst_ratio, c.worst_t, c.final_ratio) == (True, 0.2, 3.0, 0.2)


def test_a_violation_beyond_rounding_and_the_floor_fails():
    b = np.array([1.0, 1.0, 1.0, 1.0])
    inside = b * (1 + ROUNDING)  # exactly at the bound with its rounding slack
    assert _check([(inside, b, np.zeros(4))]).holds
    over = b * (1 + 10 * ROUNDING)
    c = _check([(over, b, np.zeros(4))])
    assert c.holds is False and c.worst_ratio == pytest.approx(1 + 10 * ROUNDING, rel=1e-15)


def test_a_bound_never_above_its_floor_is_unresolved():
    b = np.full(4, 1e-12)
    c = _check([(np.zeros(4), b, np.full(4, 1e-12))])
    assert c.holds is None and c.worst_ratio is None and c.worst_t is None
    c = _check([(np.full(4, 1.0), b, np.full(4, 1e-12))])  # but a violation still fails
    assert c.holds is False and c.worst_ratio is None


@pytest.mark.parametrize("theorem", ["lecture", "path"])
def test_not_applicable_checks_name_every_statement(theorem):
    checks = not_applicable_checks(theorem, True)
    assert [c.id for c in checks] == ["C1", "C2", "C3", "C4", "C5"]
    assert [c.statement for c in checks] == list(STATEMENTS[theorem].values())
    assert all(not c.applicable and c.holds is None and c.estimate for c in checks)
    mine = not_applicable_checks(theorem, False, {"G1": "a step"})
    assert [(c.id, c.statement, c.theorem) for c in mine] == [("G1", "a step", theorem)]


G = Guarantees(
    loss0=2.0, loss_rate=1.0, radius_R=4.0, radius_B=8.0, sigma_min_lower=0.5,
    jacobian_norm_upper=3.0, lin_loss_rate=4.0, lin_radius=2.0, gap_D=1.0, gap_rate=0.5,
)  # fmt: skip


def _path(scale: float) -> dict[str, np.ndarray]:
    """Every measured quantity at ``scale`` × its bound (σ_min(J_t) at bound / scale)."""
    return {
        "t": T,
        "loss": scale * 2.0 * np.exp(-T),
        "param_dist": scale * 4.0 * np.ones(4),
        "sigma_min_t": 0.5 / scale * np.ones(4),
        "jacobian_norm_t": scale * 3.0 * np.ones(4),
        "loss_lin": scale * 2.0 * np.exp(-4.0 * T),
        "param_dist_lin": scale * 2.0 * np.ones(4),
        "gap": scale * np.exp(-0.5 * T),
    }


def test_each_check_compares_its_quantity_with_its_bound():
    checks = checks_for(_path(0.5), G, True, False, Floors(0.0, 0.0))
    assert [c.id for c in checks] == ["C1", "C2", "C3", "C4", "C5"]
    for c in checks:
        assert c.holds and c.worst_ratio == pytest.approx(0.5, rel=1e-14), c.id


@pytest.mark.parametrize("cid", ["C1", "C2", "C3", "C4", "C5"])
def test_each_check_fails_on_its_own_violation(cid):
    sim = _path(0.5)
    key = {"C1": "loss", "C2": "param_dist", "C3": "jacobian_norm_t", "C4": "param_dist_lin",
           "C5": "gap"}[cid]  # fmt: skip
    sim[key] = sim[key] * 4.0  # 2× its bound
    checks = {c.id: c for c in checks_for(sim, G, True, False, Floors(0.0, 0.0))}
    assert checks[cid].holds is False and checks[cid].worst_ratio == pytest.approx(2.0, rel=1e-14)
    assert all(c.holds for k, c in checks.items() if k != cid)


def test_the_path_theorem_also_checks_the_time_resolved_radius():
    """C2 of §9: ‖θ_t − θ0‖ ≤ 2(‖r0‖ − ‖r_t‖)/(γσ_min), σ_min = 2·sigma_min_lower."""
    g = Guarantees(**{**G.__dict__, "path_length": True})
    gamma = 2.0
    sim = _path(0.5)
    r0 = math.sqrt(2 * g.loss0)
    bound_t = 2 * (r0 - np.sqrt(2 * sim["loss"])) / (gamma * 1.0)
    sim["param_dist"] = 0.25 * bound_t
    checks = {c.id: c for c in checks_for(sim, g, True, False, Floors(0.0, 0.0), theorem="path",
                                          gamma=gamma)}  # fmt: skip
    assert checks["C2"].holds and checks["C2"].worst_ratio == pytest.approx(0.25, rel=1e-12)
    sim["param_dist"] = 1.5 * bound_t  # within R = 4, beyond the time-resolved bound
    assert np.all(sim["param_dist"] < g.radius_R)
    checks = {c.id: c for c in checks_for(sim, g, True, False, Floors(0.0, 0.0), theorem="path",
                                          gamma=gamma)}  # fmt: skip
    assert checks["C2"].holds is False
    assert checks["C2"].statement == STATEMENTS["path"]["C2"]


def test_no_certificate_no_applicable_check():
    checks = checks_for(_path(0.5), None, True, False, Floors(0.0, 0.0))
    assert all(not c.applicable for c in checks)
    checks = checks_for(_path(0.5), G, False, True, Floors(0.0, 0.0), theorem="path")
    assert all(not c.applicable and c.estimate and c.theorem == "path" for c in checks)
