"""The local β at θ0 of a PyTorch module, by nested JVPs (THEORY.md §6, §10 "Any model").

``β_loc = max_{‖u‖=‖v‖=1} ‖(uᵀ ∇²f_i v)_i‖ = max_{u, v, ‖q‖=1} uᵀ A_q v`` over the m rows
f_i (m = n·C), ``A_q = Σ_i q_i ∇²f_i``. Alternating maximization (each step optimal in one
variable, so the value never decreases), from several random starts:

    u ← the eigenvector of A_q of largest |λ| (Lanczos),  v = sign(λ)·u,
    q ← T(u, v)/‖·‖,   T(u, v)_i = uᵀ∇²f_i v

(the inner maximum over (u, v) is exact for symmetric A_q: the mlp family's single power
step per q converged in hundreds of sweeps on a small CNN, this in about ten).

``A_q v = d/dε J_{θ+εv}ᵀ q`` is forward-over-reverse (``jvp`` of a ``vjp``) and
``T(u, v) = d/dε J_{θ+εu} v`` forward-over-forward (``jvp`` of a ``jvp``), both by blocks
of points (A_q is a sum over points, T a concatenation). An estimate, never a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import jvp, vmap

from ..protocol import LocalBeta
from .autodiff import pullback

#: The network (``network.TorchModel``: ``apply``, ``blocks``, ``rows_per_block``,
#: ``outputs``, ``theta``, ``n_params``), not imported here (no import circle).
TorchModel = Any

SWEEPS = 100
RESTARTS = 6
TOL = 1e-12
#: Lanczos steps (products with A_q) per sweep at most, and its relative residual.
LANCZOS_STEPS = 40
LANCZOS_TOL = 1e-13


def hessian_vector(
    model: TorchModel, x: torch.Tensor, theta: torch.Tensor, q: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """``A_q v = Σ_i q_i ∇²f_i(θ) v`` (P,): forward-over-reverse, by blocks of points."""
    C = model.outputs
    n = int(x.shape[0])
    Q = torch.as_tensor(q, dtype=theta.dtype)
    V = torch.as_tensor(v, dtype=theta.dtype)
    total = torch.zeros_like(theta)
    for b in model.blocks(n, model.rows_per_block(n)):
        xb, qb = x[b], Q[b.start * C : b.stop * C]

        def grad_q(t: torch.Tensor, xb: torch.Tensor = xb, qb: torch.Tensor = qb) -> torch.Tensor:
            _, pull = pullback(lambda s: model.apply(s, xb), t)
            return pull(qb)[0]  # type: ignore[no-any-return]

        total += jvp(grad_q, (theta,), (V,))[1]
    return total.to(torch.float64).numpy()


def hessian_form(
    model: TorchModel, x: torch.Tensor, theta: torch.Tensor, u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """``T(u, v)_i = uᵀ ∇²f_i(θ) v`` (m,): forward-over-forward, by blocks of points."""
    n = int(x.shape[0])
    U = torch.as_tensor(u, dtype=theta.dtype)
    V = torch.as_tensor(v, dtype=theta.dtype)
    parts = []
    for b in model.blocks(n, model.rows_per_block(n)):
        xb = x[b]

        def along_v(t: torch.Tensor, xb: torch.Tensor = xb) -> torch.Tensor:
            return jvp(lambda s: model.apply(s, xb), (t,), (V,))[1]  # type: ignore[no-any-return]

        parts.append(jvp(along_v, (theta,), (U,))[1])
    return torch.cat(parts).to(torch.float64).numpy()


def _units(A: np.ndarray) -> np.ndarray:
    """Each row of A divided by its norm (a zero row stays zero)."""
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, norms, out=np.zeros_like(A), where=norms > 0)


def _batched(
    model: TorchModel, x: torch.Tensor, theta: torch.Tensor, starts: int
) -> tuple[
    Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]
]:
    """``A_q v`` and ``T(u, v)`` for k starts at once (rows of Q, V / U, V), vmapped."""
    C = model.outputs
    n = int(x.shape[0])
    blocks = model.blocks(n, model.rows_per_block(n, starts))
    dtype = theta.dtype

    def hvp(Q: np.ndarray, V: np.ndarray) -> np.ndarray:
        Qt, Vt = torch.as_tensor(Q, dtype=dtype), torch.as_tensor(V, dtype=dtype)
        total = torch.zeros_like(Vt)
        for b in blocks:
            xb = x[b]

            def one(q: torch.Tensor, v: torch.Tensor, xb: torch.Tensor = xb) -> torch.Tensor:
                def grad_q(t: torch.Tensor) -> torch.Tensor:
                    _, pull = pullback(lambda s: model.apply(s, xb), t)
                    return pull(q)[0]  # type: ignore[no-any-return]

                return jvp(grad_q, (theta,), (v,))[1]  # type: ignore[no-any-return]

            total += vmap(one)(Qt[:, b.start * C : b.stop * C], Vt)
        return total.to(torch.float64).numpy()

    def form(U: np.ndarray, V: np.ndarray) -> np.ndarray:
        Ut, Vt = torch.as_tensor(U, dtype=dtype), torch.as_tensor(V, dtype=dtype)
        parts = []
        for b in blocks:
            xb = x[b]

            def one(u: torch.Tensor, v: torch.Tensor, xb: torch.Tensor = xb) -> torch.Tensor:
                def along_v(t: torch.Tensor) -> torch.Tensor:
                    return jvp(lambda s: model.apply(s, xb), (t,), (v,))[1]  # type: ignore[no-any-return]

                return jvp(along_v, (theta,), (u,))[1]  # type: ignore[no-any-return]

            parts.append(vmap(one)(Ut, Vt))
        return torch.cat(parts, dim=1).to(torch.float64).numpy()

    return hvp, form


def _top_eigen(
    hvp: Callable[[np.ndarray, np.ndarray], np.ndarray],
    Q: np.ndarray,
    U: np.ndarray,
    steps: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """For each start k, the eigenpair of A_{q_k} of largest |λ| by Lanczos from U[k]
    (full reorthogonalization; the products of all starts vmapped together), stopping
    when every start's Ritz residual is below tol·|λ|. Returns (λ (k,), unit vectors)."""
    k, P = U.shape
    steps = min(steps, P)
    basis = np.zeros((k, steps, P))
    alpha = np.zeros((k, steps))
    beta = np.zeros((k, steps))
    basis[:, 0] = _units(U)
    lam = np.zeros(k)
    vec = basis[:, 0].copy()
    for j in range(steps):
        w = hvp(Q, basis[:, j])
        alpha[:, j] = np.einsum("kp,kp->k", w, basis[:, j])
        w -= np.einsum(
            "kjp,kj->kp", basis[:, : j + 1], np.einsum("kjp,kp->kj", basis[:, : j + 1], w)
        )
        w -= np.einsum(
            "kjp,kj->kp", basis[:, : j + 1], np.einsum("kjp,kp->kj", basis[:, : j + 1], w)
        )
        norms = np.linalg.norm(w, axis=1)
        residual = np.zeros(k)
        for s in range(k):
            Tm = np.diag(alpha[s, : j + 1]) + np.diag(beta[s, :j], 1) + np.diag(beta[s, :j], -1)
            theta, S = np.linalg.eigh(Tm)
            top = int(np.argmax(np.abs(theta)))
            lam[s] = theta[top]
            vec[s] = S[:, top] @ basis[s, : j + 1]
            residual[s] = norms[s] * abs(S[-1, top])
        if j + 1 == steps or np.all(residual <= tol * np.maximum(np.abs(lam), 1e-300)):
            break
        beta[:, j] = norms
        basis[:, j + 1] = np.divide(
            w, norms[:, None], out=np.zeros_like(w), where=norms[:, None] > 0
        )
    return lam, _units(vec)


