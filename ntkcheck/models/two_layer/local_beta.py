"""Local β (THEORY.md §6): the spectral norm of the third-order derivative tensor at θ0.

``β_loc = max_{‖U‖=‖V‖=1} ‖DJ_θ0[U] V‖`` with
``T(U, V)_j = s Σ_i a_i σ''(⟨w_i,x_j⟩) ⟨u_i,x_j⟩ ⟨v_i,x_j⟩``. The tensor is
block-diagonal over neurons, so by Cauchy–Schwarz ``β_loc = max_i β_i`` with

    β_i = s |a_i| · max_{‖u‖=1} ‖σ''_i ⊙ (X u)²‖₂ ,   σ''_i = σ''(X w_i)  (n,)

(for fixed u the best w is σ''_i ⊙ (Xu)² normalized). We maximize by the
alternating updates of §6 — ``w ← σ''_i ⊙ (Xu)²/‖·‖``, ``u ← M_i(w) u/‖·‖``
with ``M_i(w) = Σ_j w_j σ''_ij x_j x_jᵀ`` — for all neurons at once (each sweep
O(n·N·d), in blocks of neurons), then restart the top neurons from random
directions. Every value reported is attained by unit vectors, so it is a lower
bound on any Lipschitz constant of J around θ0; a certificate from it is an
estimate, not a proof.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..protocol import LocalBeta
from .memory import BLOCK_VALUES


def _sweeps(
    X: np.ndarray, C: np.ndarray, U: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, bool]:
    """Maximize ``F_i(u) = Σ_j C_ji ⟨x_j, u⟩⁴`` on the unit sphere for every column i at once.

    With ``C = σ''²`` this is ``‖σ''_i ⊙ (Xu)²‖²``, and the §6 update
    ``u ← M_i(w) u/‖·‖`` (w the best weights for u) is ``u ← ∇F_i(u)/‖∇F_i(u)‖``
    with ``∇F_i = 4 Σ_j C_ji ⟨x_j,u⟩³ x_j``. F_i is convex, so each update
    ascends (F(u') ≥ F(u) + ∇F·(u' − u) ≥ F(u)). Returns √F at the last
    iterate, the sweeps used and whether every column met ``tol``.
    """
    previous = np.zeros(U.shape[0])
    for it in range(1, max_iter + 1):
        P = X @ U.T  # ⟨x_j, u_i⟩ (n, b)
        P3 = C * P**3
        value = np.sqrt(np.einsum("ji,ji->i", P3, P))  # √F_i(u_i)
        grad = P3.T @ X  # ∇F_i/4 (b, d)
        norms = np.linalg.norm(grad, axis=1, keepdims=True)
        U = np.where(norms > 0, grad / np.where(norms > 0, norms, 1.0), U)
        if it > 1 and np.all(value - previous <= tol * np.maximum(value, 1e-300)):
            return value, it, True
        previous = value
    return previous, max_iter, False


def _random_unit_rows(rng: np.random.Generator, b: int, d: int) -> np.ndarray:
    U = rng.standard_normal((b, d))
    return U / np.linalg.norm(U, axis=1, keepdims=True)


def _data_directions(X: np.ndarray, C: np.ndarray, m: int) -> np.ndarray:
    """For each column i, the m inputs with the largest single-point value C_ji ‖x_j‖⁴ (unit)."""
    sq = np.einsum("jk,jk->j", X, X)
    score = C * (sq * sq)[:, None]
    m = min(m, X.shape[0])
    idx = np.argpartition(-score, m - 1, axis=0)[:m]  # (m, b)
    norms = np.sqrt(np.where(sq > 0, sq, 1.0))
    return X[idx] / norms[idx][..., None]  # (m, b, d)


def local_beta(
    W: np.ndarray,
    a: np.ndarray,
    s: float,
    sigma_second: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    *,
    seed: int = 0,
    restarts: int = 8,
    top: int = 16,
    tol: float = 1e-12,
    max_iter: int = 2000,
) -> LocalBeta:
    """β_loc = max_i β_i (THEORY.md §6).

    A first pass takes every neuron from its best single input direction; the
    ``top`` neurons are then restarted from their ``restarts`` best input
    directions and ``restarts`` random directions, each run to ``tol``.
    ``restarts`` in the result counts all starts of the top neurons.
    """
    rng = np.random.default_rng(seed)
    N, d = W.shape
    n = X.shape[0]
    scale = s * np.abs(a)
    values = np.zeros(N)
    step = max(1, min(N, BLOCK_VALUES // max(n, 1)))
    for start in range(0, N, step):  # a first pass over all neurons, from the best single input
        b = slice(start, min(start + step, N))
        C = sigma_second(X @ W[b].T) ** 2
        best, _, _ = _sweeps(X, C, _data_directions(X, C, 1)[0], 1e-6, 50)
        values[b] = scale[b] * best
    order = np.argsort(values)[::-1][: min(top, N)]
    C = sigma_second(X @ W[order].T) ** 2
    starts = [*_data_directions(X, C, restarts)]
    starts += [_random_unit_rows(rng, len(order), d) for _ in range(restarts)]
    runs, iterations, converged = [], 0, True
    for U in starts:
        best, it, ok = _sweeps(X, C, U, tol, max_iter)
        runs.append(best)
        iterations, converged = max(iterations, it), converged and ok
    stacked = np.array(runs) * scale[order]  # (starts, top)
    per_neuron = stacked.max(axis=0)
    k = int(np.argmax(per_neuron))
    top_value = float(per_neuron[k])
    lows = stacked[:, k].min()
    spread = float((top_value - lows) / top_value) if top_value > 0 else 0.0
    return LocalBeta(
        value=top_value if math.isfinite(top_value) else math.inf,
        neuron=int(order[k]),
        iterations=iterations,
        converged=converged,
        restarts=len(starts),
        spread=spread,
    )
