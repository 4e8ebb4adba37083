"""``theory.lecture``: the lecture's theorem's numbers (THEORY.md §3–§5, §8), written out
here from the text, and the identities between them (direct tests)."""

from __future__ import annotations

import math

import pytest

from ntkcheck.theory.lecture import (
    gamma_star,
    gamma_star_drift,
    gap_D,
    gap_D_drift,
    lecture_lambda,
    radius_B,
    radius_R,
)

from .conftest import FORMULA_REL as REL
from .conftest import THEOREM_CASES as CASES


@pytest.mark.parametrize(("beta", "smin", "smax", "L0"), CASES)
def test_the_formulas_of_sections_3_to_5(beta, smin, smax, L0):
    gstar = 4 * math.sqrt(2) * beta * (2 * smax + smin) * math.sqrt(L0) / smin**3
    assert gamma_star(beta, smin, smax, L0) == pytest.approx(gstar, rel=REL)
    assert radius_B(beta, smin) == pytest.approx(smin / (2 * beta), rel=REL)
    assert lecture_lambda(beta, smin, smax, L0) == pytest.approx(
        beta * smax * math.sqrt(L0) / smin**3, rel=REL
    )
    g = 3.3 * gstar
    R = (4 * smax + 2 * smin) * math.sqrt(2 * L0) / (g * smin**2)
    assert radius_R(g, smin, smax, L0) == pytest.approx(R, rel=REL)
    D = (4 / 3) * beta * R * (2 * smax + smin / 2) * math.sqrt(2 * L0) / smin**2
    assert gap_D(g, beta, smin, smax, L0) == pytest.approx(D, rel=REL)
    assert gap_D_drift(beta * R, smin, smax, L0) == pytest.approx(D, rel=REL)  # h(R) = βR


@pytest.mark.parametrize(("beta", "smin", "smax", "L0"), CASES)
def test_gamma_star_is_where_R_reaches_B_and_the_drift_form_agrees(beta, smin, smax, L0):
    """§4: certified ⇔ γ > γ* ⇔ R(γ) < B; §8 with h = βρ: ρ* = B gives the same γ*."""
    gstar = gamma_star(beta, smin, smax, L0)
    B = radius_B(beta, smin)
    assert radius_R(gstar, smin, smax, L0) == pytest.approx(B, rel=1e-13)
    assert gamma_star_drift(B, smin, smax, L0) == pytest.approx(gstar, rel=1e-13)
    assert gstar <= 12 * math.sqrt(2) * lecture_lambda(beta, smin, smax, L0) * (1 + 1e-15)


def test_the_ends():
    assert gamma_star(0.0, 1.0, 2.0, 1.0) == 0.0 and gamma_star(1.0, 1.0, 2.0, 0.0) == 0.0
    assert lecture_lambda(0.0, 1.0, 2.0, 1.0) == 0.0
    assert radius_B(0.0, 1.0) == math.inf
    assert gamma_star_drift(math.inf, 1.0, 2.0, 1.0) == 0.0  # no drift: every γ
    assert gamma_star_drift(0.0, 1.0, 2.0, 1.0) == math.inf  # no safe ball: none
    assert gamma_star_drift(1.0, 1.0, 2.0, 0.0) == 0.0  # nothing to fit
