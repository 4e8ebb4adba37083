"""Each analytic β bound dominates the Jacobian's difference quotient (property test)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.models.activations import get_activation
from ntkcheck.models.two_layer import TwoLayerNetwork

from .conftest import explicit_jacobian

SMOOTH_NAMES = [
    "tanh",
    "sigmoid",
    "softplus",
    "erf",
    "gelu",
    "silu",
    "sin",
    "cos",
    "elu",
    "quadratic",
]


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(SMOOTH_NAMES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    d=st.integers(1, 4),
    N=st.integers(1, 6),
    s=st.floats(0.01, 10.0),
    step=st.sampled_from([1e-4, 1e-2, 1.0, 10.0]),
)
def test_beta_bounds_dominate_difference_quotients(name, seed, n, d, N, s, step):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0)
    W = rng.standard_normal((N, d))
    a = rng.choice([-1.0, 1.0], size=N)
    net = TwoLayerNetwork(W=W, a=a, s=s, activation=get_activation(name))
    W2 = W + step * rng.standard_normal((N, d))
    dJ = explicit_jacobian(net, X, W2) - explicit_jacobian(net, X, W)
    quotient = np.linalg.norm(dJ, 2) / np.linalg.norm(W2 - W)
    b = net.beta_bounds(X)
    slack = 1 + 1e-9  # rounding in the quotient
    assert quotient <= b.frobenius * slack
    assert quotient <= b.operator * slack
    assert quotient <= b.lecture * slack
    assert b.best[1] == min(b.frobenius, b.operator)


def test_bounds_formulas_on_a_known_matrix():
    """β bounds of THEORY.md §6 for X with rows (3,4) and (0,1): ‖x‖⁴ = 625, 1."""
    X = np.array([[3.0, 4.0], [0.0, 1.0]])
    net = TwoLayerNetwork(W=np.zeros((2, 2)), a=np.ones(2), s=0.5, activation=get_activation("sin"))
    b = net.beta_bounds(X)
    assert b.frobenius == pytest.approx(0.5 * np.sqrt(625 + 1))
    assert b.operator == pytest.approx(0.5 * 5 * np.linalg.norm(X, 2))
    assert b.lecture == pytest.approx(0.5 * 26)


def test_kinked_activation_has_infinite_beta():
    X = np.eye(2)
    net = TwoLayerNetwork(W=np.ones((2, 2)), a=np.ones(2), s=1.0, activation=get_activation("relu"))
    assert np.isinf(net.beta_bounds(X).best[1])
