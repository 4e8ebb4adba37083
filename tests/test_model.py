"""The structured Gram, JVP and VJP against dense Jacobians built only here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ntkcheck.models.two_layer.network as model_mod
from ntkcheck.linalg import dense
from ntkcheck.models.activations import get_activation
from ntkcheck.models.two_layer import TwoLayerNetwork, output_factor

from .conftest import (
    SMOOTH,
    explicit_jacobian,
    random_network,
    reference_forward,
    reference_jacobian,
)


@pytest.mark.parametrize("name", SMOOTH)
def test_gram_equals_dense_jacobian_product(name):
    net, X = random_network(name, n=5, d=3, N=6)
    J = reference_jacobian(X, net.W, net.a, net.s, name)
    K_ref = J @ J.T
    K = net.gram(X)
    assert np.max(np.abs(K - K_ref)) <= 1e-10 * np.max(np.abs(K_ref))
    np.testing.assert_array_equal(K, K.T)


@pytest.mark.parametrize("name", SMOOTH)
def test_forward_jvp_vjp_match_dense(name):
    net, X = random_network(name, n=5, d=3, N=6, seed=1)
    J = reference_jacobian(X, net.W, net.a, net.s, name)
    from .conftest import COMPLEX_SIGMA

    f_ref = reference_forward(X, net.W, net.a, net.s, COMPLEX_SIGMA[name]).real
    np.testing.assert_allclose(net.forward(X), f_ref, rtol=1e-13, atol=1e-14)
    rng = np.random.default_rng(2)
    V = rng.standard_normal(net.W.shape)
    r = rng.standard_normal(X.shape[0])
    scale = np.abs(J).max() * np.sqrt(J.size)
    assert np.max(np.abs(net.jvp(X, V) - J @ V.ravel())) <= 1e-12 * scale * np.abs(V).max()
    assert np.max(np.abs(net.vjp(X, r).ravel() - J.T @ r)) <= 1e-12 * scale * np.abs(r).max()


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs"])
def test_gram_for_kinked_activations_matches_explicit_loops(name):
    net, X = random_network(name, n=6, d=4, N=9, seed=3)
    J = explicit_jacobian(net, X)
    np.testing.assert_allclose(net.gram(X), J @ J.T, rtol=1e-12, atol=1e-12)


def test_blocked_gram_equals_one_block(monkeypatch):
    """Several neuron blocks (and the in-place symmetrization) give the same K."""
    net, X = random_network("tanh", n=40, d=5, N=103, seed=4)
    K_one = net.gram(X)
    monkeypatch.setattr(model_mod, "BLOCK_VALUES", 40 * 7)  # blocks of 7 neurons
    K_blocks = net.gram(X)
    np.testing.assert_allclose(K_blocks, K_one, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(net.forward(X), net.forward(X, net.W), rtol=0, atol=0)
    J = explicit_jacobian(net, X)
    np.testing.assert_allclose(K_blocks, J @ J.T, rtol=1e-12, atol=1e-10)


def test_symmetrize_upper_in_blocks():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((37, 37))
    G = np.asfortranarray(np.triu(A))
    out = dense.symmetrize_upper(G.copy(order="F"), step=8)
    np.testing.assert_array_equal(out, np.triu(A) + np.triu(A, 1).T)


@pytest.mark.parametrize("scaling", ["standard", "ntk", "mean_field"])
def test_identity_activation_gives_linear_kernel(scaling):
    """σ = id: J is constant, K = s² N X Xᵀ and β = 0 (THEORY.md §6)."""
    rng = np.random.default_rng(6)
    n, d, N = 7, 4, 50
    X = rng.standard_normal((n, d))
    s = output_factor(scaling, N)
    net = TwoLayerNetwork(
        W=rng.standard_normal((N, d)),
        a=rng.choice([-1.0, 1.0], size=N),
        s=s,
        activation=get_activation("identity"),
    )
    np.testing.assert_allclose(net.gram(X), s * s * N * (X @ X.T), rtol=1e-12, atol=1e-12)
    b = net.beta_bounds(X)
    assert b.frobenius == b.operator == b.lecture == 0.0


def test_output_factors():
    assert output_factor("standard", 100) == 1.0
    assert output_factor("ntk", 100) == pytest.approx(0.1)
    assert output_factor("mean_field", 100) == pytest.approx(0.01)


def test_relu_kernel_tends_to_arc_cosine_limit():
    """Standard scaling, w ~ N(0, I_d): K/N → (x_j·x_k)(π − θ_jk)/(2π) (THEORY.md §6).

    Each entry of K/N is (x_j·x_k) times a mean of N Bernoulli products, whose
    standard deviation is at most 1/(2√N); we allow 6 of them.
    """
    rng = np.random.default_rng(7)
    n, d, N = 6, 3, 200_000
    X = rng.standard_normal((n, d))
    net = TwoLayerNetwork(
        W=rng.standard_normal((N, d)),
        a=rng.choice([-1.0, 1.0], size=N),
        s=1.0,
        activation=get_activation("relu"),
    )
    K = net.gram(X) / N
    G = X @ X.T
    norms = np.sqrt(np.diag(G))
    cos = np.clip(G / np.outer(norms, norms), -1.0, 1.0)
    limit = G * (math.pi - np.arccos(cos)) / (2 * math.pi)
    tol = 6 * np.abs(G) / (2 * math.sqrt(N)) + 1e-12
    assert np.all(np.abs(K - limit) <= tol)
    # and the estimate is not trivially loose: it is within 1/√N-order of the limit
    assert np.max(np.abs(K - limit)) > 0


def test_gram_is_positive_semidefinite():
    net, X = random_network("gelu", n=30, d=3, N=8, seed=8)  # P = 24 < n: singular
    lam = np.linalg.eigvalsh(net.gram(X))
    assert lam.min() >= -1e-12 * lam.max()
