"""The model conformance suite ``check_model``, in the spirit of sklearn's ``check_estimator``.

Every family must pass it (``tests/test_conformance.py`` runs it on each). On a
small problem it checks, against computations that share no code with the
family's structured paths:

- ``forward`` and ``linearize(...).f`` agree; θ0 round-trips through ``theta0``;
- jvp and vjp are adjoint, ⟨J v, r⟩ = ⟨v, Jᵀ r⟩; a batched vjp equals its columns;
- ``gram()`` and the linearization's Gram equal a dense J Jᵀ whose columns
  come from central finite differences of ``forward`` (O(h²) truncation);
- ``gram_operator`` (cached and not) equals ``gram() @ v``;
- ``drift_gram`` equals the Gram of the finite-difference Jacobians' difference;
- the drift bound h(ρ) dominates ‖J_θ − J0‖_op on random points of the ball
  and on points found by projected ascent (THEORY.md §11);
- the model pickles, and the copy computes the same outputs;
- the ``gram`` memory plan bounds the peak traced while forming K0.
"""

from __future__ import annotations

import math
import pickle
import tracemalloc
from dataclasses import dataclass

import numpy as np

from .models.protocol import Model


@dataclass(frozen=True)
class Conformance:
    """What ``check_model`` measured: the worst relative errors and the drift slack."""

    adjoint_error: float
    gram_error: float
    operator_error: float
    drift_gram_error: float
    drift_ratio: float  # max measured ‖J_θ − J0‖ / h(ρ) over the search (≤ 1 passes)
    peak_ratio: float  # traced peak / planned peak (≤ 1 passes)


def _fd_jacobian(model: Model, X: np.ndarray, theta: np.ndarray, h: float) -> np.ndarray:
    """Dense J (n × P) by central differences of ``forward``: error O(h²‖∂³f‖) + O(ε/h)."""
    P = theta.size
    J = np.empty((X.shape[0], P))
    for k in range(P):
        e = np.zeros(P)
        e[k] = h
        J[:, k] = (model.forward(X, theta + e) - model.forward(X, theta - e)) / (2.0 * h)
    return J


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b))) / scale


def _op_norm_sq(G: np.ndarray) -> float:
    return max(float(np.linalg.eigvalsh(G)[-1]), 0.0)


