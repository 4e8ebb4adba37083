"""σ, σ', σ'', sup|σ'| and sup|σ''| of every activation against independent computations
(complex step, finite differences, optimizers, and mpmath at 40 digits)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from ntkcheck.models.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, get_activation

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


# --- σ, σ', σ'' against mpmath at 40 digits, in the evaluation models the bounds assume ---

_U = 2.0**-53


def _logistic_mp(z):
    return 1 / (1 + mp.exp(-z))


def _sign_mp(z):
    return mp.mpf(mp.sign(z))


#: (σ, σ', σ'') written from the formulas, independently of ntkcheck (σ'(0) by the
#: library's conventions at the kinks: relu 0, abs 0, leaky_relu its slope).
_MP = {
    "identity": (lambda z: z, lambda z: mp.mpf(1), lambda z: mp.mpf(0)),
    "tanh": (mp.tanh, lambda z: mp.sech(z) ** 2, lambda z: -2 * mp.tanh(z) * mp.sech(z) ** 2),
    "sigmoid": (
        _logistic_mp,
        lambda z: _logistic_mp(z) * _logistic_mp(-z),
        lambda z: (
            _logistic_mp(z) * _logistic_mp(-z) * _logistic_mp(-z)
            - _logistic_mp(z) ** 2 * _logistic_mp(-z)
        ),
    ),
    "softplus": (
        lambda z: mp.log1p(mp.exp(z)),
        _logistic_mp,
        lambda z: _logistic_mp(z) * _logistic_mp(-z),
    ),
    "erf": (
        mp.erf,
        lambda z: 2 / mp.sqrt(mp.pi) * mp.exp(-z * z),
        lambda z: -4 / mp.sqrt(mp.pi) * z * mp.exp(-z * z),
    ),
    "gelu": (
        lambda z: z * mp.ncdf(z),
        lambda z: mp.ncdf(z) + z * mp.npdf(z),
        lambda z: mp.npdf(z) * (2 - z * z),
    ),
    "silu": (
        lambda z: z * _logistic_mp(z),
        lambda z: _logistic_mp(z) + z * _logistic_mp(z) * _logistic_mp(-z),
        lambda z: (
            _logistic_mp(z) * _logistic_mp(-z) * (2 + z * (_logistic_mp(-z) - _logistic_mp(z)))
        ),
    ),
    "sin": (mp.sin, mp.cos, lambda z: -mp.sin(z)),
    "cos": (mp.cos, lambda z: -mp.sin(z), lambda z: -mp.cos(z)),
    "elu": (
        lambda z: z if z > 0 else mp.expm1(z),
        lambda z: mp.mpf(1) if z > 0 else mp.exp(z),
        lambda z: mp.mpf(0) if z > 0 else mp.exp(z),
    ),
    "quadratic": (lambda z: z * z / 2, lambda z: z, lambda z: mp.mpf(1)),
    "relu": (lambda z: max(z, 0), lambda z: mp.mpf(z > 0), lambda z: mp.mpf(0)),
    "leaky_relu": (
        lambda z: z if z > 0 else mp.mpf(LEAKY_RELU_SLOPE) * z,
        lambda z: mp.mpf(1) if z > 0 else mp.mpf(LEAKY_RELU_SLOPE),
        lambda z: mp.mpf(0),
    ),
    "abs": (abs, _sign_mp, lambda z: mp.mpf(0)),
}

#: [−45, 45] every 0.025 (silu's old σ' was worst near 36.7), the tails out to ±700
#: geometrically (down to 1e-300), and 0.
_WIDE = np.unique(
    np.concatenate(
        [
            np.linspace(-45.0, 45.0, 3601),
            np.geomspace(1e-300, 700.0, 300),
            -np.geomspace(1e-300, 700.0, 300),
            [0.0, 36.73, -36.73],
        ]
    )
)


def _worst_ulps(computed, exact, scale):
    """max_z |ĉ(z) − c(z)| / (u·scale(z)) and the z where it is reached."""
    worst, at = 0.0, math.nan
    for z, c, e, s in zip(_WIDE, computed, exact, scale, strict=True):
        err = float(abs(mp.mpf(float(c)) - e) / (mp.mpf(_U) * s))
        if err > worst:
            worst, at = err, float(z)
    return worst, at


def test_reference_table_covers_every_activation():
    assert set(_MP) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_evaluation_within_the_stated_ulp_models(name):
    """Every way the library evaluates σ, σ', σ'' stays inside the model the bounds use:

    σ to EVAL_ULPS·u·(|σ̂| + 1) (absolute + relative, docs/theory-mlp.md §5); σ' to
    EVAL_ULPS·u·max(1, sup|σ'|) absolute (linalg.rigorous's model, D = max(1, S₁)),
    exactly where the library says σ' is exact; σ'' (only the local-β estimates read
    it) to EVAL_ULPS·u·max(1, sup|σ''|), the model stated in activations.py.
    """
    from ntkcheck.models.mlp.rounding import EVAL_ULPS, EXACT_PRIME
    from ntkcheck.models.two_layer.rounding import DERIVATIVE_ULPS

    act = get_activation(name)
    ref = _MP[name]
    with mp.workdps(40):
        exact = [[f(mp.mpf(float(z))) for z in _WIDE] for f in ref]
        value, prime = act.value_and_derivative(_WIDE.copy())
        overwritten = act.derivative_overwrite(_WIDE.copy())
        one = np.ones_like(_WIDE)
        for computed in (act.sigma(_WIDE), value):
            worst, at = _worst_ulps(computed, exact[0], np.abs(computed) + 1.0)
            assert worst <= EVAL_ULPS, f"σ: {worst:.2f} units at z = {at}"
        if name in EXACT_PRIME:
            for computed in (act.sigma_prime(_WIDE), prime, overwritten):
                assert _worst_ulps(computed, exact[1], one)[0] == 0.0
        else:
            d1 = max(1.0, act.derivative_bound)
            for computed in (act.sigma_prime(_WIDE), prime, overwritten):
                worst, at = _worst_ulps(computed, exact[1], d1 * one)
                assert worst <= DERIVATIVE_ULPS, f"σ': {worst:.2f} units at z = {at}"
        d2 = max(1.0, act.lipschitz_derivative) if act.smooth else 1.0
        worst, at = _worst_ulps(act.sigma_second(_WIDE), exact[2], d2 * one)
        assert worst <= EVAL_ULPS, f"σ'': {worst:.2f} units at z = {at}"


def test_silu_derivatives_do_not_lose_z_ulps_to_one_minus_p():
    """p + z·p·(1 − p) lost |z|·u to 1.0 − fl(p) (36u at z = 36.73); with q = logistic(−z):

    p̂ = p(1 + 3θ) (exp, +, /), q̂ = q(1 + 4θ) (one × more), so z·p̂·q̂ is off by ≤ 9u·zpq ≤
    9u·0.224 = 2u (max_z z·p·q ≈ 0.224), p̂ by ≤ 3u, and the sum rounds by ≤ u (σ' < 2):
    ≤ 6u (measured 2.8u). σ'' = p̂q̂(2 + z(1 − 2p̂)): pq ≤ 1/4 off by 8u·pq ≤ 2u, 1 − 2p̂ by
    7u times z·pq ≤ 0.224, and three roundings ≤ 1.5u: ≤ 8u (measured 2.2u)."""
    act = get_activation("silu")
    z = np.linspace(-45.0, 45.0, 1801)
    checks = ((act.sigma_prime, _MP["silu"][1], 6.0), (act.sigma_second, _MP["silu"][2], 8.0))
    with mp.workdps(40):
        for fn, ref, bound in checks:
            for zi, c in zip(z, fn(z), strict=True):
                err = abs(mp.mpf(float(c)) - ref(mp.mpf(float(zi)))) / _U
                assert err <= bound, (fn.__name__, float(zi), float(err))


def _sup_silu_prime_mp():
    root = mp.findroot(lambda z: 2 + z * (1 - 2 * _logistic_mp(z)), 2.4)
    return _MP["silu"][1](root)


@pytest.mark.parametrize(
    ("name", "kind", "exact"),
    [
        ("erf", "sup_prime", lambda: 2 / mp.sqrt(mp.pi)),
        ("gelu", "sup_prime", lambda: mp.ncdf(mp.sqrt(2)) + mp.exp(-1) / mp.sqrt(mp.pi)),
        ("silu", "sup_prime", _sup_silu_prime_mp),
        ("tanh", "lip", lambda: 4 / (3 * mp.sqrt(3))),
        ("sigmoid", "lip", lambda: 1 / (6 * mp.sqrt(3))),
        ("erf", "lip", lambda: 4 / mp.sqrt(2 * mp.pi) * mp.exp(mp.mpf(-0.5))),
        ("gelu", "lip", lambda: 2 / mp.sqrt(2 * mp.pi)),
    ],
)
def test_irrational_constants_are_rounded_up(name, kind, exact):
    """sup|σ'| and sup|σ''| enter the bounds as upper bounds: each stored double is at or
    above the exact value (40 digits) and within 1e-11 of it (fl(2/√π) was below)."""
    from ntkcheck.models.activations import SUP_PRIME

    act = get_activation(name)
    stored = SUP_PRIME[name] if kind == "sup_prime" else act.lipschitz_derivative
    with mp.workdps(40):
        value = exact()
        assert mp.mpf(stored) >= value
        assert mp.mpf(stored) <= value * (1 + mp.mpf(1e-11))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_exact_constant_is_exact(name):
    """The rational entries (1, 0.25, 0.5, …) and the infinite ones need no rounding."""
    from ntkcheck.models.activations import SUP_PRIME

    irrational_sup = {"erf", "gelu", "silu"}
    irrational_lip = {"tanh", "sigmoid", "erf", "gelu"}
    if name not in irrational_sup:
        assert SUP_PRIME[name] in (0.25, 1.0, math.inf)
    if name not in irrational_lip:
        assert ACTIVATIONS[name].lipschitz_derivative in (0.0, 0.25, 0.5, 1.0, math.inf)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_reduce_then_derivative_equals_sigma_and_sigma_prime(name):
    """The in-place path (tanh, relu) gives σ' and reduce(σ) exactly as the plain one,
    kinks included (relu'(0) = 0)."""
    act = get_activation(name)
    z = np.concatenate([np.linspace(-6.0, 6.0, 41), [0.0, -0.0]])
    w = np.linspace(-1.0, 1.0, z.size)
    out, prime = act.reduce_then_derivative(z.copy(), lambda v: v @ w)
    assert out == pytest.approx(float(act.sigma(z) @ w), rel=1e-15, abs=1e-15)
    np.testing.assert_array_equal(prime, act.sigma_prime(z))
