"""σ', σ'' and sup|σ''| of every activation against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from ntkcheck.models.activations import ACTIVATIONS, get_activation

from .conftest import COMPLEX_SIGMA, SMOOTH

Z = np.linspace(-6.0, 6.0, 2001)
Z = Z[np.abs(Z) > 1e-3]  # away from kinks at 0


@pytest.mark.parametrize("name", SMOOTH)
def test_sigma_and_derivative_match_complex_step(name):
    act = get_activation(name)
    ref = COMPLEX_SIGMA[name]
    h = 1e-30
    np.testing.assert_allclose(act.sigma(Z), ref(Z.astype(complex)).real, rtol=1e-13, atol=1e-13)
    # complex step is exact to rounding: σ'(z) = Im σ(z + ih)/h
    np.testing.assert_allclose(act.sigma_prime(Z), ref(Z + 1j * h).imag / h, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_second_derivative_is_derivative_of_first(name):
    act = get_activation(name)
    h = 1e-5  # central difference: error ≈ h²/6·|σ''''| ≲ 1e-10
    fd = (act.sigma_prime(Z + h) - act.sigma_prime(Z - h)) / (2 * h)
    np.testing.assert_allclose(act.sigma_second(Z), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if ACTIVATIONS[n].smooth])
def test_lipschitz_constant_is_sup_of_second_derivative(name):
    """Declared sup|σ''| equals the maximum found numerically (grid, then refined)."""
    act = get_activation(name)
    grid = np.linspace(-20, 20, 400_001)
    vals = np.abs(act.sigma_second(grid))
    k = int(np.argmax(vals))
    declared = act.lipschitz_derivative
    if name == "elu":  # sup e^z over z < 0 is approached at 0⁻, not attained
        assert vals.max() <= declared
        assert vals.max() >= declared * (1 - 1e-4)
        return
    if declared == 0.0:
        assert vals.max() == 0.0
        return
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = minimize_scalar(
        lambda z: -abs(float(act.sigma_second(np.array([z]))[0])),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert -best.fun == pytest.approx(declared, rel=1e-9)
    assert vals.max() <= declared * (1 + 1e-12)


def test_table_values_of_theory_md():
    expected = {
        "identity": 0.0,
        "tanh": 0.769800,
        "sigmoid": 0.096225,
        "softplus": 0.25,
        "erf": 0.967883,
        "gelu": 0.797885,
        "silu": 0.5,
        "sin": 1.0,
        "cos": 1.0,
        "elu": 1.0,
        "quadratic": 1.0,
    }
    for name, value in expected.items():
        assert ACTIVATIONS[name].lipschitz_derivative == pytest.approx(value, abs=1e-6)
    for name in ("relu", "leaky_relu", "abs"):
        assert math.isinf(ACTIVATIONS[name].lipschitz_derivative)
        assert not ACTIVATIONS[name].smooth
    assert get_activation("swish") is ACTIVATIONS["silu"]


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "quadratic"])
def test_sup_of_derivative(name):
    """sup|σ'| (THEORY.md §10) against a fine grid and a bounded optimizer near the grid's best."""
    from scipy.optimize import minimize_scalar

    from ntkcheck.models.activations import SUP_PRIME

    act = get_activation(name)
    z = np.linspace(-30.0, 30.0, 600_001)
    values = np.abs(act.sigma_prime(z))
    k = int(np.argmax(values))
    res = minimize_scalar(
        lambda t: -abs(float(act.sigma_prime(np.array([t]))[0])),
        bounds=(z[max(k - 1, 0)], z[min(k + 1, z.size - 1)]),
        method="bounded",
        options={"xatol": 1e-12},
    )
    best = max(float(values[k]), -res.fun)
    assert SUP_PRIME[name] >= best * (1 - 1e-15)  # an upper bound
    assert SUP_PRIME[name] <= best * (1 + 1e-10)  # and a tight one