def check_model(
    model: Model,
    X: np.ndarray,
    *,
    radii: tuple[float, ...] = (1e-3, 1e-2, 1e-1),
    seed: int = 0,
    fd_step: float = 1e-5,
    fd_tol: float = 1e-6,
    restarts: int = 8,
    ascent_steps: int = 20,
    smooth: bool = True,
) -> Conformance:
    """Run the conformance checks on ``model`` at inputs ``X``; raise AssertionError on failure.

    ``fd_tol`` bounds the finite-difference Jacobian's relative error (central
    differences with step h: truncation ≈ h²·|f'''|/6, rounding ≈ ε·|f|/h; at
    h = 1e-5 both are below 1e-8 for O(1) inputs and weights, so 1e-6 leaves
    two decades of margin). ``smooth=False`` (relu-like families) skips the
    finite-difference checks, whose steps may straddle a kink, and compares
    with the Gram of the model's own Jacobian-vector products instead.
    """
    rng = np.random.default_rng(seed)
    n, P = X.shape[0], model.n_params
    theta0 = model.theta0.copy()
    lin = model.linearize(X)
    f = model.forward(X)
    assert np.allclose(lin.f, f, rtol=1e-12, atol=1e-14 * max(1.0, float(np.abs(f).max()))), (
        "linearize(X).f differs from forward(X)"
    )
    assert np.array_equal(model.forward(X, theta0), f), "forward(X, theta0) differs from forward(X)"

    # adjointness of the linearization's products
    v, r = rng.standard_normal((P,)), rng.standard_normal((n,))
    jv, jtr = lin.jvp(v), lin.vjp(r)
    scale = max(float(np.linalg.norm(jv) * np.linalg.norm(r)), 1e-300)
    adj = abs(float(jv @ r) - float(v @ jtr)) / scale
    R = rng.standard_normal((n, 3))
    batched = lin.vjp(R)
    assert batched.shape == (P, 3), f"vjp of an (n, 3) block has shape {batched.shape}"
    for c in range(3):
        assert np.allclose(batched[:, c], lin.vjp(R[:, c]), rtol=1e-12, atol=1e-14), (
            "a batched vjp differs from its columns"
        )
    assert adj <= 1e-12, f"jvp and vjp are not adjoint (relative error {adj:.2e})"
    Vb = rng.standard_normal((P, 2))
    assert np.allclose(lin.jvp(Vb)[:, 1], lin.jvp(Vb[:, 1]), rtol=1e-12, atol=1e-14), (
        "a batched jvp differs from its columns"
    )

    # the Gram against a dense Jacobian that shares no code with the structured path
    if smooth:
        J = _fd_jacobian(model, X, theta0, fd_step)
    else:
        J = np.stack([lin.jvp(np.eye(P)[k]) for k in range(P)], axis=1)
    K_ref = J @ J.T
    K = model.gram(X)
    gram_err = max(_rel(K, K_ref), _rel(lin.gram(), K_ref))
    assert gram_err <= (fd_tol if smooth else 1e-12), f"gram() differs from J Jᵀ by {gram_err:.2e}"
    assert np.array_equal(K, K.T), "gram() is not exactly symmetric"

    # matrix-free products
    w = rng.standard_normal((n,))
    op_err = max(_rel(model.gram_operator(X, cache=c)(w), K @ w) for c in (True, False))
    op_err = float(op_err)
    assert op_err <= 1e-10, f"gram_operator differs from gram() @ v by {op_err:.2e}"

    # the Gram of a Jacobian difference
    theta1 = theta0 + 0.05 * rng.standard_normal(P) / math.sqrt(P)
    lin1 = model.linearize(X, theta1)
    if smooth:
        dJ = _fd_jacobian(model, X, theta1, fd_step) - J
        dg_err = _rel(lin1.drift_gram(lin), dJ @ dJ.T)
        assert dg_err <= 1e3 * fd_tol, f"drift_gram differs from (ΔJ)(ΔJ)ᵀ by {dg_err:.2e}"
    else:
        dg_err = 0.0

    # rigour by search (THEORY.md §11): h(ρ) ≥ ‖J_θ − J0‖ inside the ball
    drift = model.drift(X)
    ratio = 0.0
    for rho in radii:
        bound = drift.h(rho)
        if not math.isfinite(bound):
            continue
        for _ in range(restarts):
            u = rng.standard_normal(P)
            theta = theta0 + rho * u / np.linalg.norm(u)
            for _step in range(ascent_steps):
                L = model.linearize(X, theta)
                G = L.drift_gram(lin)
                lam, V = np.linalg.eigh(G)
                measured = math.sqrt(max(float(lam[-1]), 0.0))
                ratio = max(ratio, measured / bound if bound > 0 else (math.inf if measured else 0))
                # ‖J_θ − J0‖ = qᵀ(J_θ − J0)v for its top singular pair (q, v); its gradient
                # in θ is Σ_j q_j ∇²f(x_j; θ) v = d/dε J_{θ+εv}ᵀ q (a central difference
                # of vjp) for smooth models; for relu-like ones (J piecewise constant) the
                # right singular vector v itself, which moves θ across activation changes
                q = V[:, -1]
                v = L.vjp(q) - lin.vjp(q)
                v /= max(np.linalg.norm(v), 1e-300)
                g = v
                if smooth:
                    eps = 1e-5 * rho
                    g = model.linearize(X, theta + eps * v).vjp(q)
                    g = (g - model.linearize(X, theta - eps * v).vjp(q)) / (2.0 * eps)
                step = theta - theta0 + 0.5 * rho * g / max(np.linalg.norm(g), 1e-300)
                theta = theta0 + rho * step / max(np.linalg.norm(step), 1e-300)
    assert ratio <= 1.0 + 1e-9, f"drift bound exceeded: ‖J_θ − J0‖ = {ratio:.6f}·h(ρ)"

    # pickling
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.forward(X), f), "the unpickled model computes another f"

    assert model.gram_flops(n) >= n * n, "gram_flops: K0 has n² entries, each a product"

    # the memory plan bounds the traced peak of forming K0
    tracemalloc.start()
    tracemalloc.reset_peak()
    model.gram(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    planned = model.peak_bytes("gram", n)
    assert peak <= planned, f"gram() traced {peak:,} bytes above its plan of {planned:,}"
    return Conformance(adj, gram_err, op_err, dg_err, ratio, peak / planned)
