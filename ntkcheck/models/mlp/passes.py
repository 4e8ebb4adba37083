"""Forward and backward passes of the deep network, and the structured Gram (THEORY.md §10).

With ``H_k`` (n × sizes[k]) the input of layer k (H_0 = X), ``Z_k = α_k H_k W_kᵀ + b_k``,
``H_{k+1} = σ(Z_k)`` and ``f = s Z_{L−1}``, the per-sample back-propagated signals
``Δ_k = ∂f/∂Z_k`` are ``Δ_{L−1} = s`` and ``Δ_k = (α_{k+1} Δ_{k+1} W_{k+1}) ⊙ σ'(Z_k)``.
Row j of J holds, per trained layer, ``α_k Δ_k[j] ⊗ H_k[j]`` and (bias) ``Δ_k[j]``, so

    J v   = Σ_k α_k rowsum((H_k V_kᵀ) ⊙ Δ_k) + Δ_k v_b,k
    Jᵀ r  = (α_k Δ_kᵀ (r ⊙ H_k), Δ_kᵀ r)_k
    K     = Σ_k (α_k² H_k H_kᵀ + 1_bias) ⊙ (Δ_k Δ_kᵀ)

— never J. The products go through SciPy's BLAS (``dgemm``, ``dsyrk``) on Fortran
views of C-ordered (n × width) arrays, so nothing is copied; mixing NumPy's and
SciPy's OpenBLAS builds slows ``dsyrk`` (see the two-layer family).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from ...linalg import dense
from .structure import Params, Structure


def affine(H: np.ndarray, W: np.ndarray, b: np.ndarray | None, alpha: float) -> np.ndarray:
    """``Z = α H Wᵀ + b`` (n, width), C-ordered (one dgemm on Fortran views)."""
    H = np.ascontiguousarray(H, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    Zt = blas.dgemm(alpha, W.T, H.T, trans_a=1)  # (width, n), Fortran
    if b is not None:
        Zt += b[:, None]
    return Zt.T


def pullback(Delta: np.ndarray, W: np.ndarray, alpha: float) -> np.ndarray:
    """``G = α Δ W`` (n, fan-in), C-ordered: the signal ∂f/∂H of the layer's input."""
    Delta = np.ascontiguousarray(Delta, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    return blas.dgemm(alpha, W.T, Delta.T).T


def weight_grad(signal: np.ndarray, H: np.ndarray, alpha: float) -> np.ndarray:
    """``α signalᵀ H`` (width, fan-in), C-ordered: a weight gradient summed over samples."""
    signal = np.ascontiguousarray(signal, dtype=np.float64)
    H = np.ascontiguousarray(H, dtype=np.float64)
    return blas.dgemm(alpha, H.T, signal.T, trans_b=1).T


def output(
    H: np.ndarray, w: np.ndarray, b: np.ndarray | None, alpha: float, s: float
) -> np.ndarray:
    """``f = s (α H w + b)`` (n,) for the output row w (1, fan-in)."""
    H = np.ascontiguousarray(H, dtype=np.float64)
    z = blas.dgemv(alpha, H.T, np.ascontiguousarray(w[0]), trans=1)
    if b is not None:
        z += b[0]
    return s * z


def forward(X: np.ndarray, st: Structure, p: Params) -> np.ndarray:
    """``f(X)`` (n,), keeping one layer at a time."""
    H = X
    L = st.depth
    alphas = st.alphas
    for k in range(L - 1):
        H = st.activation.sigma(affine(H, p.W[k], None if p.b is None else p.b[k], alphas[k]))
    return output(H, p.W[L - 1], None if p.b is None else p.b[L - 1], alphas[L - 1], st.s)


@dataclass(frozen=True, eq=False)
class Factors:
    """``f``, the layer inputs ``H_k`` (k = 0..L−1) and signals ``Δ_k`` (k = 0..L−2) at one θ.

    Row j of J_θ is built from row j of these (module docstring); ``Δ_{L−1} = s``.
    """

    f: np.ndarray
    H: tuple[np.ndarray, ...]
    Delta: tuple[np.ndarray, ...]


def factors(X: np.ndarray, st: Structure, p: Params) -> Factors:
    """Forward pass keeping ``H_k`` and ``σ'(Z_k)``, then the backward pass, in place."""
    L = st.depth
    alphas = st.alphas
    H: list[np.ndarray] = [np.ascontiguousarray(X, dtype=np.float64)]
    D: list[np.ndarray] = []
    for k in range(L - 1):
        Hn, Dk = st.activation.value_and_derivative(
            affine(H[k], p.W[k], None if p.b is None else p.b[k], alphas[k])
        )
        H.append(np.ascontiguousarray(Hn))
        D.append(np.ascontiguousarray(Dk))
    f = output(H[L - 1], p.W[L - 1], None if p.b is None else p.b[L - 1], alphas[L - 1], st.s)
    for k in range(L - 2, -1, -1):
        if k == L - 2:
            D[k] *= (st.s * alphas[L - 1]) * p.W[L - 1][0]
        else:
            D[k] *= pullback(D[k + 1], p.W[k + 1], alphas[k + 1])
    return Factors(f=f, H=tuple(H), Delta=tuple(D))


def jvp(st: Structure, fac: Factors, v: np.ndarray) -> np.ndarray:
    """``J v`` (n,) for v (P,)."""
    Vw, Vb = st.split(np.ascontiguousarray(v, dtype=np.float64))
    alphas = st.alphas
    out = np.zeros(fac.H[0].shape[0])
    for k in st.trained_layers:
        T = affine(fac.H[k], Vw[k], None, alphas[k])  # α H_k V_kᵀ
        if k == st.depth - 1:
            out += st.s * T[:, 0]
            if st.bias:
                out += st.s * Vb[k][0]
            continue
        out += np.einsum("ji,ji->j", T, fac.Delta[k])
        if st.bias:
            out += matvec(fac.Delta[k], Vb[k])
    return out


def vjp(st: Structure, fac: Factors, r: np.ndarray) -> np.ndarray:
    """``Jᵀ r`` (P,) for r (n,); (P, c) for r (n, c)."""
    if r.ndim == 2:
        return np.stack([vjp(st, fac, r[:, c]) for c in range(r.shape[1])], axis=1)
    alphas = st.alphas
    parts: list[np.ndarray] = []
    for k in st.trained_layers:
        signal = (st.s * r)[:, None] if k == st.depth - 1 else fac.Delta[k] * r[:, None]
        grad = weight_grad(signal, fac.H[k], alphas[k])  # α Δ_kᵀ(r ⊙ H_k)
        parts.append(grad.reshape(-1))
        if st.bias:
            parts.append(signal.sum(axis=0))
    return np.concatenate(parts)


def outer(A: np.ndarray, B: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``α A Bᵀ`` (n, m) for A (n, a), B (m, a), Fortran-ordered (one dgemm)."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    return blas.dgemm(alpha, A.T, B.T, trans_a=1)


def matvec(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A v`` (n,) for A (n, a) C-ordered (dgemv on its Fortran view)."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    return blas.dgemv(1.0, A.T, np.ascontiguousarray(v, dtype=np.float64), trans=1)


def gram(st: Structure, fac: Factors) -> np.ndarray:
    """``K = Σ_k (α_k² H_k H_kᵀ + 1_bias) ⊙ (Δ_k Δ_kᵀ)`` (n, n), exactly symmetric.

    Two ``syrk`` per trained layer (``linalg.dense``: the problem's one BLAS) on the
    upper triangle, accumulated in place; peak memory three n × n arrays besides the
    factors.
    """
    n = fac.H[0].shape[0]
    L = st.depth
    sq = st.alpha_squares
    G = dense.new_gram(n)
    for k in st.trained_layers:
        A = dense.syrk(np.ascontiguousarray(fac.H[k]).T, sq[k])
        if st.bias:
            A += 1.0
        if k == L - 1:
            A *= st.s * st.s
        else:
            B = dense.syrk(np.ascontiguousarray(fac.Delta[k]).T, 1.0)
            A *= B
            del B
        G += A
        del A
    return dense.symmetric_from(G)


def gram_n_terms(st: Structure) -> int:
    """Roundings per term of an entry of ``gram`` (for ``gram_formation_error``): the two
    inner sums (h_k + h_{k+1}), fl(α²) and its product, +1, the Hadamard product, fl(s²)
    and its product, the L − 1 additions over layers; 2 spare."""
    sizes = st.sizes
    inner = max(sizes[k] + sizes[k + 1] for k in st.trained_layers)
    return inner + st.depth + 6 + 2


def drift_gram(st: Structure, a: Factors, b: Factors) -> np.ndarray:
    """``(J_a − J_b)(J_a − J_b)ᵀ`` from the factor differences (no O(1) cancellation).

    Per layer, ``Δ hᵀ − Δ' h'ᵀ = dΔ hᵀ + Δ' dhᵀ`` (dΔ = Δ − Δ', dh = h − h'), so the
    Gram is ``(dΔ dΔᵀ) ⊙ (α² H Hᵀ + 1) + (dΔ Δ'ᵀ) ⊙ (α² H dHᵀ) + transpose +
    (Δ' Δ'ᵀ) ⊙ (α² dH dHᵀ)``: every term has two small factors, so a small drift is
    computed to the relative accuracy of dΔ and dH themselves.
    """
    n = a.H[0].shape[0]
    L = st.depth
    sq = st.alpha_squares
    out = np.zeros((n, n))
    for k in st.trained_layers:
        dH = a.H[k] - b.H[k]
        if k == L - 1:
            out += outer(dH, dH, st.s * st.s * sq[k])
            continue
        dD = a.Delta[k] - b.Delta[k]
        Dp = b.Delta[k]
        cross = outer(dD, Dp) * outer(a.H[k], dH, sq[k])
        term = outer(dD, dD) * (outer(a.H[k], a.H[k], sq[k]) + (1.0 if st.bias else 0.0))
        term += cross
        term += cross.T
        term += outer(Dp, Dp) * outer(dH, dH, sq[k])
        out += term
    return 0.5 * (out + out.T)
