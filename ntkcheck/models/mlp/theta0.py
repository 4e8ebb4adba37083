"""Per-sample norms at θ0, rigorous despite rounding, from one pass (docs/theory-mlp.md §3, §5).

The drift bound (``ball.py``) needs, for every sample j and layer, upper bounds on
the exact ‖h_k‖, ‖g_k‖_∞, ‖g_k‖, ‖δ_k‖ and ‖σ'(z_k)‖_∞ at θ0 (g_k = ∂f/∂h_{k+1},
δ_k = ∂f/∂z_k); the Gram's error bound needs ‖Ĵ_j − J_j‖. One forward and one
backward pass give the computed values; ``rounding.py`` bounds their errors.
The Gram is formed from the same factors when asked (``with_gram``), so certify
runs the passes once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .passes import Factors, affine, gram, output, pullback
from .rounding import (
    ActivationConstants,
    LayerConstants,
    activation_error,
    backsignal_error,
    delta_error,
    gamma,
    norm_factor,
    preactivation_error,
    segment_prime,
)
from .structure import Params, Structure


@dataclass(frozen=True, eq=False)
class Theta0:
    """Upper bounds at θ0 per sample (columns j), rounding included.

    ``h[k]`` ≥ ‖h_k‖ (k = 0..L−1, h_0 = x), and for the hidden layers k = 0..L−2:
    ``g[k]`` ≥ ‖g_k‖_∞, ``g2[k]`` ≥ ‖g_k‖₂, ``delta[k]`` ≥ ‖δ_k‖₂, ``prime[k]`` ≥
    ‖σ'(z_k)‖_∞; ``jac_err2[j]`` ≥ ‖Ĵ_j − J_j‖² for the computed factors.
    """

    h: np.ndarray
    g: np.ndarray
    g2: np.ndarray
    delta: np.ndarray
    prime: np.ndarray
    jac_err2: np.ndarray


def _rownorm(A: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ji,ji->j", A, A))


def _rowmax(A: np.ndarray) -> np.ndarray:
    return np.max(np.abs(A), axis=1) if A.shape[1] else np.zeros(A.shape[0])


def _blocks(n: int, step: int) -> Iterator[slice]:
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def _pass(
    X: np.ndarray,
    st: Structure,
    p: Params,
    consts: tuple[LayerConstants, ...],
    ac: ActivationConstants,
) -> tuple[Factors, Theta0]:
    """One forward/backward pass on the rows of X, with the bounds of ``Theta0``."""
    L = st.depth
    n = X.shape[0]
    alphas = st.alphas
    sizes = st.sizes
    H: list[np.ndarray] = [np.ascontiguousarray(X, dtype=np.float64)]
    D: list[np.ndarray] = []
    hn = [_rownorm(H[0]) * norm_factor(sizes[0])]
    eh = [np.zeros(n)]
    ez: list[np.ndarray] = []
    d1: list[np.ndarray] = []
    suspects: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(L - 1):
        Z = affine(H[k], p.W[k], None if p.b is None else p.b[k], alphas[k])
        ez.append(preactivation_error(eh[k], hn[k], consts[k]))
        if ac.jump > 0.0:  # entries whose sign may differ from the exact z's
            rows, cols = np.nonzero(np.abs(Z) <= ez[k][:, None])
            suspects.append((rows, cols))
        Hn, Dk = st.activation.value_and_derivative(Z)
        del Z
        H.append(np.ascontiguousarray(Hn))
        D.append(np.ascontiguousarray(Dk))
        d1.append(segment_prime(_rowmax(D[k]), ez[k], ac))
        hn.append(_rownorm(H[k + 1]) * norm_factor(sizes[k + 1]))
        eh.append(activation_error(d1[k], ez[k], hn[k + 1], sizes[k + 1]))
    f = output(H[L - 1], p.W[L - 1], None if p.b is None else p.b[L - 1], alphas[L - 1], st.s)

    g = np.zeros((L - 1, n))
    g2 = np.zeros((L - 1, n))
    dn = np.zeros((L - 1, n))
    ed = np.zeros((L - 1, n))
    dn_next, ed_next = np.full(n, abs(st.s)), np.zeros(n)
    for k in range(L - 2, -1, -1):
        if k == L - 2:
            G = np.broadcast_to((st.s * alphas[L - 1]) * p.W[L - 1][0], D[k].shape)
        else:
            G = pullback(D[k + 1], p.W[k + 1], alphas[k + 1])
        gi, g2k = _rowmax(G), _rownorm(G) * norm_factor(sizes[k + 1])
        eg = backsignal_error(ed_next, dn_next, consts[k + 1])
        flagged = np.zeros(n)
        if ac.jump > 0.0:
            rows, cols = suspects[k]
            flagged = np.sqrt(np.bincount(rows, weights=G[rows, cols] ** 2, minlength=n))
        D[k] *= G  # Δ_k = G ⊙ σ'(Z_k), in place
        del G
        dnk = _rownorm(D[k]) * norm_factor(sizes[k + 1])
        ed[k] = delta_error(d1[k], eg, g2k, gi, ez[k], flagged, dnk, ac)
        g[k], g2[k], dn[k] = gi + eg, g2k + eg, dnk
        dn_next, ed_next = dnk, ed[k]

    # ‖Ĵ_j − J_j‖²: per trained layer α²(e^δ‖ĥ‖ + (‖δ̂‖ + e^δ) e^h)² + bias·(e^δ)²
    err2 = np.zeros(n)
    for k in st.trained_layers:
        a = consts[k].alpha
        if k == L - 1:
            err2 += (a * abs(st.s) * eh[k]) ** 2
            continue
        err2 += (a * (ed[k] * hn[k] + (dn[k] + ed[k]) * eh[k])) ** 2
        if st.bias:
            err2 += ed[k] ** 2
    theta0 = Theta0(
        h=np.array([hn[k] + eh[k] for k in range(L)]),
        g=g,
        g2=g2,
        delta=dn + ed,
        prime=np.array(d1) if d1 else np.zeros((0, n)),
        jac_err2=err2,
    )
    return Factors(f=f, H=tuple(H), Delta=tuple(D)), theta0


def theta0_pass(
    X: np.ndarray,
    st: Structure,
    p: Params,
    consts: tuple[LayerConstants, ...],
    *,
    with_gram: bool,
    block_values: int,
) -> tuple[np.ndarray | None, Theta0]:
    """``Theta0`` for the rows of X, and K0 when ``with_gram`` (all rows at once);
    without the Gram, rows are processed in blocks of about ``block_values`` values
    per (rows × width) array."""
    ac = ActivationConstants.of(st.activation)
    n = X.shape[0]
    if with_gram:
        fac, bounds = _pass(X, st, p, consts, ac)
        return gram(st, fac), bounds
    step = max(1, block_values // max(st.sizes))
    parts = [_pass(X[b], st, p, consts, ac)[1] for b in _blocks(n, step)]
    return None, Theta0(
        *(np.concatenate([getattr(q, name) for q in parts], axis=-1) for name in _FIELDS)
    )


_FIELDS = ("h", "g", "g2", "delta", "prime", "jac_err2")


def factor_error(theta0: Theta0, trace_upper: float, gamma_m: float) -> float:
    """Bound on ‖K̃ − K0‖₂ with K̃ = Ĵ Ĵᵀ (THEORY.md §11, as ``linalg.rigorous``):
    2‖Ĵ‖₂‖ΔJ‖_F + ‖ΔJ‖²_F, ‖Ĵ‖₂² ≤ tr K̃ ≤ tr K̂/(1 − γ_m)."""
    n = theta0.jac_err2.size
    dJ2 = float(np.sum(theta0.jac_err2)) * (1.0 + gamma(n + 2))
    if not math.isfinite(dJ2):
        return math.inf
    dJ = math.sqrt(dJ2)
    J_norm = math.sqrt(trace_upper / (1.0 - gamma_m))
    return (2.0 * J_norm * dJ + dJ2) * (1.0 + 2.0**-40)
