"""Measured quantities of THEORY.md §1–§2 and §6: σ_min, σ_max, L0, β, and (H2).

The γ-free part (spectrum, (H2), β, the drift bound, local β) is a
``Measurement``, made once per problem and reused for every γ
(``estimate_at``): only L0 depends on γ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..choices import BetaMethod, SpectrumMethod
from ..errors import EstimationError
from ..linalg import dense
from ..linalg.memory import fits, require
from ..linalg.rigorous import (
    dense_lower_bound,
    proven_lower_bound,
    proven_upper_bound,
    trace_upper,
    upper_bound_eig_max,
)
from ..linalg.spectrum import Spectrum, dense_spectrum, iterative_spectrum
from ..linalg.threads import blas_threads, threads_for
from ..models.protocol import BetaSummary, GramError, LocalBeta, Model
from ..models.registry import shrink_advice
from ..problem import Problem
from ..theory.drift import Drift, LipschitzDrift, NoDrift

SPECTRUM_METHODS = tuple(SpectrumMethod)
BETA_METHODS = tuple(BetaMethod)
#: ``auto`` uses the dense eigensolver up to this n (about 10 s of ``syevr`` on 2 cores).
DENSE_MAX_N = 6000


@dataclass(frozen=True)
class FullRank:
    """Hypothesis (H2) ``σ_min > 0``; when it fails, ``code`` and ``data`` say why.

    Codes: ``underparametrized`` (P < m, m = n·C rows: THEORY.md §14),
    ``repeated_inputs`` (points i, j), ``zero_input`` (point i), ``readout_rank``
    (C > 1: the frozen output weights have rank r < C, ``data["rank"]``), ``zero_jacobian``
    (J0 = 0), ``numerical_rank`` (λ_min ≤ m·ε·λ_max). ``data`` carries ``n`` (the
    Gram's size m, today's key) and, with C > 1 outputs, ``points`` and ``outputs``.
    """

    holds: bool
    code: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _repeated_rows(X: np.ndarray) -> tuple[int, int] | None:
    """Indices (i, j), i < j, of two identical rows of X, or None."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    dup = np.flatnonzero(first[inverse] != np.arange(X.shape[0]))
    if dup.size == 0:
        return None
    j = int(dup[0])
    return int(first[inverse[j]]), j


def check_full_rank(problem: Problem, spectrum: Spectrum) -> FullRank:
    """(H2) with the cause of failure (THEORY.md §2, §14): P < m = n·C, repeated or zero
    inputs, frozen output weights of rank < C, or numerical rank.

    With C outputs, two equal inputs x_i = x_j make rows (i, c) and (j, c) of J0 equal
    for every output c (f_c(x_i) = f_c(x_j) as functions of θ): C pairs of equal rows,
    rank ≤ m − C, so σ_min = 0 whatever C is.
    """
    X, m, P, C = problem.X, problem.rows, problem.model.n_params, problem.outputs
    shape = {} if C == 1 else {"points": problem.n, "outputs": C}
    if m > P:
        return FullRank(False, "underparametrized", {"params": P, "n": m, **shape})
    pair = _repeated_rows(X)
    if pair is not None:
        return FullRank(False, "repeated_inputs", {"i": pair[0], "j": pair[1], **shape})
    obstruction = problem.model.obstruction(X)
    if obstruction is not None:
        where = {"i": obstruction.index} if obstruction.index >= 0 else {}
        rank = {"rank": obstruction.rank} if obstruction.rank >= 0 else {}
        return FullRank(False, obstruction.code, {**where, **rank, **shape})
    if spectrum.eig_max <= 0.0:
        return FullRank(False, "zero_jacobian")
    if spectrum.eig_min <= spectrum.rank_tol:
        ratio = spectrum.eig_min / spectrum.eig_max if spectrum.eig_max > 0 else 0.0
        return FullRank(False, "numerical_rank", {"ratio": ratio, "n": m, **shape})
    return FullRank(True)


