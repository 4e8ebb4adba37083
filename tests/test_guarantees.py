"""``theory.guarantees``: the numbers of C1–C5 against THEORY.md §5, §8 and §9, written
out here from the text (not from ``theory.lecture`` or ``theory.path``).

Each number is a product of at most a dozen correctly rounded operations, so the
two evaluations agree to a few units in the last place: rel = 1e-14.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck.theory.guarantees import (
    STATEMENTS,
    bound_curves,
    lecture_guarantees,
    path_guarantees,
)

REL = 1e-14
#: (γ, σ_min, σ_max, L0, β, ρ*): an ordinary case, an ill-conditioned one, a large γ.
CASES = [
    (10.0, 0.5, 2.0, 3.0, 0.7, 0.25),
    (1e4, 1e-3, 40.0, 0.02, 12.0, 1e-6),
    (3e7, 2.0, 2.5, 1e3, 1e-4, 5e3),
]


def _common(g, smin, L0):
    """C1, C3's lower bound, C4 and C5's rate (THEORY.md §5)."""
    return {
        "loss0": L0,
        "loss_rate": 0.5 * g**2 * smin**2,  # C1: L0·exp(−½γ²σ_min²t)
        "sigma_min_lower": smin / 2,  # C3
        "lin_loss_rate": 2 * g**2 * smin**2,  # C4: L0·exp(−2γ²σ_min²t)
        "lin_radius": math.sqrt(2 * L0) / (g * smin),  # C4: √(2L0)/(γσ_min)
        "gap_rate": g**2 * smin**2 / 4,  # C5: exp(−¼γ²σ_min²t)
    }


def _check(actual, expected):
    for key, value in expected.items():
        assert getattr(actual, key) == pytest.approx(value, rel=REL), key


@pytest.mark.parametrize("case", CASES)
def test_lecture_guarantees_with_beta_are_section_5(case):
    g, smin, smax, L0, beta, rho = case
    R = (4 * smax + 2 * smin) * math.sqrt(2 * L0) / (g * smin**2)  # §4
    D = (4 / 3) * beta * R * (2 * smax + smin / 2) * math.sqrt(2 * L0) / smin**2  # §5, C5
    out = lecture_guarantees(g, smin, smax, L0, safe_radius=rho, beta=beta)
    _check(out, {**_common(g, smin, L0), "radius_R": R, "radius_B": rho, "gap_D": D,
                 "jacobian_norm_upper": smax + smin / 2})  # fmt: skip
    assert out.path_length is False


@pytest.mark.parametrize("case", CASES)
def test_lecture_guarantees_with_a_drift_bound_put_h_of_R_for_beta_R(case):
    """§8: the guarantees of §5 hold with h(R) in place of βR."""
    g, smin, smax, L0, beta, rho = case
    R = (4 * smax + 2 * smin) * math.sqrt(2 * L0) / (g * smin**2)
    h_R = 0.9 * beta * R  # any drift value; with h = βρ it is §5's D
    D = (4 / 3) * h_R * (2 * smax + smin / 2) * math.sqrt(2 * L0) / smin**2
    out = lecture_guarantees(g, smin, smax, L0, safe_radius=rho, h_R=h_R)
    _check(out, {**_common(g, smin, L0), "radius_R": R, "gap_D": D})
    same = lecture_guarantees(g, smin, smax, L0, safe_radius=rho, h_R=beta * R)
    assert same.gap_D == pytest.approx(
        lecture_guarantees(g, smin, smax, L0, safe_radius=rho, beta=beta).gap_D, rel=REL
    )


@pytest.mark.parametrize("case", CASES)
def test_path_guarantees_are_sections_8_and_9(case):
    g, smin, smax, L0, beta, rho = case
    r0 = math.sqrt(2 * L0)  # ‖r0‖ with L0 = ½‖r0‖²
    Rp = 2 * r0 / (g * smin)  # §9
    h = beta * Rp  # h(ρ) = βρ at R_p
    D = (4 / 3) * h * (2 * smax + h) * r0 / smin**2  # §8, C5
    out = path_guarantees(g, smin, smax, L0, safe_radius=rho, h_R=h)
    _check(out, {**_common(g, smin, L0), "radius_R": Rp, "radius_B": rho, "gap_D": D,
                 "jacobian_norm_upper": smax + h})  # fmt: skip
    assert out.path_length is True


def test_the_path_radius_is_the_lecture_radius_over_2_kappa_plus_1():
    """§9: R/R_p = (2σ_max + σ_min)/σ_min = 2κ + 1, hence γ*/γ*_p = 2κ + 1."""
    for g, smin, smax, L0, _beta, rho in CASES:
        lec = lecture_guarantees(g, smin, smax, L0, safe_radius=rho, beta=1.0)
        path = path_guarantees(g, smin, smax, L0, safe_radius=rho, h_R=1.0)
        assert lec.radius_R / path.radius_R == pytest.approx(2 * smax / smin + 1, rel=REL)


def test_bound_curves_are_the_exponentials_of_c1_c4_c5():
    g, smin, smax, L0, beta, rho = CASES[0]
    out = lecture_guarantees(g, smin, smax, L0, safe_radius=rho, beta=beta)
    t = np.array([0.0, 1e-3, 0.05, 1.0])
    curves = bound_curves(out, t)
    s2 = g**2 * smin**2
    np.testing.assert_allclose(curves.loss, L0 * np.exp(-0.5 * s2 * t), rtol=REL)
    np.testing.assert_allclose(curves.loss_lin, L0 * np.exp(-2 * s2 * t), rtol=REL)
    np.testing.assert_allclose(curves.gap, out.gap_D * np.exp(-0.25 * s2 * t), rtol=REL)
    assert curves.loss[0] == L0 and curves.gap[0] == out.gap_D
    assert bound_curves(out, 0.0).loss.shape == ()


def test_an_overflowing_rate_is_infinite_not_an_error():
    out = lecture_guarantees(1e200, 1e200, 1e200, 1.0, safe_radius=1.0, beta=1.0)
    assert out.loss_rate == math.inf and out.gap_rate == math.inf


def test_statements_name_c1_to_c5_for_both_theorems():
    assert list(STATEMENTS) == ["lecture", "path"]
    for theorem in STATEMENTS.values():
        assert list(theorem) == ["C1", "C2", "C3", "C4", "C5"]
    assert STATEMENTS["lecture"]["C1"] == STATEMENTS["path"]["C1"]
    assert "R_p(γ) = 2‖r0‖/(γσ_min)" in STATEMENTS["path"]["C2"]
