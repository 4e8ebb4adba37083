"""The local β at θ0 of the deep network, by nested JVPs (THEORY.md §6, §10).

``β_loc = max_{‖u‖=‖v‖=1} ‖(uᵀ ∇²f(x_j) v)_j‖ = max_{u,v,‖q‖=1} uᵀ A_q v`` with
``A_q = Σ_j q_j ∇²f(x_j)``. Alternating maximization (each step optimal in one
variable, so the value never decreases):

    u ← A_q v/‖·‖,   v ← A_q u/‖·‖,   q ← T(u, v)/‖·‖,   T(u, v)_j = uᵀ∇²f(x_j) v,

from several random starts. ``A_q v`` is a forward-over-reverse Hessian-vector
product: the forward pass is differentiated along v (tangents Ż_k, Ḣ_k), then the
backward pass (tangents Ġ_k, Δ̇_k), and the gradient's tangent is weighted by q;
``T(u, v)`` reuses the tangents along u. Each costs O(n·Σ h_k h_{k+1}); the
passes at θ0 are shared by every step. An estimate, never a bound.

With C outputs (THEORY.md §14) the tensor has m = n·C rows: j runs over the rows
(sample, output) point-major, ``T(u, v)_{jc} = uᵀ∇²f_c(x_j) v`` and
``A_q = Σ_{jc} q_jc ∇²f_c(x_j)``; the forward tangents are per sample (n rows), the
backward ones per row (m rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..protocol import LocalBeta
from .passes import affine, matvec, output_signal, per_row, pullback, weight_grad
from .structure import Params, Structure

SWEEPS = 300
RESTARTS = 6
#: Starts with C > 1 outputs: the m-row tensor has more local maxima (6 starts fell 4–6%
#: short of a 30-start dense search in 2 of 32 small cases with C = 2..5; 12 in none).
RESTARTS_OUTPUTS = 12
TOL = 1e-9


@dataclass(frozen=True, eq=False)
class _Base:
    """Everything at θ0 the tangents reuse (k = 0..L−2 for the hidden layers)."""

    H: tuple[np.ndarray, ...]  # layer inputs H_0..H_{L−1} (n rows)
    D1: tuple[np.ndarray, ...]  # σ'(Z_k) (n rows)
    D2: tuple[np.ndarray, ...]  # σ''(Z_k) (n rows)
    G: tuple[np.ndarray, ...]  # ∂f_c/∂H_{k+1} per row (j, c) (m rows)
    Delta: tuple[np.ndarray, ...]  # ∂f_c/∂Z_k per row (j, c) (m rows)


def _base(X: np.ndarray, st: Structure, p: Params) -> _Base:
    L, alphas, act = st.depth, st.alphas, st.activation
    H = [np.ascontiguousarray(X, dtype=np.float64)]
    D1: list[np.ndarray] = []
    D2: list[np.ndarray] = []
    for k in range(L - 1):
        Z = affine(H[k], p.W[k], None if p.b is None else p.b[k], alphas[k])
        H.append(np.ascontiguousarray(act.sigma(Z)))
        D1.append(act.sigma_prime(Z))
        D2.append(act.sigma_second(Z))
    C, n = st.outputs, X.shape[0]
    G: list[np.ndarray] = [np.zeros(0)] * (L - 1)
    Delta: list[np.ndarray] = [np.zeros(0)] * (L - 1)
    for k in range(L - 2, -1, -1):
        if k == L - 2:
            G[k] = output_signal(p.W[L - 1], st.s * alphas[L - 1], n)
        else:
            G[k] = pullback(Delta[k + 1], p.W[k + 1], alphas[k + 1])
        Delta[k] = G[k] * per_row(D1[k], C)
    return _Base(tuple(H), tuple(D1), tuple(D2), tuple(G), tuple(Delta))


@dataclass(frozen=True, eq=False)
class _Tangent:
    """Tangents along a direction u: Ḣ_k (k = 0..L−1, Ḣ_0 = 0; n rows) and Δ̇_k (m rows)."""

    Hdot: tuple[np.ndarray, ...]
    Ddot: tuple[np.ndarray, ...]


def _tangent(st: Structure, p: Params, base: _Base, u: np.ndarray) -> _Tangent:
    L, alphas = st.depth, st.alphas
    Uw, Ub = st.split(u)
    n = base.H[0].shape[0]
    Hdot = [np.zeros_like(base.H[0])]
    Zdot: list[np.ndarray] = []
    for k in range(L - 1):
        Zd = affine(base.H[k], Uw[k], Ub.get(k), alphas[k])
        if k > 0:
            Zd += affine(Hdot[k], p.W[k], None, alphas[k])
        Zdot.append(Zd)
        Hdot.append(base.D1[k] * Zd)
    C = st.outputs
    Ddot: list[np.ndarray] = [np.zeros(0)] * (L - 1)
    for k in range(L - 2, -1, -1):
        if k == L - 2:
            rows = Uw[L - 1] if st.trained(L - 1) else np.zeros((C, st.sizes[L - 1]))
            Gd = output_signal(rows, st.s * alphas[L - 1], n)
        else:
            Gd = pullback(Ddot[k + 1], p.W[k + 1], alphas[k + 1])
            Gd = Gd + pullback(base.Delta[k + 1], Uw[k + 1], alphas[k + 1])
        Ddot[k] = Gd * per_row(base.D1[k], C) + base.G[k] * per_row(base.D2[k], C) * per_row(
            Zdot[k], C
        )
    return _Tangent(tuple(Hdot), tuple(Ddot))


def _by_sample(A: np.ndarray, C: int) -> np.ndarray:
    """Σ_c A[j·C + c] (n, w) for A (m, w); A itself for C = 1."""
    return A if C == 1 else A.reshape(-1, C, A.shape[1]).sum(axis=1)


def _hvp(st: Structure, base: _Base, tan: _Tangent, q: np.ndarray) -> np.ndarray:
    """``A_q u = Σ_{jc} q_jc ∇²f_c(x_j) u`` (P,) from the tangents along u."""
    L, alphas = st.depth, st.alphas
    C = st.outputs
    parts: list[np.ndarray] = []
    for k in st.trained_layers:
        if k == L - 1:
            if C == 1:
                parts.append((alphas[k] * st.s) * matvec(tan.Hdot[k].T, q))
            else:  # row c: α s Σ_j q_jc Ḣ_{L−1}[j]
                Q = q.reshape(-1, C)
                parts.append(((alphas[k] * st.s) * (Q.T @ tan.Hdot[k])).reshape(-1))
            if st.bias:
                parts.append(np.zeros(C))
            continue
        Dq = _by_sample(base.Delta[k] * q[:, None], C)
        Ddq = _by_sample(tan.Ddot[k] * q[:, None], C)
        block = weight_grad(Ddq, base.H[k], alphas[k])
        block += weight_grad(Dq, tan.Hdot[k], alphas[k])
        parts.append(block.reshape(-1))
        if st.bias:
            parts.append(Ddq.sum(axis=0))
    return np.concatenate(parts)


def _form(st: Structure, base: _Base, tan: _Tangent, v: np.ndarray) -> np.ndarray:
    """``T(u, v)_{jc} = vᵀ ∇²f_c(x_j) u`` (m,) from the tangents along u."""
    L, alphas = st.depth, st.alphas
    C = st.outputs
    Vw, Vb = st.split(v)
    out = np.zeros(base.H[0].shape[0] * C)
    for k in st.trained_layers:
        if k == L - 1:
            if C == 1:
                out += (alphas[k] * st.s) * matvec(tan.Hdot[k], Vw[k][0])
            else:
                out += ((alphas[k] * st.s) * (tan.Hdot[k] @ Vw[k].T)).reshape(-1)
            continue
        A1 = per_row(affine(base.H[k], Vw[k], None, alphas[k]), C)
        A2 = per_row(affine(tan.Hdot[k], Vw[k], None, alphas[k]), C)
        out += np.einsum("ji,ji->j", tan.Ddot[k], A1)
        out += np.einsum("ji,ji->j", base.Delta[k], A2)
        if st.bias:
            out += matvec(tan.Ddot[k], Vb[k])
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(x))
    return x / norm if norm > 0 else x


def hessian_form(
    X: np.ndarray, st: Structure, p: Params, u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """``(uᵀ ∇²f_c(x_j) v)_{jc}`` (m,) at the weights p (for tests and diagnostics)."""
    base = _base(X, st, p)
    return _form(st, base, _tangent(st, p, base, u), v)


def hessian_vector(
    X: np.ndarray, st: Structure, p: Params, q: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """``Σ_{jc} q_jc ∇²f_c(x_j) u`` (P,) at the weights p (for tests and diagnostics)."""
    base = _base(X, st, p)
    return _hvp(st, base, _tangent(st, p, base, u), q)


def local_beta(
    X: np.ndarray,
    st: Structure,
    p: Params,
    *,
    seed: int = 0,
    restarts: int | None = None,
    sweeps: int = SWEEPS,
    tol: float = TOL,
) -> LocalBeta:
    """β_loc at θ0 (THEORY.md §6's tensor norm) by alternating maximization with restarts.

    ``neuron`` is −1 (the deep tensor has no per-neuron blocks); ``extra`` gives
    the sample where |T(u, v)_{jc}| is largest for the best start (its point j).
    """
    if restarts is None:
        restarts = RESTARTS if st.outputs == 1 else RESTARTS_OUTPUTS
    rng = np.random.default_rng(seed)
    base = _base(X, st, p)
    P = st.n_params
    finals: list[float] = []
    best = (-1.0, False, -1)
    total_sweeps = 0
    for _ in range(restarts):
        u, v = _unit(rng.standard_normal(P)), _unit(rng.standard_normal(P))
        tan_u = _tangent(st, p, base, u)
        T = _form(st, base, tan_u, v)
        q = _unit(T)
        value, converged = float(np.linalg.norm(T)), False
        for _ in range(sweeps):
            u = _unit(_hvp(st, base, _tangent(st, p, base, v), q))
            tan_u = _tangent(st, p, base, u)
            v = _unit(_hvp(st, base, tan_u, q))
            T = _form(st, base, tan_u, v)
            q = _unit(T)
            new = float(np.linalg.norm(T))
            total_sweeps += 1
            if abs(new - value) <= tol * max(new, 1e-300):
                value, converged = new, True
                break
            value = new
        finals.append(value)
        if value > best[0]:
            best = (value, converged, int(np.argmax(np.abs(T))) // st.outputs)
    top = max(finals)
    spread = (top - min(finals)) / top if top > 0 else 0.0
    return LocalBeta(
        value=top,
        iterations=total_sweeps,
        converged=best[1],
        restarts=restarts,
        spread=spread if math.isfinite(spread) else 0.0,
        where="nested JVPs",
        extra={"sample": best[2]},
    )
