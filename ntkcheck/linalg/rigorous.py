"""Rigorous bounds on the extreme eigenvalues of the NTK Gram K0 (THEORY.md §11).

K0 = J0 J0ᵀ is never available exactly: a model family forms K̂0 in floating point
(by its own structured products) and an eigensolver returns λ̂ for K̂0. This module
turns λ̂ into bounds that hold for K0 itself:

    λ_min(K0) ≥ λ̂_min − E_eig − E_K,        λ_max(K0) ≤ λ̂_max + E_eig + E_K,

with E_K ≥ ‖K̂0 − K0‖₂ (Weyl) and E_eig ≥ |λ̂ − λ(K̂0)|. Notation: u = 2⁻⁵³ (unit
roundoff, round to nearest), γ_k = k u / (1 − k u) (Higham 2002, §3.1, Lemma 3.1).

**E_K, formation** (:func:`gram_formation_error`). When every entry of K̂0 is a sum
of products of the computed factors, each carrying at most m roundings (m the
family's count), |K̂0 − K̃| ≤ γ_m M entrywise, with K̃ the Gram formed exactly from
the computed factors and M the same sums of absolute values. M is PSD with
nonnegative entries and tr M = tr K̃, so ‖K̂0 − K̃‖₂ ≤ ‖|K̂0 − K̃|‖₂ ≤ γ_m ‖M‖₂ ≤
γ_m tr K̃ (Perron–Frobenius monotonicity). The diagonal sums have nonnegative
terms, so K̂0_jj ≥ (1 − γ_m) K̃_jj and tr K̃ ≤ tr K̂0 / (1 − γ_m):

    ‖K̂0 − K̃‖₂ ≤ γ_m / (1 − γ_m) · tr K̂0.

**E_K, factor**: ‖K̃ − K0‖₂, from the computed factors themselves, is the family's
own analysis (a ``rounding`` module in its folder under ``models/``), added
as ``factor_error``.

**E_eig** (:func:`eigensolver_error`). LAPACK's symmetric eigensolvers are
backward stable: λ̂ are the exact eigenvalues of K̂0 + E, ‖E‖₂ ≤ p(n) u ‖K̂0‖₂,
with p(n) "a modestly growing function of n" (LAPACK Users' Guide, 3rd ed., §4.7
and its "Further Details"; Demmel 1997, *Applied Numerical Linear Algebra*, ch. 5:
Weyl's theorem and the backward stability of the symmetric eigensolvers). The Guide
itself takes p(n) = 1 in its error-bound code; we take p(n) = 4n. This is a
*model* constant, not a theorem with explicit constants: :func:`dense_lower_bound`
marks its value not proved (``LowerBound.rigorous`` False); certificates still count
it rigorous, as THEORY.md §11 does ("the dense path subtracts its rounding bound"),
and the Cholesky test below, which needs no such constant, replaces it for σ_min
wherever a copy of K0 fits (σ_max's upper bound keeps the model).

**Cholesky proof** (:func:`cholesky_proves`). If floating-point Cholesky of
B̂ = fl(K̂0 − τ' I) runs to completion, the computed R̂ satisfies R̂ᵀR̂ = B̂ + ΔB,
|ΔB| ≤ γ_{n+1} |R̂ᵀ||R̂| (Demmel 1989, LAWN 14; Higham 2002, Thm 10.3; the proof
uses only completion, not definiteness, and holds for any order of the inner
products). We use γ_{n+2}: blocked BLAS trsm multiplies by a precomputed 1/r_ii
(two roundings instead of one division). R̂ is triangular with positive
diagonal, so R̂ᵀR̂ ≻ 0. As above ‖ΔB‖₂ ≤ γ ‖R̂‖_F² ≤ γ/(1 − γ) tr B̂ ≤
(1 + u) γ/(1 − γ) tr K̂0 (for τ' ≥ 0, 0 < b̂_ii ≤ (1 + u) k̂_ii). The shifted
diagonal b̂_ii = (k̂_ii − τ')(1 + ε_i), |ε_i| ≤ u, adds ‖diag(ε_i (k̂_ii − τ'))‖₂ ≤
u max k̂_ii, and gradual underflow adds at most 4n(n + 3 + max k̂_ii) η, η = 2⁻¹⁰⁷⁴
(our own generous count, in the spirit of Rump 2006, "Verification of positive
definiteness", BIT 46, whose criterion also covers underflow). Hence, with the margin

    μ = (1 + u) γ_{n+2}/(1 − γ_{n+2}) tr K̂0 + u max_i k̂_ii + 4n(n + 3 + max_i k̂_ii) η + E_K,

success at a shift τ' ≥ τ + μ gives λ_min(K̂0) > τ' − (μ − E_K) ≥ τ + E_K, hence
λ_min(K0) ≥ λ_min(K̂0) − E_K > τ.

The analysis assumes no underflow while K̂0 is formed (inputs and weights of
ordinary magnitude); the Cholesky test accounts for underflow explicitly.
All bounds are evaluated in floating point and then rounded outward (a relative
2⁻⁴⁰ or a few ulps), which covers the rounding of the formulas themselves and
of a trace summed in floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import dense

#: Unit roundoff of IEEE double precision, round to nearest (Higham 2002, §2.1).
UNIT_ROUNDOFF = 2.0**-53
#: Smallest positive subnormal double: the absolute error of an underflowing × or /.
_ETA = 2.0**-1074
#: Relative outward rounding of every evaluated bound (≫ the few u of the formulas).
OUTWARD = 1.0 + 2.0**-40
#: p(n) = EIG_P_FACTOR · n in |λ̂ − λ| ≤ p(n) u ‖A‖₂ (LAPACK Users' Guide §4.7).
EIG_P_FACTOR = 4


def round_up(x: float, steps: int = 2) -> float:
    """x moved `steps` ulps towards +∞ (covers one correctly rounded operation)."""
    for _ in range(steps):
        x = math.nextafter(x, math.inf)
    return x


def _down(x: float, steps: int = 2) -> float:
    """x moved `steps` ulps towards −∞."""
    for _ in range(steps):
        x = math.nextafter(x, -math.inf)
    return x


def gamma(k: int) -> float:
    """γ_k = k u / (1 − k u) (Higham 2002, Lemma 3.1), rounded up; ∞ if k u ≥ 1.

    Bounds |θ_k| for any product of k factors (1 + δ_i)^{±1}, |δ_i| ≤ u.
    """
    if k < 0:
        raise ValueError(f"gamma: k must be ≥ 0, got {k}")
    if k == 0:
        return 0.0
    ku = k * UNIT_ROUNDOFF  # exact: u is a power of two and k < 2⁵³
    if ku >= 0.5:
        return math.inf
    return round_up(ku / (1.0 - ku))


def gamma_ratio(k: int) -> float:
    """γ_k / (1 − γ_k), rounded up; ∞ when γ_k ≥ 1/2."""
    g = gamma(k)
    if g >= 0.5:
        return math.inf
    return round_up(g / (1.0 - g))


def trace_upper(K_hat: np.ndarray) -> float:
    """An upper bound on tr(K̂): ``math.fsum`` of the diagonal (correctly rounded), one ulp up."""
    return round_up(math.fsum(np.diagonal(K_hat).tolist()), 1)


def gram_formation_error(trace_K: float, n_terms: int, *, factor_error: float = 0.0) -> float:
    """E_K ≥ ‖K̂0 − K0‖₂ for a Gram formed in floating point (THEORY.md §11).

    E_K = γ_m/(1 − γ_m) · tr K̂0 + factor_error, m = ``n_terms``.

    Derivation (Higham 2002, (3.5) and Lemma 3.3): each entry of K̂0 is a sum of
    products of the computed factors, each times (1 + θ_m), so |K̂0 − K̃| ≤ γ_m M with
    K̃ the Gram formed exactly from the computed factors and M the same sums of absolute
    values. M is PSD with tr M = tr K̃, so ‖K̂0 − K̃‖₂ ≤ γ_m ‖M‖₂ ≤ γ_m tr K̃; the
    diagonal is a sum of squares, so K̂0_jj ≥ (1 − γ_m) K̃_jj and tr K̃ ≤
    tr K̂0/(1 − γ_m). ``factor_error`` bounds ‖K̃ − K0‖₂ (the error of the computed
    factors themselves: the family's analysis); 0 only if they are exact.

    Args:
        trace_K: tr(K̂0), or any upper bound on it (e.g. :func:`trace_upper`; a
            plain floating-point sum of the n ≤ 2²⁰ nonnegative diagonal entries is
            also covered by the final outward rounding).
        n_terms: m ≥ the roundings per term (the family's count of its ``gram``).
        factor_error: additive bound on ‖K̃ − K0‖₂.
    """
    if not (trace_K >= 0.0) or not math.isfinite(trace_K):
        raise ValueError(f"gram_formation_error: trace_K must be finite and ≥ 0, got {trace_K}")
    if n_terms < 1:
        raise ValueError(f"gram_formation_error: n_terms must be ≥ 1, got {n_terms}")
    if not (factor_error >= 0.0):
        raise ValueError(f"gram_formation_error: factor_error must be ≥ 0, got {factor_error}")
    # trace_K·(1 + 2⁻³⁰) covers a floating-point trace of up to 2²⁰ terms (γ_n ≤ 2⁻³³).
    return round_up((gamma_ratio(n_terms) * trace_K * (1.0 + 2.0**-30) + factor_error) * OUTWARD)


def eigensolver_error(n: int, eig_max_abs: float) -> float:
    """Bound on |λ̂_i − λ_i(K̂0)| for LAPACK's symmetric eigensolvers (THEORY.md §11).

    |λ̂_i − λ_i| ≤ p(n) u ‖K̂0‖₂ (LAPACK Users' Guide, 3rd ed., §4.7 "Error bounds
    for the symmetric eigenproblem": backward stability + Weyl; Demmel 1997,
    *Applied Numerical Linear Algebra*, §5.2). The Guide leaves p(n) as "modestly
    growing" and uses p(n) = 1; we take p(n) = 4n. ‖K̂0‖₂ is not known exactly:
    with a = max|λ̂_i| (``eig_max_abs``), ‖K̂0‖₂ ≤ a/(1 − p u), so the bound is
    p u a/(1 − p u).
    """
    if n < 0 or not (eig_max_abs >= 0.0):
        raise ValueError(f"eigensolver_error: need n ≥ 0, eig_max_abs ≥ 0; got {n}, {eig_max_abs}")
    # p u/(1 − p u) is γ_p exactly.
    return round_up(gamma(EIG_P_FACTOR * max(n, 1)) * eig_max_abs * OUTWARD)


@dataclass(frozen=True)
class LowerBound:
    """A lower bound on λ_min(K0) and σ_min = √λ_min(K0) (THEORY.md §11).

    ``error`` is what was subtracted from the estimate (λ̂_min − eig_min_lower).
    ``rigorous`` is True only when no unproven constant enters (the Cholesky
    proof); ``method``: "dense-evr", "cholesky", or the name of the
    estimate when nothing could be proved (then the numbers are the estimate).
    """

    eig_min_lower: float
    sigma_min_lower: float
    error: float
    rigorous: bool
    method: str


def _sqrt_down(x: float) -> float:
    return 0.0 if x <= 0.0 else max(_down(math.sqrt(x), 1), 0.0)


def dense_lower_bound(
    eig_min_hat: float, eig_max_hat: float, n: int, formation_error: float
) -> LowerBound:
    """λ_min(K0) ≥ λ̂_min − E_eig − E_K from a dense eigensolver on K̂0 (THEORY.md §11).

    E_eig = :func:`eigensolver_error` (n, max(|λ̂_min|, |λ̂_max|)), E_K =
    ``formation_error`` (:func:`gram_formation_error`); Weyl's inequality.
    σ_min_lower = √max(λ_lower, 0), rounded down. ``rigorous=False``: E_eig rests
    on the model p(n) = 4n; :func:`proven_lower_bound` can prove the value.
    """
    if not (formation_error >= 0.0):
        raise ValueError(f"dense_lower_bound: formation_error must be ≥ 0, got {formation_error}")
    error = round_up(
        eigensolver_error(n, max(abs(eig_min_hat), abs(eig_max_hat))) + formation_error
    )
    lower = _down(eig_min_hat - error)
    return LowerBound(lower, _sqrt_down(lower), error, False, "dense-evr")


def upper_bound_eig_max(eig_max_hat: float, n: int, formation_error: float) -> float:
    """λ_max(K0) ≤ λ̂_max + E_eig + E_K (THEORY.md §11); σ_max ≤ √ of it.

    Same model as :func:`dense_lower_bound` (p(n) = 4n), the other side of Weyl.
    """
    if not (formation_error >= 0.0):
        raise ValueError(f"upper_bound_eig_max: formation_error must be ≥ 0, got {formation_error}")
    return round_up(eig_max_hat + eigensolver_error(n, abs(eig_max_hat)) + formation_error)


def cholesky_margin(K_hat: np.ndarray, formation_error: float) -> float:
    """μ such that Cholesky success on fl(K̂ − (τ + μ) I) proves λ_min(K0) > τ (THEORY.md §11).

    μ = (1 + u) γ_{n+2}/(1 − γ_{n+2}) tr K̂ + u max_i k̂_ii
        + 4n(n + 3 + max_i k̂_ii) η + E_K,     η = 2⁻¹⁰⁷⁴,

    from R̂ᵀR̂ = B̂ + ΔB, |ΔB| ≤ γ_{n+2} |R̂ᵀ||R̂| (Higham 2002, Thm 10.3 with one
    extra rounding for a reciprocal-multiply trsm; Demmel 1989), the rounding of
    the shifted diagonal, and gradual underflow (after Rump 2006).
    """
    K_hat = np.asarray(K_hat)
    n = K_hat.shape[0]
    if n == 0:
        return round_up(formation_error)
    diag = np.diagonal(K_hat)
    dmax = max(float(diag.max()), 0.0)
    tr = max(trace_upper(K_hat), 0.0)
    chol = (1.0 + UNIT_ROUNDOFF) * gamma_ratio(n + 2) * tr
    shift_rounding = UNIT_ROUNDOFF * dmax
    underflow = round_up(4.0 * n * (n + 3.0 + dmax) * _ETA)
    return round_up((chol + shift_rounding + underflow + formation_error) * OUTWARD)


def cholesky_proves(K_hat: np.ndarray, tau: float, formation_error: float) -> bool:
    """True only if a floating-point Cholesky proves λ_min(K0) > τ (THEORY.md §11).

    Runs LAPACK ``potrf`` (:func:`linalg.dense.cholesky_succeeds`) on a copy of
    fl(K̂ − τ' I), τ' ≥ τ + :func:`cholesky_margin` (K̂, E_K) rounded up; success (info = 0,
    finite positive diagonal) gives R̂ᵀR̂ ≻ 0 and hence λ_min(K0) > τ
    (Demmel 1989; Higham 2002, Thm 10.3; Rump 2006). K0 = J0 J0ᵀ ⪰ 0, so any
    τ < 0 is proved without computation. ``formation_error`` ≥ ‖K̂ − K0‖₂, K̂
    read as the symmetric matrix of its upper triangle. False means "not proved",
    not "false".
    """
    K_hat = np.asarray(K_hat)
    if K_hat.ndim != 2 or K_hat.shape[0] != K_hat.shape[1]:
        raise ValueError(f"cholesky_proves: K_hat must be square, got shape {K_hat.shape}")
    if not math.isfinite(tau) or not (formation_error >= 0.0):
        return False
    if tau < 0.0:
        return True
    if K_hat.shape[0] == 0 or not np.isfinite(K_hat).all():
        return False
    shift = round_up(tau + cholesky_margin(K_hat, formation_error))
    if not math.isfinite(shift):
        return False
    return _cholesky_of_shifted(K_hat, 1.0, -shift)


def proven_lower_bound(
    K_hat: np.ndarray,
    eig_min_estimate: float,
    formation_error: float,
    *,
    shrink: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2),
    estimate_method: str = "lanczos",
) -> LowerBound:
    """The largest τ that a Cholesky test proves below λ_min(K0) (THEORY.md §11).

    For f in ``shrink`` (ascending), shift K̂ by λ_est (1 − f) and try to prove
    τ_f = λ_est (1 − f) − μ, μ = :func:`cholesky_margin` (K̂, E_K), with
    :func:`cholesky_proves`; the first success is the largest τ tried
    (rigorous=True, method="cholesky", error = λ_est − τ). When τ_f ≤ 0 for every
    f or no Cholesky succeeds, the estimate is returned unproved (rigorous=False,
    method=``estimate_method``, error 0). ``eig_min_estimate`` is typically
    Lanczos' λ_min (an upper estimate) or the dense λ̂_min.
    """
    est = float(eig_min_estimate)
    unproved = LowerBound(est, _sqrt_down(est), 0.0, False, estimate_method)
    if not math.isfinite(est) or est <= 0.0:
        return unproved
    mu = cholesky_margin(K_hat, formation_error)
    for f in sorted(shrink):
        tau = _down(est * (1.0 - f) - mu)
        if tau <= 0.0:
            break
        if cholesky_proves(K_hat, tau, formation_error):
            return LowerBound(tau, _sqrt_down(tau), round_up(est - tau), True, "cholesky")
    return unproved


def cholesky_proves_upper(K_hat: np.ndarray, t: float, formation_error: float) -> bool:
    """True only if a floating-point Cholesky proves λ_max(K0) < t (THEORY.md §11).

    Cholesky success on B̂ = fl(t' I − K̂) gives R̂ᵀR̂ = B̂ + ΔB with
    ‖ΔB‖₂ ≤ γ'·tr B̂, γ' = γ_{n+2}/(1 − γ_{n+2}), tr B̂ ≤ (1 + u) n t', and the
    rounded diagonal adds ≤ u (t' + max k̂_ii); so λ_max(K̂) < t' + (1 + u)γ' n t'
    + u (t' + max k̂_ii) + underflow, and λ_max(K0) ≤ λ_max(K̂) + E_K. We solve for
    the largest t' whose right-hand side is ≤ t and run ``potrf`` on it.
    """
    K_hat = np.asarray(K_hat)
    n = K_hat.shape[0]
    if n == 0 or not math.isfinite(t) or t <= 0.0 or not (formation_error >= 0.0):
        return False
    if not np.isfinite(K_hat).all():
        return False
    dmax = max(float(np.diagonal(K_hat).max()), 0.0)
    underflow = round_up(4.0 * n * (n + 3.0 + dmax + t) * _ETA)
    slack = round_up(UNIT_ROUNDOFF * dmax + underflow + formation_error)
    growth = round_up(1.0 + (1.0 + UNIT_ROUNDOFF) * gamma_ratio(n + 2) * n + UNIT_ROUNDOFF)
    t_shift = _down((t - slack) / growth)
    if not (t_shift > 0.0):
        return False
    return _cholesky_of_shifted(K_hat, -1.0, t_shift)


def _cholesky_of_shifted(K_hat: np.ndarray, sign: float, shift: float) -> bool:
    """:func:`linalg.dense.cholesky_succeeds` on B = fl(sign·K̂ + shift·I), one n×n copy."""
    B = np.array(K_hat, dtype=np.float64, order="F", copy=True)
    if sign < 0.0:
        np.negative(B, out=B)  # exact
    idx = np.diag_indices_from(B)
    B[idx] = B[idx] + shift
    return dense.cholesky_succeeds(B)


def proven_upper_bound(
    K_hat: np.ndarray,
    eig_max_estimate: float,
    formation_error: float,
    *,
    grow: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2),
) -> float | None:
    """The smallest t = λ_est·(1 + f) + E_K (f in ``grow``) proved ≥ λ_max(K0), or None."""
    est = float(eig_max_estimate)
    if not math.isfinite(est) or est <= 0.0:
        return None
    n = np.asarray(K_hat).shape[0]
    for f in sorted(grow):
        t = round_up(est * (1.0 + f) + formation_error + (1.0 + f) * gamma(n + 2) * n * est)
        if cholesky_proves_upper(K_hat, t, formation_error):
            return t
    return None