def local_beta(
    model: TorchModel,
    x: torch.Tensor,
    *,
    seed: int = 0,
    restarts: int = RESTARTS,
    sweeps: int = SWEEPS,
    tol: float = TOL,
) -> LocalBeta:
    """β_loc at θ0 (THEORY.md §6's tensor norm) from ``restarts`` random starts, run side
    by side (vmapped). Each sweep maximizes exactly over (u, v) for the current q — the
    eigenvector u of A_q of largest |λ| (Lanczos from the previous u), v = sign(λ)·u —
    then sets q ← T(u, v)/‖·‖; the value ‖T(u, v)‖ never decreases. ``extra.row`` is the
    row i (point i // C, output i % C) where |T(u, v)_i| is largest for the best start."""
    rng = np.random.default_rng(seed)
    theta = model.theta(None)
    P = model.n_params
    hvp, form = _batched(model, x, theta, restarts)
    U = _units(rng.standard_normal((restarts, P)))
    T = form(U, U)
    Q = _units(T)
    values = np.linalg.norm(T, axis=1)
    done = np.zeros(restarts, dtype=bool)
    used = np.zeros(restarts, dtype=int)
    for _ in range(sweeps):
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        lam, u = _top_eigen(hvp, Q[live], U[live], LANCZOS_STEPS, LANCZOS_TOL)
        t = form(u, u * np.sign(lam)[:, None])
        new = np.linalg.norm(t, axis=1)
        used[live] += 1
        converged = np.abs(new - values[live]) <= tol * np.maximum(new, 1e-300)
        better = new >= values[live]
        keep = live[better]
        U[keep], T[keep], Q[keep], values[keep] = (
            u[better],
            t[better],
            _units(t[better]),
            new[better],
        )
        done[live[converged | ~better]] = True
    best = int(np.argmax(values))
    top = float(values[best])
    spread = (top - float(values.min())) / top if top > 0 else 0.0
    return LocalBeta(
        value=top,
        iterations=int(used.max()),
        converged=bool(done[best]),
        restarts=restarts,
        spread=spread if math.isfinite(spread) else 0.0,
        where="nested JVPs (torch.func)",
        extra={"row": int(np.argmax(np.abs(T[best])))},
    )