@dataclass(frozen=True)
class SpectrumBounds:
    """σ_min and σ_max as the certificate may rely on them (THEORY.md §11).

    ``sigma_min_lower`` ≤ σ_min(J0) and ``sigma_max_upper`` ≥ σ_max(J0) when
    ``rigorous``; ``method``: ``dense`` (the eigenvalues minus/plus the rounding
    bounds of forming K0 and of ``syevr``), ``dense+cholesky`` (λ_min's bound
    proved by a Cholesky factorization of K0 − τI), ``cholesky`` (Lanczos values
    proved by Cholesky on K0), ``lanczos`` (estimates: nothing proved), ``unproved``
    (the family gives no rigorous bound on K0's rounding: the eigenvalues, estimates).
    """

    sigma_min_lower: float
    sigma_max_upper: float
    method: str
    rigorous: bool
    gram_error: float = 0.0


def _unproved(spectrum: Spectrum, E_K: GramError) -> SpectrumBounds:
    """The family cannot bound K0's rounding: the eigenvalues themselves, labelled
    estimates (a σ_min of 0 would make every certificate fail silently)."""
    return SpectrumBounds(spectrum.sigma_min, spectrum.sigma_max, "unproved", False, E_K.value)


def _bounds_dense(
    spectrum: Spectrum, n: int, gram_error: GramError, K_proof: np.ndarray | None
) -> SpectrumBounds:
    if not gram_error.rigorous:
        return _unproved(spectrum, gram_error)
    E_K = gram_error.value
    lower = dense_lower_bound(spectrum.eig_min, spectrum.eig_max, n, E_K)
    upper = math.sqrt(max(upper_bound_eig_max(spectrum.eig_max, n, E_K), 0.0))
    method, smin = "dense", lower.sigma_min_lower
    if K_proof is not None:  # a proof that needs no model of LAPACK's backward error
        proved = proven_lower_bound(K_proof, spectrum.eig_min, E_K)
        if proved.rigorous:
            method, smin = "dense+cholesky", proved.sigma_min_lower
    return SpectrumBounds(smin, upper, method, True, E_K)


def _bounds_iterative(
    spectrum: Spectrum, gram_error: GramError, K: np.ndarray | None
) -> SpectrumBounds:
    E_K = gram_error.value
    if K is not None and gram_error.rigorous:
        lower = proven_lower_bound(K, spectrum.eig_min, E_K)
        upper = proven_upper_bound(K, spectrum.eig_max, E_K)
        if lower.rigorous and upper is not None:
            return SpectrumBounds(lower.sigma_min_lower, math.sqrt(upper), "cholesky", True, E_K)
    return SpectrumBounds(spectrum.sigma_min, spectrum.sigma_max, "lanczos", False, E_K)


def measure_spectrum(
    problem: Problem, *, method: str = "auto", seed: int = 0
) -> tuple[Spectrum, SpectrumBounds]:
    """λ_min, λ_max of K0 by the memory/time plan, and the bounds a certificate may use.

    ``dense``: form K0 and use LAPACK's eigensolver (refused when K0 does not fit).
    ``iterative``: Lanczos on K0 if it fits, else on ``v ↦ J0 (J0ᵀ v)``.
    ``auto``: dense when K0 fits and m ≤ ``DENSE_MAX_N``, else iterative.
    K0 is m × m, m = n·C rows (THEORY.md §14); the family's plans take the points n
    and count its C themselves.
    When the proof's copies of K0 fit, a Cholesky factorization proves the lower
    bound on λ_min (THEORY.md §11).
    """
    if method not in SPECTRUM_METHODS:
        raise EstimationError(f"--spectrum: {method!r} is not one of {', '.join(SPECTRUM_METHODS)}")
    X, model, n, m = problem.X, problem.model, problem.n, problem.rows
    dense_bytes = model.peak_bytes("gram", n)
    dense_fits = fits(dense_bytes)
    proof_fits = fits(dense_bytes + 8 * m * m * dense.cholesky_matrices(m))
    if method == "auto":
        method = "dense" if dense_fits and m <= DENSE_MAX_N else "iterative"
    gram_threads = threads_for("gram", model.gram_flops(n))
    eigen_threads = threads_for("eigen", m)
    if method == "dense":
        require(
            dense_bytes,
            f"the NTK Gram matrix K0 ({m:,} × {m:,})",
            "use --spectrum iterative (matrix-free: no n×n matrix) or reduce data.n",
        )
        with blas_threads(gram_threads):
            K = model.gram(X)
            E_K = _gram_error(model, X, K)
        proof = E_K.rigorous and math.isfinite(E_K.value) and proof_fits
        K_proof = K if proof else None  # eigvalsh keeps K
        with blas_threads(eigen_threads):
            spectrum = dense_spectrum(K, threads={"gram": gram_threads, "eigen": eigen_threads})
            return spectrum, _bounds_dense(spectrum, m, E_K, K_proof)
    if dense_fits:
        with blas_threads(gram_threads):
            K = model.gram(X)
            E_K = _gram_error(model, X, K)
        with blas_threads(eigen_threads):
            spectrum = iterative_spectrum(
                lambda v: K @ v,
                m,
                operator="explicit",
                seed=seed,
                threads={"gram": gram_threads, "eigen": eigen_threads},
            )
            proof = E_K.rigorous and math.isfinite(E_K.value) and proof_fits
            return spectrum, _bounds_iterative(spectrum, E_K, K if proof else None)
    size = f"n = {n:,}"  # with C outputs: points × outputs (m rows), THEORY.md §14
    if problem.outputs > 1:
        size += f" points × C = {problem.outputs} outputs (m = {m:,} rows)"
    require(
        model.peak_bytes("matvec", n),
        f"the matrix-free spectrum ({size}, {model.info().head})",
        shrink_advice(model.info().family),
    )
    cache = fits(model.cache_bytes(n))
    with blas_threads(gram_threads):
        spectrum = iterative_spectrum(
            model.gram_operator(X, cache=cache),
            m,
            operator="matrix-free",
            seed=seed,
            threads={"gram": gram_threads},
        )
    return spectrum, _bounds_iterative(spectrum, GramError(math.inf), None)


