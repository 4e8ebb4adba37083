"""Rigorous upper bounds at θ0 despite floating point (docs/theory-mlp.md §5, THEORY.md §11).

The forward and backward passes at θ0 are computed in float64; the drift bound
and the Gram's error bound need the *exact* per-sample norms. This module bounds,
per sample, how far the computed quantities can be from the exact ones:

    e^z_k ≥ ‖ẑ_k − z_k‖,  e^h_k ≥ ‖ĥ_k − h_k‖,  e^g_k ≥ ‖ĝ_k − g_k‖,  e^δ_k ≥ ‖δ̂_k − δ_k‖,

by the standard model |fl(Σ a_i b_i) − Σ a_i b_i| ≤ γ_m Σ|a_i b_i| (Higham 2002,
(3.5), any order, blocked or not), ‖|W||h|‖ ≤ ‖W‖_F‖h‖, ‖W‖_op ≤ ω (a proved
upper bound, :func:`op_norm_upper`) and the evaluation models of σ and σ' of
``linalg.rigorous`` (16 ulps absolute/relative). The recursions cost O(n) per
layer once the per-sample norms of the computed passes are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, eigvalsh
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

from ...linalg.rigorous import UNIT_ROUNDOFF, gamma, proven_upper_bound
from ..activations import Activation
from ..names import NONSMOOTH_ACTIVATIONS

U = UNIT_ROUNDOFF
#: |σ̂(z) − σ(z)| ≤ EVAL_ULPS·u·(|σ̂(z)| + 1) and |σ̂'(z) − σ'(z)| ≤ EVAL_ULPS·u·max(1, sup|σ'|).
EVAL_ULPS = 16
#: σ' is computed exactly (a constant, z itself, or a step).
EXACT_PRIME = ("identity", "quadratic", *NONSMOOTH_ACTIVATIONS)
#: Row blocks of the Gram that proves ‖W‖_op (memory ≤ 3·block² floats).
OP_NORM_BLOCK = 4096
#: Below this size λ_max is found by a dense eigensolver, above by Lanczos to EIG_TOL.
DENSE_EIG = 512
EIG_TOL = 1e-9


def _up(x: float) -> float:
    return math.nextafter(math.nextafter(x, math.inf), math.inf)


def norm_factor(size: int) -> float:
    """``1 + γ_{size+2}``: a computed 2-norm of ``size`` entries times this bounds the exact one."""
    return 1.0 + gamma(size + 2)


def frobenius_upper(W: np.ndarray) -> float:
    """An upper bound on ‖W‖_F (sum of squares: γ_N relative, then the square root)."""
    W2 = W.reshape(-1)
    return _up(math.sqrt(float(np.einsum("i,i->", W2, W2))) * norm_factor(W2.size))


def _block_op_norm_sq(V: np.ndarray) -> float:
    """An upper bound on ‖V‖²_op for V (p, q), p ≤ q: λ_max of V Vᵀ proved by Cholesky."""
    V = np.ascontiguousarray(V, dtype=np.float64)
    p, q = V.shape
    frob_sq = frobenius_upper(V) ** 2
    if p == 1 or frob_sq == 0.0:
        return frob_sq
    # The upper triangle of V Vᵀ (p, p), Fortran-ordered; everything below reads only it,
    # through SciPy's BLAS/LAPACK (NumPy's OpenBLAS would contend with SciPy's threads).
    M = blas.dsyrk(1.0, V.T, trans=1, lower=0)
    error = gamma(q) * frob_sq  # |M̂ − M| ≤ γ_q |V||V|ᵀ, ‖|V||V|ᵀ‖₂ ≤ ‖V‖²_F
    try:
        if p <= DENSE_EIG:
            estimate = float(eigvalsh(M, lower=False, subset_by_index=[p - 1, p - 1])[0])
        else:
            op = LinearOperator((p, p), matvec=lambda v: blas.dsymv(1.0, M, v, lower=0))
            ritz = eigsh(op, k=1, which="LA", v0=np.ones(p), ncv=min(p, 48), tol=EIG_TOL)
            estimate = float(ritz[0][0])
    except (ArpackError, ArpackNoConvergence, np.linalg.LinAlgError):
        return frob_sq
    # a failed factorization costs as much as a successful one: try 1 + 1e-6 (far above the
    # Ritz value's error), then 1 + 1e-3; ω is inflated by at most that much.
    proved = proven_upper_bound(M, estimate, error, grow=(1e-6, 1e-3))
    return frob_sq if proved is None else min(proved, frob_sq)


def op_norm_upper(W: np.ndarray) -> float:
    """ω ≥ ‖W‖_op, proved: a Cholesky factorization of t·I − W Wᵀ (THEORY.md §11's test)
    on the smaller side; row blocks of at most ``OP_NORM_BLOCK`` with ‖W‖² ≤ Σ_b ‖W_b‖²;
    ‖W‖_F where no proof succeeds."""
    V = W if W.shape[0] <= W.shape[1] else W.T
    total = 0.0
    for start in range(0, V.shape[0], OP_NORM_BLOCK):
        total += _block_op_norm_sq(V[start : start + OP_NORM_BLOCK])
    return _up(math.sqrt(total) * (1.0 + 4 * U))


@dataclass(frozen=True)
class ActivationConstants:
    """The constants of σ the bounds use (THEORY.md §6, §10 tables)."""

    sup_prime: float  # sup|σ'| (∞ for quadratic)
    lip: float  # sup|σ''|, the Lipschitz constant of σ' (0 for a step σ')
    jump: float  # the jump of a step σ' (relu 1, leaky_relu 1 − α, abs 2), else 0
    prime_eval: float  # absolute evaluation error of σ' (0 where σ' is exact)

    @classmethod
    def of(cls, activation: Activation) -> ActivationConstants:
        from ..flips import jump_of

        name = activation.name
        step = name in NONSMOOTH_ACTIVATIONS
        sup = activation.derivative_bound
        exact = name in EXACT_PRIME
        return cls(
            sup_prime=sup,
            lip=0.0 if step else activation.lipschitz_derivative,
            jump=jump_of(name) if step else 0.0,
            prime_eval=0.0 if exact else EVAL_ULPS * U * max(1.0, sup),
        )


@dataclass(frozen=True)
class LayerConstants:
    """Layer k's numbers in the bounds: α (exact 1/c_k, rounded up), ω ≥ ‖W_k‖_op,
    ‖W_k‖_F and ‖b_k‖ (upper bounds), fan-in and width."""

    fan_in: int
    width: int
    alpha: float
    omega: float
    frob: float
    bias_norm: float


def layer_constants(W: np.ndarray, b: np.ndarray | None, alpha_hat: float) -> LayerConstants:
    """The constants of one layer (ω proved, the others rounded up)."""
    width, fan_in = W.shape
    # α̂ = fl(1/fl(√m)) = α(1 + θ_2), so α ≤ α̂/(1 − γ_2) ≤ α̂(1 + 3u).
    alpha = alpha_hat if alpha_hat == 1.0 else _up(alpha_hat * (1.0 + 3 * U))
    return LayerConstants(
        fan_in=fan_in,
        width=width,
        alpha=alpha,
        omega=op_norm_upper(W),
        frob=frobenius_upper(W),
        bias_norm=0.0 if b is None else frobenius_upper(b),
    )


def preactivation_error(eh_prev: np.ndarray, hn_prev: np.ndarray, lc: LayerConstants) -> np.ndarray:
    """e^z ≥ ‖ẑ − z‖ for ẑ = fl(α̂·(W ĥ) + b): the inherited α ω e^h plus this layer's
    roundings γ_{m+4}(α ‖W‖_F ‖ĥ‖ + ‖b‖) (m dot-product terms, α̂'s two, its product, +b)."""
    own = gamma(lc.fan_in + 4) * (lc.frob * lc.alpha * hn_prev + lc.bias_norm)
    return lc.alpha * lc.omega * eh_prev + own


def segment_prime(dpi: np.ndarray, ez: np.ndarray, ac: ActivationConstants) -> np.ndarray:
    """sup|σ'| on the segments between ẑ and z (and so at z itself), per sample:
    ‖σ̂'(ẑ)‖_∞ + evaluation error + sup|σ''|·e^z, capped by sup|σ'| (a step σ': its sup)."""
    if ac.jump > 0.0:
        return np.full_like(dpi, ac.sup_prime)
    return np.minimum(ac.sup_prime, dpi + ac.prime_eval + ac.lip * ez)


def activation_error(d1: np.ndarray, ez: np.ndarray, hn: np.ndarray, width: int) -> np.ndarray:
    """e^h ≥ ‖σ̂(ẑ) − σ(z)‖ ≤ sup|σ'|·e^z + EVAL_ULPS·u·(‖ĥ‖ + √width)."""
    return d1 * ez + EVAL_ULPS * U * (hn + math.sqrt(width))


def backsignal_error(
    ed_next: np.ndarray, dn_next: np.ndarray, lc_next: LayerConstants
) -> np.ndarray:
    """e^g ≥ ‖ĝ − g‖ for ĝ = fl(α̂·(W_{k+1}ᵀ δ̂_{k+1})): α(ω e^δ + γ_{h+4} ‖W‖_F ‖δ̂‖)."""
    own = gamma(lc_next.width + 4) * lc_next.frob * dn_next
    return lc_next.alpha * (lc_next.omega * ed_next + own)


def delta_error(
    d1: np.ndarray,
    eg: np.ndarray,
    g2: np.ndarray,
    gi: np.ndarray,
    ez: np.ndarray,
    flagged: np.ndarray,
    dn: np.ndarray,
    ac: ActivationConstants,
) -> np.ndarray:
    """e^δ ≥ ‖fl(ĝ ⊙ σ̂'(ẑ)) − g ⊙ σ'(z)‖: the product's rounding, σ̂' vs σ' at ẑ, σ' moving
    from ẑ to z (sup|σ''|·‖ĝ‖_∞·e^z, or for a step σ' its jump on the entries that may have
    changed sign, ``flagged`` = ‖ĝ restricted to |ẑ_i| ≤ e^z‖), and ĝ vs g."""
    return d1 * eg + ac.prime_eval * g2 + ac.lip * gi * ez + ac.jump * flagged + 2.0 * U * dn
