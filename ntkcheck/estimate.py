"""Measured quantities of THEORY.md §1–§2 and §6: σ_min, σ_max, L0, β, and (H2).

K0 is formed by its structure (``TwoLayerNetwork.gram``), in float64, after a
memory plan; its extreme eigenvalues come from a dense or an iterative
eigensolver (``spectrum.py``), chosen by ``measure_spectrum``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .beta_local import LocalBeta, local_beta
from .errors import EstimationError
from .memory import FLOAT_BYTES, certify_peak_bytes, fits, matrix_free_peak_bytes, require
from .model import BLOCK_VALUES, BetaBounds, TwoLayerNetwork
from .problem import Problem
from .spectrum import EPS, Spectrum, dense_spectrum, iterative_spectrum

SPECTRUM_METHODS = ("auto", "dense", "iterative")
#: ``auto`` uses the dense eigensolver up to this n (about 10 s of ``syevr`` on 2 cores).
DENSE_MAX_N = 6000


@dataclass(frozen=True)
class FullRank:
    """Hypothesis (H2) ``σ_min > 0``; when it fails, ``reason`` says why."""

    holds: bool
    reason: str = ""


@dataclass(frozen=True)
class Estimate:
    """Everything the certificate needs, measured at θ0 (DESIGN.md ``estimate``)."""

    sigma_min: float
    sigma_max: float
    spectrum: Spectrum
    full_rank: FullRank
    loss0: float
    f0_norm: float
    y_norm: float
    f0_dot_y: float
    beta: float
    beta_method: str
    beta_bound: str
    beta_bounds: BetaBounds
    lipschitz_derivative: float
    beta_local: float | None = None
    beta_local_info: LocalBeta | None = None

    @property
    def condition_number(self) -> float:
        """κ = σ_max / σ_min (∞ when σ_min = 0)."""
        return self.sigma_max / self.sigma_min if self.sigma_min > 0 else math.inf


def _repeated_rows(X: np.ndarray) -> tuple[int, int] | None:
    """Indices (i, j), i < j, of two identical rows of X, or None."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    dup = np.flatnonzero(first[inverse] != np.arange(X.shape[0]))
    if dup.size == 0:
        return None
    j = int(dup[0])
    return int(first[inverse[j]]), j


def check_full_rank(X: np.ndarray, n_params: int, spectrum: Spectrum) -> FullRank:
    """(H2) with the cause of failure: P < n, repeated or zero inputs, or numerical rank."""
    n = X.shape[0]
    if n_params < n:
        return FullRank(
            False,
            f"P = {n_params:,} parameters < n = {n:,} points: J0 has more rows than columns, "
            "so σ_min = 0; increase model.width",
        )
    pair = _repeated_rows(X)
    if pair is not None:
        return FullRank(
            False,
            f"inputs {pair[0]} and {pair[1]} are identical: J0 has two equal rows, so σ_min = 0; "
            "remove repeated points",
        )
    zero = np.flatnonzero(~X.any(axis=1))
    if zero.size:
        return FullRank(
            False, f"input {int(zero[0])} is zero: its row of J0 vanishes, so σ_min = 0; remove it"
        )
    if spectrum.eig_max <= 0.0:
        return FullRank(
            False,
            "J0 = 0: σ'(⟨w_i, x_j⟩) vanishes for every neuron and input (saturated or "
            "flat activation); reduce model.init_std or rescale the data",
        )
    if spectrum.eig_min <= spectrum.rank_tol:
        ratio = spectrum.eig_min / spectrum.eig_max if spectrum.eig_max > 0 else 0.0
        return FullRank(
            False,
            f"σ_min is below numerical precision (λ_min/λ_max = {ratio:.1e} ≤ n·ε = "
            f"{n * EPS:.1e}): J0 is numerically rank-deficient (e.g. too few neurons, or an "
            "activation whose features span a small space such as identity with n > d)",
        )
    return FullRank(True)


