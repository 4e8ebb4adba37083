"""Per-sample norms at θ0, rigorous despite rounding, from one pass (docs/theory-mlp.md §3, §5).

The drift bound (``ball.py``) needs, for every sample j and layer, upper bounds on
the exact ‖h_k‖, ‖g_k‖_∞, ‖g_k‖, ‖δ_k‖ and ‖σ'(z_k)‖_∞ at θ0 (g_k = ∂f/∂h_{k+1},
δ_k = ∂f/∂z_k); the Gram's error bound needs ‖Ĵ_j − J_j‖. One forward and one
backward pass give the computed values; ``rounding.py`` bounds their errors.
The Gram is formed from the same factors when asked (``with_gram``), so certify
runs the passes once.

With C outputs (docs/theory-mlp.md §9) the backward quantities carry an output index:
g_k and δ_k are (width × C) matrices per sample, G_k^{(j)} and Δ_k^{(j)}, and the drift
bound needs their sups over unit output weights q ∈ R^C: ``sup_q ‖G q‖_∞`` = the
largest row norm of G (exact), ``sup_q ‖G q‖₂ = ‖G‖_op`` and ``sup_q ‖Δ q‖₂ = ‖Δ‖_op``
(bounded by the top eigenvalue of the C × C Gram, :func:`op_norm_rows`). The rounding
recursions run per output; the errors of a sample's matrix are their ℓ2 sum (a
Frobenius bound). ``jac_err2`` has one entry per row (j, c).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .passes import Factors, affine, gram, output, output_signal, pullback
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
    ‖σ'(z_k)‖_∞ (per sample; with C outputs the sups over unit q of ‖g_k q‖_∞,
    ‖g_k q‖₂, ‖δ_k q‖₂); ``jac_err2[j·C + c]`` ≥ ‖Ĵ_jc − J_jc‖² for the computed factors.
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


def op_norm_rows(A: np.ndarray, n: int, C: int) -> np.ndarray:
    """Upper bounds on ‖A^{(j)}‖_op (n,) for the (C × w) blocks of rows j·C..j·C + C − 1 of
    A (m × w), C > 1: the top eigenvalue of the computed C × C Gram M̂_j plus LAPACK's
    backward error γ_{4C}·max|λ̂| (THEORY.md §12's model) and the formation error
    ‖M̂ − M‖₂ ≤ γ_w ‖A‖²_F (|M̂ − M| ≤ γ_w|A||A|ᵀ, PSD, so its 2-norm is at most its
    trace); capped by ‖A‖_F ≤ (tr M̂/(1 − γ_w))^{1/2}."""
    w = A.shape[1]
    A3 = A.reshape(n, C, w)
    M = np.matmul(A3, A3.transpose(0, 2, 1))
    frob2 = np.trace(M, axis1=1, axis2=2) * (1.0 + gamma(C + w + 4))
    lam = np.linalg.eigvalsh(M)
    top = lam[:, -1] + gamma(4 * C) * np.max(np.abs(lam), axis=1) + gamma(w) * frob2
    return np.sqrt(np.minimum(np.maximum(top, 0.0), frob2)) * (1.0 + gamma(4))


def _sample_norm(E: np.ndarray) -> np.ndarray:
    """``(Σ_c E[:, c]²)^{1/2}`` (n,) rounded up: a sample's Frobenius error from the
    per-output errors E (n, C); E[:, 0] for C = 1."""
    if E.shape[1] == 1:
        return E[:, 0]
    return np.sqrt(np.einsum("jc,jc->j", E, E)) * norm_factor(E.shape[1])


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
    C = st.outputs
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

    # per sample (sups over outputs): g, g2, delta; per row (j, c): dn, ed
    g = np.zeros((L - 1, n))
    g2 = np.zeros((L - 1, n))
    delta = np.zeros((L - 1, n))
    dn = np.zeros((L - 1, n, C))
    ed = np.zeros((L - 1, n, C))
    dn_next, ed_next = np.full((n, C), abs(st.s)), np.zeros((n, C))
    for k in range(L - 2, -1, -1):
        width = sizes[k + 1]
        if k == L - 2:
            G = output_signal(p.W[L - 1], st.s * alphas[L - 1], n)
        else:
            G = pullback(D[k + 1], p.W[k + 1], alphas[k + 1])
        # per row (j, c): ‖ĝ‖_∞, ‖ĝ‖₂ and the error recursion, as (n, C)
        gi = _rowmax(G).reshape(n, C)
        g2k = (_rownorm(G) * norm_factor(width)).reshape(n, C)
        eg = backsignal_error(ed_next, dn_next, consts[k + 1])
        flagged = np.zeros((n, C))
        if ac.jump > 0.0:
            rows, cols = suspects[k]
            G3 = G.reshape(n, C, width)
            for c in range(C):
                flagged[:, c] = np.sqrt(
                    np.bincount(rows, weights=G3[rows, c, cols] ** 2, minlength=n)
                )
        if C == 1:
            D[k] *= G  # Δ_k = G ⊙ σ'(Z_k), in place
            g_rows = gi[:, 0]
        else:
            G3 = G.reshape(n, C, width)
            g_rows = np.max(np.sqrt(np.einsum("jci,jci->ji", G3, G3)), axis=1) * norm_factor(C)
            g_op = op_norm_rows(np.ascontiguousarray(G), n, C)
            V = G if G.flags.writeable and G.flags.c_contiguous else np.array(G)
            V3 = V.reshape(n, C, width)
            assert np.shares_memory(V3, V)
            V3 *= D[k][:, None, :]  # Δ_k[jc] = g_k[jc] ⊙ σ'(Z_k[j])
            D[k] = V
        del G
        dnk = (_rownorm(D[k]) * norm_factor(width)).reshape(n, C)
        ed[k] = delta_error(d1[k][:, None], eg, g2k, gi, ez[k][:, None], flagged, dnk, ac)
        dn[k] = dnk
        eg_s, ed_s = _sample_norm(eg), _sample_norm(ed[k])
        if C == 1:
            g[k], g2[k], delta[k] = g_rows + eg_s, g2k[:, 0] + eg_s, dnk[:, 0] + ed_s
        else:
            delta_op = op_norm_rows(D[k], n, C)
            g[k], g2[k], delta[k] = g_rows + eg_s, g_op + eg_s, delta_op + ed_s
        dn_next, ed_next = dnk, ed[k]

    # ‖Ĵ_jc − J_jc‖²: per trained layer α²(e^δ‖ĥ‖ + (‖δ̂‖ + e^δ) e^h)² + bias·(e^δ)²
    err2 = np.zeros((n, C))
    for k in st.trained_layers:
        a = consts[k].alpha
        if k == L - 1:
            err2 += ((a * abs(st.s) * eh[k]) ** 2)[:, None]
            continue
        err2 += (a * (ed[k] * hn[k][:, None] + (dn[k] + ed[k]) * eh[k][:, None])) ** 2
        if st.bias:
            err2 += ed[k] ** 2
    theta0 = Theta0(
        h=np.array([hn[k] + eh[k] for k in range(L)]),
        g=g,
        g2=g2,
        delta=delta,
        prime=np.array(d1) if d1 else np.zeros((0, n)),
        jac_err2=err2.reshape(-1),
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
    step = max(1, block_values // (max(st.sizes) * st.outputs))
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
