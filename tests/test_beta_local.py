"""Local β against an independent power iteration over the whole third-order tensor."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.models.activations import get_activation
from ntkcheck.models.two_layer import TwoLayerNetwork
from ntkcheck.report.document import document

# test-local σ' that accept complex arguments: the Hessian of f(x_j) by complex step on J
COMPLEX_SIGMA_PRIME = {
    "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
    "sin": np.cos,
    "softplus": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "quadratic": lambda z: z,
}


def _hessians(X, W, a, s, name, h=1e-30):
    """H[j] = ∇²_θ f(x_j) (P × P), from the analytic J by complex step (independent of ntkcheck)."""
    sp = COMPLEX_SIGMA_PRIME[name]
    N, d = W.shape

    def jac(Wc):
        S = s * sp(X @ Wc.T) * a
        return (S[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)

    P = N * d
    H = np.empty((X.shape[0], P, P))
    for k in range(P):
        E = np.zeros(P, dtype=complex)
        E[k] = 1j * h
        H[:, :, k] = jac(W + E.reshape(N, d)).imag / h
    return H


def _tensor_norm(H, rng, restarts=300, iters=300):
    """max_{‖U‖=‖V‖=1} ‖(Uᵀ H_j V)_j‖ by alternating power iteration over the whole tensor."""
    best = 0.0
    P = H.shape[1]
    for _ in range(restarts):
        U, V = rng.standard_normal(P), rng.standard_normal(P)
        U /= np.linalg.norm(U)
        V /= np.linalg.norm(V)
        for _ in range(iters):
            t = np.einsum("p,jpq,q->j", U, H, V)
            w = t / np.linalg.norm(t)
            M = np.einsum("j,jpq->pq", w, H)
            U = M @ V
            U /= np.linalg.norm(U)
            V = M.T @ U
            V /= np.linalg.norm(V)
        best = max(best, float(np.linalg.norm(np.einsum("p,jpq,q->j", U, H, V))))
    return best


@pytest.mark.parametrize("name", ["tanh", "sin", "softplus", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1])
def test_local_beta_matches_whole_tensor_power_iteration(name, seed):
    rng = np.random.default_rng(seed)
    n, d, N, s = 5, 2, 3, 0.8
    X = rng.standard_normal((n, d)) * 1.5
    W = rng.standard_normal((N, d))
    a = rng.choice([-1.0, 1.0], size=N)
    net = TwoLayerNetwork(W=W, a=a, s=s, activation=get_activation(name))
    reference = _tensor_norm(_hessians(X, W, a, s, name), np.random.default_rng(100 + seed))
    ours = net.local_beta(X, seed=seed)
    assert ours.converged
    assert ours.value == pytest.approx(reference, rel=0.01)
    # attained by unit vectors, so never above the true maximum (up to rounding)
    assert ours.value <= reference * (1 + 1e-9)
    bounds = net.beta_bounds(X)
    assert ours.value <= min(bounds.frobenius, bounds.operator) * (1 + 1e-12)


def test_identity_has_zero_local_beta():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 3))
    net = TwoLayerNetwork(rng.standard_normal((5, 3)), np.ones(5), 1.0, get_activation("identity"))
    assert net.local_beta(X).value == 0.0


def test_local_certificate_is_labelled_an_estimate(capsys):
    import json

    from ntkcheck.cli import main

    assert main(["certify", "-f", "json", "--beta-local"]) == 0
    est = json.loads(capsys.readouterr().out)["results"][0]["estimate"]
    assert est["beta_method"] == "analytic" and 0 < est["beta_local"] < est["beta"]
    assert est["beta_local_info"]["converged"] is True
    from ntkcheck import certify_spec, example_spec

    r = certify_spec(example_spec({"certify.beta": "local"}))
    assert r.estimate.beta_method == "local" and r.estimate.beta == r.estimate.beta_local
    assert r.certificate.rigorous is False
    assert "an estimate" in document([r])["results"][0]["certificate"]["message"]
    assert r.certificate.gamma_star < certify_spec(example_spec()).certificate.gamma_star


def test_local_beta_of_kinked_activation_is_refused_or_infinite():
    from ntkcheck import SpecError, certify_spec, example_spec

    with pytest.raises(SpecError, match=r"certify\.beta: local needs a smooth activation"):
        example_spec({"certify.beta": "local", "model.activation": "relu"})
    r = certify_spec(example_spec({"model.activation": "relu"}), with_local_beta=True)
    assert r.estimate.beta_local == np.inf  # reported beside the flip bound, never used
    assert r.estimate.measurement.drift.kind == "flip_count"