def measure_spectrum(problem: Problem, *, method: str = "auto", seed: int = 0) -> Spectrum:
    """λ_min, λ_max of K0 by the memory/time plan.

    ``dense``: form K0 and use ``syevr`` (refused when K0 does not fit).
    ``iterative``: Lanczos on K0 if it fits, else on ``v ↦ J0 (J0ᵀ v)``.
    ``auto``: dense when K0 fits and n ≤ ``DENSE_MAX_N``, else iterative.
    """
    if method not in SPECTRUM_METHODS:
        raise EstimationError(f"--spectrum: {method!r} is not one of {', '.join(SPECTRUM_METHODS)}")
    X, net = problem.X, problem.network
    n, d, N = X.shape[0], X.shape[1], net.width
    dense_bytes = certify_peak_bytes(n, d, N, BLOCK_VALUES)
    dense_fits = fits(dense_bytes)
    if method == "auto":
        method = "dense" if dense_fits and n <= DENSE_MAX_N else "iterative"
    if method == "dense":
        require(
            dense_bytes,
            f"the NTK Gram matrix K0 ({n:,} × {n:,})",
            "use --spectrum iterative (matrix-free: no n×n matrix) or reduce data.n",
        )
        return dense_spectrum(net.gram(X))
    if dense_fits:
        K = net.gram(X)
        return iterative_spectrum(lambda v: K @ v, n, operator="explicit", seed=seed)
    require(
        matrix_free_peak_bytes(n, d, N, BLOCK_VALUES),
        f"the matrix-free spectrum (n = {n:,}, N = {N:,}, d = {d:,})",
        "reduce data.n or model.width",
    )
    cache = fits(2 * FLOAT_BYTES * n * N)
    return iterative_spectrum(
        gram_operator(net, X, cache_factor=cache), n, operator="matrix-free", seed=seed
    )


def gram_operator(
    net: TwoLayerNetwork, X: np.ndarray, *, cache_factor: bool
) -> Callable[[np.ndarray], np.ndarray]:
    """``v ↦ K0 v = J0 (J0ᵀ v)`` without forming K0 (or J0).

    With ``cache_factor`` the factor S (n × N) is computed once and each product
    is three BLAS passes; without it, S is recomputed in blocks of neurons each
    time (memory O(n·block)).
    """
    if not cache_factor:
        return lambda v: net.jvp(X, net.vjp(X, v))
    S = net.linearize(X).S

    def matvec(v: np.ndarray) -> np.ndarray:
        U = S.T @ (v[:, None] * X)  # J0ᵀ v as (N, d)
        return np.einsum("ji,ji->j", S, X @ U.T)  # J0 (J0ᵀ v)

    return matvec


def estimate(
    problem: Problem,
    *,
    gamma: float | None = None,
    beta: str = "analytic",
    with_local_beta: bool = False,
    spectrum_method: str = "auto",
    seed: int = 0,
) -> Estimate:
    """Measure σ_min, σ_max (from K0), L0 at ``gamma`` (default the problem's γ) and β.

    ``beta``: ``analytic`` uses the smaller rigorous bound of THEORY.md §6;
    ``local`` uses the local estimate β_loc (a certificate from it is labelled
    an estimate). ``with_local_beta`` computes β_loc beside the analytic bound.
    For activations whose σ' jumps (relu, …) β_loc is ∞: σ'' vanishes almost
    everywhere there, but J is not Lipschitz. ``spectrum_method``: see
    :func:`measure_spectrum`.
    """
    if beta not in ("analytic", "local"):
        raise EstimationError(f"certify.beta: {beta!r} is not one of analytic, local")
    gamma = problem.gamma if gamma is None else gamma
    X, net = problem.X, problem.network
    spectrum = measure_spectrum(problem, method=spectrum_method, seed=seed)
    bounds = net.beta_bounds(X)
    bound_name, beta_value = bounds.best
    info = None
    local_value = None
    if beta == "local" or with_local_beta:
        if net.activation.smooth:
            info = local_beta(net, X, seed=seed)
            local_value = info.value
        else:
            local_value = math.inf
    if beta == "local":
        assert local_value is not None
        bound_name, beta_value = "local", local_value
    f0 = problem.f0_trained
    loss0 = problem.loss0(gamma)
    if not math.isfinite(loss0):
        raise EstimationError(
            f"the initial loss ½‖γ f_θ0 − y‖² overflows float64 (γ = {gamma:g}, "
            f"max |y| = {float(np.max(np.abs(problem.y))):.3g}); rescale the targets or γ"
        )
    return Estimate(
        sigma_min=spectrum.sigma_min,
        sigma_max=spectrum.sigma_max,
        spectrum=spectrum,
        full_rank=check_full_rank(X, net.n_params, spectrum),
        loss0=loss0,
        f0_norm=float(np.linalg.norm(f0)),
        y_norm=float(np.linalg.norm(problem.y)),
        f0_dot_y=float(f0 @ problem.y),
        beta=beta_value,
        beta_method=beta,
        beta_bound=bound_name,
        beta_bounds=bounds,
        lipschitz_derivative=net.activation.lipschitz_derivative,
        beta_local=local_value,
        beta_local_info=info,
    )
