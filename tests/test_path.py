"""``theory.path``: the path-length theorem's numbers (THEORY.md §8–§9), written out here
from the text, and its relation to the lecture's (direct tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck.theory.lecture import gamma_star
from ntkcheck.theory.path import (
    path_bound_at,
    path_gamma_star,
    path_gamma_star_drift,
    path_gap_D,
    path_radius,
)

from .conftest import FORMULA_REL as REL
from .conftest import THEOREM_CASES as CASES


@pytest.mark.parametrize(("beta", "smin", "smax", "L0"), CASES)
def test_the_formulas_of_section_9(beta, smin, smax, L0):
    r0 = math.sqrt(2 * L0)
    g = 5.0
    assert path_radius(g, smin, L0) == pytest.approx(2 * r0 / (g * smin), rel=REL)
    gp = 4 * beta * r0 / smin**2  # = 4√2·β·√L0/σ_min²
    assert path_gamma_star(beta, smin, L0) == pytest.approx(gp, rel=REL)
    h = 0.3
    D = (4 / 3) * h * (2 * smax + h) * r0 / smin**2  # §8, C5
    assert path_gap_D(h, smin, smax, L0) == pytest.approx(D, rel=REL)


@pytest.mark.parametrize(("beta", "smin", "smax", "L0"), CASES)
def test_gamma_star_p_is_where_R_p_reaches_the_safe_radius(beta, smin, smax, L0):
    """R_p(γ*_p) = ρ* = σ_min/(2β); the drift form agrees; γ*/γ*_p = 2κ + 1."""
    gp = path_gamma_star(beta, smin, L0)
    rho = smin / (2 * beta)
    assert path_radius(gp, smin, L0) == pytest.approx(rho, rel=1e-13)
    assert path_gamma_star_drift(rho, smin, L0) == pytest.approx(gp, rel=1e-13)
    assert gamma_star(beta, smin, smax, L0) / gp == pytest.approx(2 * smax / smin + 1, rel=1e-13)


def test_the_time_resolved_bound_and_the_ends():
    r = np.array([2.0, 1.5, 0.0])
    np.testing.assert_allclose(path_bound_at(4.0, 0.5, 2.0, r), 2 * (2.0 - r) / 2.0, rtol=REL)
    assert path_gamma_star(0.0, 1.0, 1.0) == 0.0 and path_gamma_star(1.0, 1.0, 0.0) == 0.0
    assert path_gamma_star_drift(math.inf, 1.0, 1.0) == 0.0
    assert path_gamma_star_drift(0.0, 1.0, 1.0) == math.inf
