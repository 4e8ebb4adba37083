"""Forward and backward passes of the deep network, and the structured Gram (THEORY.md §10, §14).

With ``H_k`` (n × sizes[k]) the input of layer k (H_0 = X), ``Z_k = α_k H_k W_kᵀ + b_k``,
``H_{k+1} = σ(Z_k)`` and ``f = s Z_{L−1}`` (n × C), the back-propagated signals
``Δ_k = ∂f_c/∂Z_k`` have one row per (sample j, output c), stacked point-major (row
``j·C + c``, m = n·C rows, THEORY.md §14): ``Δ_{L−2}[jc] = α_{L−1} s W_{L−1}[c] ⊙ σ'(Z_{L−2}[j])``
and ``Δ_k[jc] = (α_{k+1} Δ_{k+1}[jc] W_{k+1}) ⊙ σ'(Z_k[j])``. Row (j, c) of J holds, per
trained hidden layer, ``α_k Δ_k[jc] ⊗ H_k[j]`` and (bias) ``Δ_k[jc]``; for the output layer
``s α H_{L−1}[j]`` (and s) in the block of output c. With ``A ⊗ 1`` the (m × m) matrix
``(A ⊗ 1_{C×C})[jc, j'c'] = A[j, j']``,

    J v   = Σ_k α_k rowsum((H_k V_kᵀ ⊗ 1_C) ⊙ Δ_k) + Δ_k v_b,k
    Jᵀ r  = (α_k (Σ_c r_c ⊙ Δ_k)ᵀ H_k, Σ r ⊙ Δ_k)_k
    K     = Σ_{k hidden} ((α_k² H_k H_kᵀ + 1_bias) ⊗ 1) ⊙ (Δ_k Δ_kᵀ)
            + s²(α² H_{L−1}H_{L−1}ᵀ + 1_bias) ⊗ I_C

— never J: per hidden layer one ``syrk`` of the n points' activations and one of the m
rows' signals, the first spread over the (C × C) blocks of the second in place. For C = 1
these are the single-output formulas, computed by the same operations as before.
The products go through SciPy's BLAS (``dgemm``, ``dsyrk``) on Fortran
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
    """``f = s (α H wᵀ + b)`` for the output layer w (C, fan-in): (n·C,) point-major
    (row j·C + c, THEORY.md §14); for C = 1 one ``dgemv``."""
    if w.shape[0] > 1:
        return (s * affine(H, w, b, alpha)).reshape(-1)
    H = np.ascontiguousarray(H, dtype=np.float64)
    z = blas.dgemv(alpha, H.T, np.ascontiguousarray(w[0]), trans=1)
    if b is not None:
        z += b[0]
    return s * z


def output_signal(W: np.ndarray, scale: float, n: int) -> np.ndarray:
    """``∂f_c/∂H_{L−1}[j] = scale·W[c]`` for every row (j, c): (n·C, fan-in), a broadcast
    view (read-only) of the output layer W (C, fan-in)."""
    C, h = W.shape
    if C == 1:
        return np.broadcast_to(scale * W[0], (n, h))
    return np.broadcast_to((scale * W)[None], (n, C, h)).reshape(n * C, h)


def per_row(A: np.ndarray, C: int) -> np.ndarray:
    """A (n, w) repeated to the m = n·C rows (j·C + c → A[j]); A itself for C = 1."""
    return A if C == 1 else np.repeat(A, C, axis=0)


def times_points(B: np.ndarray, A: np.ndarray, C: int) -> np.ndarray:
    """``B ⊙ (A ⊗ 1_{C×C})`` into B (m × m, C- or Fortran-ordered) in place, for A (n × n):
    entry (jc, j'c') is multiplied by A[j, j']. Reads only A's upper triangle where it
    writes B's (j ≤ j' when j·C + c ≤ j'·C + c'), so upper-triangle ``syrk`` outputs do."""
    n = A.shape[0]
    V, Am = (B, A) if B.flags.c_contiguous else (B.T, A.T)
    V4 = V.reshape(n, C, n, C)
    assert np.shares_memory(V4, B)
    V4 *= Am[:, None, :, None]
    return B


def add_points_identity(G: np.ndarray, A: np.ndarray, C: int) -> np.ndarray:
    """``G + A ⊗ I_C`` in place for G (m × m) and A (n × n): entries (jc, j'c) get A[j, j']."""
    n = A.shape[0]
    V, Am = (G, A) if G.flags.c_contiguous else (G.T, A.T)
    V4 = V.reshape(n, C, n, C)
    assert np.shares_memory(V4, G)
    for c in range(C):
        V4[:, c, :, c] += Am
    return G


def forward(X: np.ndarray, st: Structure, p: Params) -> np.ndarray:
    """``f(X)`` (n·C,) point-major, keeping one layer at a time."""
    H = X
    L = st.depth
    alphas = st.alphas
    for k in range(L - 1):
        H = st.activation.sigma(affine(H, p.W[k], None if p.b is None else p.b[k], alphas[k]))
    return output(H, p.W[L - 1], None if p.b is None else p.b[L - 1], alphas[L - 1], st.s)


@dataclass(frozen=True, eq=False)
class Factors:
    """``f`` (m,), the layer inputs ``H_k`` (n × sizes[k], k = 0..L−1) and signals ``Δ_k``
    (m × sizes[k+1], k = 0..L−2; one row per (sample, output)) at one θ.

    Row (j, c) of J_θ is built from row j of H and row j·C + c of Δ (module docstring);
    ``Δ_{L−1} = s`` (the identity over outputs).
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
    C, n = st.outputs, H[0].shape[0]
    for k in range(L - 2, -1, -1):
        if C == 1:  # in place: Δ_k = σ'(Z_k) ⊙ ∂f/∂H_{k+1}
            if k == L - 2:
                D[k] *= (st.s * alphas[L - 1]) * p.W[L - 1][0]
            else:
                D[k] *= pullback(D[k + 1], p.W[k + 1], alphas[k + 1])
            continue
        if k == L - 2:
            G = output_signal(p.W[L - 1], st.s * alphas[L - 1], n).copy()
        else:
            G = pullback(D[k + 1], p.W[k + 1], alphas[k + 1])
        V = G.reshape(n, C, -1)
        assert np.shares_memory(V, G)
        V *= D[k][:, None, :]
        D[k] = G
    return Factors(f=f, H=tuple(H), Delta=tuple(D))


