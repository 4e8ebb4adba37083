"""The rounding analysis of the two-layer Gram (THEORY.md §11): how many roundings an
entry of K̂0 carries as ``TwoLayerNetwork.gram`` forms it, and the error of the
computed factor S itself.

K0 = (X Xᵀ) ⊙ (S Sᵀ), S_ji = s a_i σ'(⟨w_i, x_j⟩), formed as dgemm for Z = W Xᵀ, σ'
in place, s²·Sᵀ S by dsyrk over neuron blocks, then ⊙ X Xᵀ by dsyrk. Every entry of
K̂0 is a sum of products ŝ_ji ŝ_ki x_jl x_kl, each carrying at most m =
:func:`gram_n_terms` (N, d) roundings — N for the S Sᵀ inner product (any order,
blocked, FMA or not: Higham (3.5)), the rounded α = fl(s²), d for X Xᵀ and one for ⊙
— which ``linalg.rigorous.gram_formation_error`` turns into ‖K̂0 − K̃‖₂, K̃ :=
(X Xᵀ) ⊙ (Ŝ Ŝᵀ) formed exactly from the computed Ŝ; M = (|Ŝ||Ŝ|ᵀ) ⊙ (|X||X|ᵀ) is
PSD by the Schur product theorem.

**Factor** (:func:`factor_error_bound`). Ŝ differs from S because
ẑ = fl(⟨w_i, x_j⟩) has |ẑ − z| ≤ γ_d (|X||W|ᵀ)_ji and σ' is evaluated in floating
point. With ΔJ = Ĵ − J (rows (ΔS_ji x_j)_i) and Ĵ Ĵᵀ − J Jᵀ = Ĵ ΔJᵀ + ΔJ Ĵᵀ − ΔJ ΔJᵀ:
‖K̃ − K0‖₂ ≤ 2 ‖Ĵ‖₂ ‖ΔJ‖_F + ‖ΔJ‖_F², ‖Ĵ‖₂² ≤ tr K̃, ‖ΔJ‖_F² = Σ_ji ΔS_ji² ‖x_j‖².
E_K = γ_m/(1 − γ_m) tr K̂0 + (this factor term).

**Several outputs** (THEORY.md §14, §12). K0 = (X Xᵀ ⊗ 1_C 1_Cᵀ) ⊙ (S̃ S̃ᵀ), m × m with
m = n·C, S̃_{(j,c),i} = s a_ic σ'(⟨w_i, x_j⟩), formed as dgemm for Z, σ' in place, the
block of S̃ᵀ as σ̂'·a_ic (exact: a_ic = ±1), s²·S̃ S̃ᵀ by dsyrk over neuron blocks, then ⊙
(X Xᵀ)_jk for the entry ((j,c),(k,c')). An entry is fl(s²)·Σ_i (a_ic ŝ_ji)(a_ic' ŝ_ki)
times (X Xᵀ)_jk: the same N + d + 3 roundings per term as for one output, so
``gram_n_terms`` is unchanged; M = (|S̃||S̃|ᵀ) ⊙ (|X||X|ᵀ ⊗ 1 1ᵀ) is PSD (Schur product of
two PSD matrices, the second a Kronecker product of PSD ones) with diag M = diag K̃, so
‖K̂0 − K̃‖₂ ≤ γ_m tr K̃ with the m × m trace. The factor: row (j,c), block i of ΔJ is
ΔS_ji a_ic x_j, so ‖ΔJ‖_F² = Σ_ji ΔS_ji² ‖a_i‖² ‖x_j‖² ≤ max_i ‖a_i‖² Σ_ji ΔS_ji² ‖x_j‖²
(= C times the one-output sum for a ±1 readout: ``readout_norm_sq``), and
‖K̃ − K0‖₂ ≤ 2 ‖Ĵ‖₂ ‖ΔJ‖_F + ‖ΔJ‖_F² with ‖Ĵ‖₂² ≤ tr K̃ (m × m) as before.
"""

from __future__ import annotations

import math

import numpy as np

from ...linalg.rigorous import OUTWARD, UNIT_ROUNDOFF, gamma, gamma_ratio, round_up

#: Default σ' accuracy: |σ̂'(z) − σ'(z)| ≤ DERIVATIVE_ULPS · u · derivative_scale.
DERIVATIVE_ULPS = 16
#: Spare roundings in gram_n_terms beyond the N + d + 3 of the analysis.
_SPARE_TERMS = 2