def _gram_error(model: Model, X: np.ndarray, K: np.ndarray) -> GramError:
    """E_K for the formed K0, ∞ when K0 is not finite (then the spectrum raises)."""
    if not np.all(np.isfinite(np.diagonal(K))):
        return GramError(math.inf)
    return model.gram_error(X, trace_upper(K))


@dataclass(frozen=True)
class Measurement:
    """Everything at θ0 that does not depend on γ (THEORY.md §1–§2, §6, §8)."""

    spectrum: Spectrum
    bounds: SpectrumBounds
    full_rank: FullRank
    beta: BetaSummary
    beta_method: str  # "analytic" | "local": which β the certificate uses
    drift: Drift
    f0_norm: float
    y_norm: float
    f0_dot_y: float
    beta_local: float | None = None
    beta_local_info: LocalBeta | None = None
    family: str = ""  # the model's family (the report's words for it)


@dataclass(frozen=True)
class Estimate:
    """A measurement and L0 at one γ: everything a certificate reads (JSON ``estimate``).

    Every key of JSON ``estimate`` is an attribute of the same name here, holding the
    same value (∞ where the JSON writes null), except: ``full_rank`` is the
    :class:`FullRank` whose ``holds`` the JSON writes, and ``full_rank_reason`` is the
    sentence ``report/`` makes of its ``code`` (tests/test_api.py checks the names).
    """

    measurement: Measurement
    loss0: float

    @property
    def spectrum(self) -> Spectrum:
        return self.measurement.spectrum

    @property
    def full_rank(self) -> FullRank:
        return self.measurement.full_rank

    @property
    def sigma_min(self) -> float:
        return self.measurement.spectrum.sigma_min

    @property
    def sigma_max(self) -> float:
        return self.measurement.spectrum.sigma_max

    @property
    def sigma_min_lower(self) -> float:
        """The σ_min a rigorous certificate uses: a lower bound (THEORY.md §11)."""
        return self.measurement.bounds.sigma_min_lower

    @property
    def sigma_max_upper(self) -> float:
        """The σ_max a rigorous certificate uses: an upper bound (THEORY.md §11)."""
        return self.measurement.bounds.sigma_max_upper

    @property
    def beta(self) -> float:
        """The β the certificate uses: the analytic bound, or β_loc with ``certify.beta: local``."""
        m = self.measurement
        if m.beta_method == "local":
            assert m.beta_local is not None
            return m.beta_local
        return m.beta.beta

    @property
    def beta_bound(self) -> str:
        return "local" if self.measurement.beta_method == "local" else self.measurement.beta.bound

    @property
    def f0_norm(self) -> float:
        return self.measurement.f0_norm

    @property
    def beta_method(self) -> str:
        return self.measurement.beta_method

    @property
    def beta_local(self) -> float | None:
        return self.measurement.beta_local

    @property
    def condition_number(self) -> float:
        """κ = σ_max / σ_min (∞ when σ_min = 0)."""
        return self.sigma_max / self.sigma_min if self.sigma_min > 0 else math.inf

    @property
    def sigma_bounds(self) -> SpectrumBounds:
        """How σ_min_lower, σ_max_upper were proved (``method``, ``rigorous``, ``gram_error``)."""
        return self.measurement.bounds

    @property
    def spectrum_method(self) -> str:
        return self.measurement.spectrum.method

    @property
    def eig_min(self) -> float:
        return self.measurement.spectrum.eig_min

    @property
    def eig_max(self) -> float:
        return self.measurement.spectrum.eig_max

    @property
    def beta_bounds(self) -> dict[str, float]:
        """The analytic β bounds by name (``frobenius``, ``operator``, ``lecture``, …)."""
        return dict(self.measurement.beta.bounds)

    @property
    def lipschitz_derivative(self) -> float:
        """sup|σ''| (∞ where σ' jumps)."""
        return self.measurement.beta.lipschitz_derivative

    @property
    def drift_bound(self) -> str:
        """Which drift bound h(ρ) the certificate uses (``lipschitz``, ``flip_count``, …)."""
        return self.measurement.drift.kind

    @property
    def beta_local_info(self) -> LocalBeta | None:
        return self.measurement.beta_local_info


