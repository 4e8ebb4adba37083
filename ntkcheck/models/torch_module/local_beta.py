"""The local β at θ0 of a PyTorch module, by nested JVPs (THEORY.md §6, §10 "Any model").

``β_loc = max_{‖u‖=‖v‖=1} ‖(uᵀ ∇²f_i v)_i‖ = max_{u, v, ‖q‖=1} uᵀ A_q v`` over the m rows
f_i (m = n·C), ``A_q = Σ_i q_i ∇²f_i``. Alternating maximization (each step optimal in one
variable, so the value never decreases), from several random starts, as the mlp family's:

    u ← A_q v/‖·‖,   v ← A_q u/‖·‖,   q ← T(u, v)/‖·‖,   T(u, v)_i = uᵀ∇²f_i v.

``A_q v = d/dε J_{θ+εv}ᵀ q`` is forward-over-reverse (``jvp`` of a ``vjp``) and
``T(u, v) = d/dε J_{θ+εu} v`` forward-over-forward (``jvp`` of a ``jvp``), both by blocks
of points (A_q is a sum over points, T a concatenation). An estimate, never a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.func import jvp, vmap

from ..protocol import LocalBeta
from .network import pullback

if TYPE_CHECKING:
    from .network import TorchModel

SWEEPS = 300
RESTARTS = 6
TOL = 1e-9


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
    model: TorchModel, x: torch.Tensor, theta: torch.Tensor
) -> tuple[
    Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]
]:
    """``A_q v`` and ``T(u, v)`` for k starts at once (rows of Q, V / U, V), vmapped."""
    C = model.outputs
    n = int(x.shape[0])
    blocks = model.blocks(n, max(1, model.rows_per_block(n) // RESTARTS))
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


def local_beta(
    model: TorchModel,
    x: torch.Tensor,
    *,
    seed: int = 0,
    restarts: int = RESTARTS,
    sweeps: int = SWEEPS,
    tol: float = TOL,
) -> LocalBeta:
    """β_loc at θ0 (THEORY.md §6's tensor norm) by alternating maximization from
    ``restarts`` random starts, run side by side (vmapped; a start that has converged
    stays where it is); ``extra.row`` is the row i (point i // C, output i % C) where
    |T(u, v)_i| is largest for the best start."""
    rng = np.random.default_rng(seed)
    theta = model.theta(None)
    P = model.n_params
    hvp, form = _batched(model, x, theta)
    U = _units(rng.standard_normal((restarts, P)))
    V = _units(rng.standard_normal((restarts, P)))
    T = form(U, V)
    Q = _units(T)
    values = np.linalg.norm(T, axis=1)
    done = np.zeros(restarts, dtype=bool)
    used = np.zeros(restarts, dtype=int)
    for _ in range(sweeps):
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        u = _units(hvp(Q[live], V[live]))
        v = _units(hvp(Q[live], u))
        t = form(u, v)
        new = np.linalg.norm(t, axis=1)
        used[live] += 1
        converged = np.abs(new - values[live]) <= tol * np.maximum(new, 1e-300)
        U[live], V[live], T[live], Q[live], values[live] = u, v, t, _units(t), new
        done[live[converged]] = True
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