def gram_n_terms(N: int, d: int) -> int:
    """Roundings per term of an entry of K̂0 as ``TwoLayerNetwork.gram`` forms it (THEORY.md §11).

    N + 2 for fl(s²)·Σ_i ŝ_ji ŝ_ki (one product, ≤ N − 1 additions along any
    summation tree, blocked or not, α = fl(s²) rounded and applied once), d for
    (X Xᵀ)_jk, 1 for the Hadamard product: N + d + 3, plus 2 spare roundings
    (e.g. a BLAS that applies α twice).
    """
    if N < 1 or d < 1:
        raise ValueError(f"gram_n_terms: need N ≥ 1 and d ≥ 1, got N={N}, d={d}")
    return N + d + 3 + _SPARE_TERMS


def factor_error_bound(
    X: np.ndarray,
    W: np.ndarray,
    s: float,
    lipschitz_derivative: float,
    *,
    trace_K: float,
    derivative_scale: float,
    jump: float = 0.0,
    derivative_ulps: int = DERIVATIVE_ULPS,
    block_values: int = 1 << 21,
    readout_norm_sq: float = 1.0,
) -> float:
    """Bound on ‖K̃ − K0‖₂ from computing S in floating point (THEORY.md §11).

    K̃ = (X Xᵀ) ⊙ (Ŝ Ŝᵀ) with the computed Ŝ_ji = s σ̂'(ẑ_ji), K0 with the exact
    S_ji = s σ'(z_ji), z = ⟨w_i, x_j⟩ for the given float X, W, s. Per entry:

        |Ŝ − S|_ji ≤ δ_ji = s (c u D + L γ_d a_ji + jump · [|ẑ_ji| ≤ 2 γ_d a_ji]),

    a = |X||W|ᵀ, c = ``derivative_ulps``, D = ``derivative_scale``, L =
    ``lipschitz_derivative``. Argument: |ẑ − z| ≤ γ_d a (Higham (3.5), any dgemm),
    so σ' moves by ≤ L γ_d a on a smooth piece; a jump of σ' at 0 can be crossed
    only where |z| ≤ γ_d a, i.e. (our ẑ also within γ_d a of z) where
    |ẑ| ≤ 2 γ_d a. Evaluation: |σ̂'(ẑ) − σ'(ẑ)| ≤ c u D is an *absolute* model —
    a relative one fails for 1 − tanh²(z), whose cancellation gives relative
    error 1 at z ≈ 19 — with D = max(1, sup|σ'|) for the library's activations
    (c = 16 covers 1 − t² with a tanh good to 4 ulps: (2·4 + 2) u), D = 0 where
    σ' is exact (identity, quadratic, relu, leaky_relu, abs).

    Then ‖ΔJ‖_F² ≤ Σ_ji δ_ji² ‖x_j‖² and ‖K̃ − K0‖₂ ≤ 2 √(tr K̃) ‖ΔJ‖_F + ‖ΔJ‖_F²,
    tr K̃ ≤ trace_K/(1 − γ_m), m = :func:`gram_n_terms` (N, d).

    Without a jump the sum has a closed form in O((N + n) d²), no n×N array:

        Σ_ji δ_ji² ‖x_j‖² = s² Σ_j ‖x_j‖² (N c̄² + 2 c̄ ℓ |x_j|ᵀ Σ_i |w_i| + ℓ² |x_j|ᵀ |W|ᵀ|W| |x_j|),

    c̄ = c u D, ℓ = L γ_d: every term is a sum of products of nonnegative numbers, each
    through at most N + n + 3d + 32 roundings, so dividing the computed value by
    1 − γ_{N+n+3d+32} bounds the exact one (a d×d temporary). It is used when
    d(N + n) ≤ nN; otherwise, and with a jump (the flags need every ẑ_ji), the sum runs
    entry by entry over neuron blocks of about ``block_values`` entries (two n×block
    temporaries), each term through at most n·N + d + 16 roundings.

    Args:
        X: inputs (n, d). W: first-layer weights (N, d). s: output factor.
        lipschitz_derivative: L = sup|σ''| on the pieces where σ' is continuous;
            0 for relu, leaky_relu, abs (piecewise constant σ'). ∞ with
            ``jump == 0`` returns ∞ (no bound).
        trace_K: tr(K̂0) or an upper bound (:func:`trace_upper`).
        derivative_scale: D in the evaluation model above.
        jump: the largest change of σ' across (or at) its kink at 0: relu 1,
            leaky_relu 1 − α, abs 2; 0 for continuous σ'.
        derivative_ulps: c in the evaluation model above.
        block_values: target size n·block of the per-block temporaries.
        readout_norm_sq: max_i ‖a_i‖² of a C-output readout (C for ±1 entries; an
            exact number): ‖ΔJ‖_F² gains this factor (module docstring). 1 for one
            ±1 output.
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"factor_error_bound: need X (n, d), W (N, d); got {X.shape}, {W.shape}")
    if (
        not (jump >= 0.0 and derivative_scale >= 0.0 and lipschitz_derivative >= 0.0)
        or derivative_ulps < 0
    ):
        raise ValueError(
            "factor_error_bound: jump, derivative_scale, lipschitz_derivative, "
            "derivative_ulps must be ≥ 0"
        )
    if not (trace_K >= 0.0) or not math.isfinite(trace_K):
        raise ValueError(f"factor_error_bound: trace_K must be finite and ≥ 0, got {trace_K}")
    if math.isinf(lipschitz_derivative):
        if jump > 0.0:
            raise ValueError(
                "factor_error_bound: for a step σ' pass lipschitz_derivative=0 (σ' is "
                "constant between jumps) and its jump"
            )
        return math.inf
    n, d = X.shape
    N = W.shape[0]
    if n == 0 or N == 0 or s == 0.0:
        return 0.0
    c_abs = derivative_ulps * UNIT_ROUNDOFF * derivative_scale
    x2 = np.einsum("jl,jl->j", X, X)  # ‖x_j‖², relative error ≤ γ_d
    if jump == 0.0 and d * (N + n) <= n * N:  # the closed form is the cheaper one
        total = _smooth_factor_sum(X, W, x2, c_abs, lipschitz_derivative * gamma(d))
        terms = N + n + 3 * d + 32
    else:
        total = _flagged_factor_sum(X, W, x2, c_abs, lipschitz_derivative, jump, block_values)
        terms = n * N + d + 16  # every term of `total` through ≤ n·N + d + 16 roundings
    if readout_norm_sq != 1.0:
        if not (readout_norm_sq > 0.0 and math.isfinite(readout_norm_sq)):
            raise ValueError(
                f"factor_error_bound: readout_norm_sq must be finite and > 0, got {readout_norm_sq}"
            )
        total *= readout_norm_sq  # one more rounding of every term
        terms += 1
    g_sum = gamma(terms)
    if g_sum >= 0.5:
        return math.inf
    dJ = round_up(abs(s) * math.sqrt(total / (1.0 - g_sum)))
    if not math.isfinite(dJ):
        return math.inf
    J_norm = math.sqrt(trace_K / (1.0 - gamma(gram_n_terms(N, d))))
    return round_up((2.0 * J_norm * dJ + dJ * dJ) * OUTWARD)


def _smooth_factor_sum(
    X: np.ndarray, W: np.ndarray, x2: np.ndarray, c_abs: float, lip: float
) -> float:
    """fl(Σ_j ‖x_j‖² Σ_i (c̄ + ℓ a_ji)²), a = |X||W|ᵀ exact, by the closed form above."""
    absX, absW = np.abs(X), np.abs(W)
    N = W.shape[0]
    linear = absX @ absW.sum(axis=0)  # Σ_i a_ji
    quadratic = np.einsum("jl,jl->j", absX @ (absW.T @ absW), absX)  # Σ_i a_ji²
    per_row = (N * c_abs * c_abs) + (2.0 * c_abs * lip) * linear + (lip * lip) * quadratic
    return float(x2 @ per_row)


def _flagged_factor_sum(
    X: np.ndarray,
    W: np.ndarray,
    x2: np.ndarray,
    c_abs: float,
    lipschitz_derivative: float,
    jump: float,
    block_values: int,
) -> float:
    """fl(Σ_ji δ_ji² ‖x_j‖²)/s² with the jump flags, over blocks of neurons."""
    n, d = X.shape
    N = W.shape[0]
    g_d = gamma_ratio(d)  # computed |X||W|ᵀ ≥ (1 − γ_d) a, so γ_d a ≤ γ_d/(1 − γ_d) â
    lip = lipschitz_derivative * g_d
    flag_tol = 3.0 * g_d  # ≥ 2 γ_d/(1 − γ_d) with room for the rounding of flag_tol·â
    absX = np.abs(X)
    block = max(1, block_values // max(n, 1))
    total = 0.0
    for start in range(0, N, block):
        Wb = W[start : start + block]
        A = absX @ np.abs(Wb).T  # (n, B) â_ji
        delta = A * lip
        delta += c_abs
        if jump > 0.0:
            Z = X @ Wb.T
            np.abs(Z, out=Z)
            delta += jump * (flag_tol * A >= Z)
        np.square(delta, out=delta)
        total += float(delta.sum(axis=1) @ x2)
    return total