def measure(
    problem: Problem,
    *,
    beta: str = "analytic",
    with_local_beta: bool = False,
    spectrum_method: str = "auto",
    seed: int = 0,
) -> Measurement:
    """Measure σ_min, σ_max (from K0), (H2), β and the drift bound at θ0.

    ``beta``: ``analytic`` uses the model's rigorous bound (THEORY.md §6);
    ``local`` uses the local estimate β_loc (a certificate from it is labelled
    an estimate). ``with_local_beta`` computes β_loc beside the analytic bound.
    Where σ' jumps (relu, …) β_loc is ∞: σ'' vanishes almost everywhere there,
    but J is not Lipschitz.
    """
    if beta not in BETA_METHODS:
        raise EstimationError(f"certify.beta: {beta!r} is not one of {', '.join(BETA_METHODS)}")
    X, model = problem.X, problem.model
    spectrum, bounds = measure_spectrum(problem, method=spectrum_method, seed=seed)
    summary = model.beta(X)
    info, local_value = None, None
    if beta == "local" or with_local_beta:
        with blas_threads(threads_for("rhs", problem.n * model.n_params)):
            info = model.local_beta(X, seed=seed)
        local_value = info.value if info is not None else math.inf
    drift: Drift
    if beta == "local":  # the model's own drift bound is not used (nor computed)
        assert local_value is not None
        drift = (
            LipschitzDrift(local_value, rigorous=False)
            if math.isfinite(local_value)
            else NoDrift("not_lipschitz", rigorous=False)
        )
    else:
        drift = model.drift(X)
    f0 = problem.f0_trained
    return Measurement(
        spectrum=spectrum,
        bounds=bounds,
        full_rank=check_full_rank(problem, spectrum),
        beta=summary,
        beta_method=beta,
        drift=drift,
        f0_norm=float(np.linalg.norm(f0)),
        y_norm=float(np.linalg.norm(problem.y)),
        f0_dot_y=float(f0 @ problem.y),
        beta_local=local_value,
        beta_local_info=info,
        family=model.info().family,
    )


def estimate_at(problem: Problem, measurement: Measurement, gamma: float) -> Estimate:
    """The measurement with L0(γ) = ½‖γ f0 − y‖² (THEORY.md §4)."""
    loss0 = problem.loss0(gamma)
    if not math.isfinite(loss0):
        raise EstimationError(
            f"the initial loss ½‖γ f_θ0 − y‖² overflows float64 (γ = {gamma:g}, "
            f"max |y| = {float(np.max(np.abs(problem.y))):.3g}); rescale the targets or γ"
        )
    return Estimate(measurement=measurement, loss0=loss0)