def jvp(st: Structure, fac: Factors, v: np.ndarray) -> np.ndarray:
    """``J v`` (m,) for v (P,)."""
    Vw, Vb = st.split(np.ascontiguousarray(v, dtype=np.float64))
    alphas = st.alphas
    C, n = st.outputs, fac.H[0].shape[0]
    out = np.zeros(n * C)
    for k in st.trained_layers:
        T = affine(fac.H[k], Vw[k], None, alphas[k])  # α H_k V_kᵀ
        if k == st.depth - 1:
            out += st.s * (T[:, 0] if C == 1 else T.reshape(-1))
            if st.bias:
                out += st.s * (Vb[k][0] if C == 1 else np.tile(Vb[k], n))
            continue
        if C == 1:
            out += np.einsum("ji,ji->j", T, fac.Delta[k])
        else:
            out += np.einsum("ji,jci->jc", T, fac.Delta[k].reshape(n, C, -1)).reshape(-1)
        if st.bias:
            out += matvec(fac.Delta[k], Vb[k])
    return out


def vjp(st: Structure, fac: Factors, r: np.ndarray) -> np.ndarray:
    """``Jᵀ r`` (P,) for r (m,); (P, k) for r (m, k)."""
    if r.ndim == 2:
        return np.stack([vjp(st, fac, r[:, c]) for c in range(r.shape[1])], axis=1)
    alphas = st.alphas
    C, n = st.outputs, fac.H[0].shape[0]
    parts: list[np.ndarray] = []
    for k in st.trained_layers:
        if C > 1:  # the output index is summed per sample: Σ_c r_jc Δ_k[jc] (n × width)
            R = r.reshape(n, C)
            if k == st.depth - 1:
                signal = st.s * R
            else:
                signal = np.einsum("jc,jci->ji", R, fac.Delta[k].reshape(n, C, -1))
        elif k == st.depth - 1:
            signal = (st.s * r)[:, None]
        else:
            signal = fac.Delta[k] * r[:, None]
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
    """``K = Σ_k ((α_k² H_k H_kᵀ + 1_bias) ⊗ 1) ⊙ (Δ_k Δ_kᵀ)`` (+ the output layer's
    ``s²(α²HHᵀ + 1) ⊗ I_C``), (m, m), exactly symmetric.

    Two ``syrk`` per trained layer (``linalg.dense``: the problem's one BLAS) on the
    upper triangle, accumulated in place: one on the n points' activations, one on the
    m rows' signals. Peak memory three n × n arrays besides the factors (C = 1), or two
    m × m and one n × n (C > 1: the m × m Gram is C² times a single output's).
    """
    n = fac.H[0].shape[0]
    C = st.outputs
    if C > 1:
        return _gram_outputs(st, fac)
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


def _gram_outputs(st: Structure, fac: Factors) -> np.ndarray:
    """``gram`` for C > 1 outputs: per hidden layer the m × m ``syrk`` of Δ_k, times the
    n × n activation Gram spread over its C × C blocks (``times_points``); the first
    hidden layer's product is the accumulator (no m × m zeros, no addition)."""
    C = st.outputs
    sq = st.alpha_squares
    G: np.ndarray | None = None
    for k in st.trained_layers:
        A = dense.syrk(np.ascontiguousarray(fac.H[k]).T, sq[k])
        if st.bias:
            A += 1.0
        if k == st.depth - 1:
            A *= st.s * st.s
            assert G is not None  # the hidden layers are always trained
            add_points_identity(G, A, C)
            del A
            continue
        B = dense.syrk(np.ascontiguousarray(fac.Delta[k]).T, 1.0)
        times_points(B, A, C)
        del A
        if G is None:
            G = B
        else:
            if B.flags.c_contiguous != G.flags.c_contiguous:  # one order for both paths
                B = np.ascontiguousarray(B) if G.flags.c_contiguous else np.asfortranarray(B)
            G += B
        del B
    assert G is not None
    return dense.symmetric_from(G)


def gram_n_terms(st: Structure) -> int:
    """Roundings per term of an entry of ``gram`` (for ``gram_formation_error``): the two
    inner sums (h_k + h_{k+1}), fl(α²) and its product, +1, the Hadamard product, fl(s²)
    and its product, the L − 1 additions over layers; 2 spare."""
    sizes = st.sizes
    inner = max(sizes[k] + sizes[k + 1] for k in st.trained_layers)
    return inner + st.depth + 6 + 2


def _spread(A: np.ndarray, C: int) -> np.ndarray:
    """``A ⊗ 1_{C×C}`` (m × m) for A (n × n); A itself for C = 1."""
    return A if C == 1 else np.repeat(np.repeat(A, C, axis=0), C, axis=1)


def drift_gram(st: Structure, a: Factors, b: Factors) -> np.ndarray:
    """``(J_a − J_b)(J_a − J_b)ᵀ`` (m × m) from the factor differences (no O(1) cancellation).

    Per layer, ``Δ hᵀ − Δ' h'ᵀ = dΔ hᵀ + Δ' dhᵀ`` (dΔ = Δ − Δ', dh = h − h'), so the
    Gram is ``(dΔ dΔᵀ) ⊙ (α² H Hᵀ + 1) + (dΔ Δ'ᵀ) ⊙ (α² H dHᵀ) + transpose +
    (Δ' Δ'ᵀ) ⊙ (α² dH dHᵀ)`` (each n × n activation factor spread as ``⊗ 1_C``; the
    output layer's ``s²α² dH dHᵀ ⊗ I_C``): every term has two small factors, so a small
    drift is computed to the relative accuracy of dΔ and dH themselves.
    """
    n = a.H[0].shape[0]
    C = st.outputs
    L = st.depth
    sq = st.alpha_squares
    out = np.zeros((n * C, n * C))
    for k in st.trained_layers:
        dH = a.H[k] - b.H[k]
        if k == L - 1:
            last = outer(dH, dH, st.s * st.s * sq[k])
            out += last if C == 1 else np.kron(last, np.eye(C))
            continue
        dD = a.Delta[k] - b.Delta[k]
        Dp = b.Delta[k]
        cross = outer(dD, Dp) * _spread(outer(a.H[k], dH, sq[k]), C)
        term = outer(dD, dD) * _spread(outer(a.H[k], a.H[k], sq[k]) + (1.0 if st.bias else 0.0), C)
        term += cross
        term += cross.T
        term += outer(Dp, Dp) * _spread(outer(dH, dH, sq[k]), C)
        out += term
    return 0.5 * (out + out.T)
