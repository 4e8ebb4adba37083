"""λ_min and λ_max of the NTK Gram K0 = J0 J0ᵀ (THEORY.md §1): dense or iterative.

``dense``: K0 formed by its structure, then LAPACK's symmetric eigensolver (eigenvalues
only: ``syevd`` through NumPy up to ``linalg.dense.NUMPY_MAX_N``, ``syevr`` beyond).
``iterative``: Lanczos (ARPACK ``eigsh``) from the top for λ_max and from the
bottom for λ_min (tried: shift-invert at 0 with conjugate-gradient solves took
10× more products on the built-in example, since K0 has κ² ≈ 50); the products
``K0 v`` use K0 when it fits in memory and ``J0 (J0ᵀ v)`` — two O(n·N·d)
passes, no n×n matrix — otherwise. The residual ‖K0 v − λ v‖ of each returned
eigenpair bounds the eigenvalue's error (|λ − λ_true| ≤ ‖r‖ for symmetric K0)
and is reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import EstimationError
from . import dense

EPS = float(np.finfo(np.float64).eps)
KRYLOV_DIM = 96
Matvec = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Spectrum:
    """Extreme eigenvalues of K0 = J0 J0ᵀ; ``σ = √λ`` (THEORY.md §1).

    ``rank_tol = n·ε·λ_max`` is the level below which λ_min is numerical noise
    (NumPy's ``matrix_rank`` convention). Iterative runs also give the residual
    norms of the two eigenpairs (bounds on the eigenvalues' absolute errors),
    the number of products with K0 and whether K0 was formed (``operator``).
    """

    eig_min: float
    eig_max: float
    rank_tol: float
    method: str = "dense"
    operator: str = "explicit"
    residual_min: float = 0.0
    residual_max: float = 0.0
    n_matvec: int = 0
    threads: dict[str, int] = field(default_factory=dict, compare=False)  # BLAS threads used

    @property
    def sigma_min(self) -> float:
        return math.sqrt(max(self.eig_min, 0.0))

    @property
    def sigma_max(self) -> float:
        return math.sqrt(max(self.eig_max, 0.0))

    @property
    def relative_error_bound(self) -> float:
        """max(‖r_min‖/λ_min, ‖r_max‖/λ_max): relative accuracy of the two eigenvalues."""
        if self.method == "dense":
            return self.rank_tol / self.eig_min if self.eig_min > 0 else math.inf
        lo = self.residual_min / self.eig_min if self.eig_min > 0 else math.inf
        return max(lo, self.residual_max / self.eig_max if self.eig_max > 0 else math.inf)


def _check_finite(K: np.ndarray) -> None:
    if not np.all(np.isfinite(K)):
        raise EstimationError(
            "K0 has non-finite entries (overflow): the inputs or weights are too large; "
            "rescale the data (data.normalize: standardize) or init_std"
        )


def dense_spectrum(K: np.ndarray, *, threads: dict[str, int] | None = None) -> Spectrum:
    """λ_min, λ_max of symmetric K by LAPACK (eigenvalues only; K is left intact)."""
    n = K.shape[0]
    _check_finite(K)
    lam = dense.eigvalsh(K)
    eig_max = float(lam[-1])
    return Spectrum(
        eig_min=float(lam[0]),
        eig_max=eig_max,
        rank_tol=n * EPS * max(eig_max, 0.0),
        threads=dict(threads or {}),
    )


def iterative_spectrum(
    matvec: Matvec,
    n: int,
    *,
    operator: str,
    tol: float = 1e-11,
    seed: int = 0,
    threads: dict[str, int] | None = None,
) -> Spectrum:
    """λ_max and λ_min of a symmetric operator by Lanczos, with their residual norms."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh  # only here

    count = [0]

    def mv(v: np.ndarray) -> np.ndarray:
        count[0] += 1
        out = matvec(np.asarray(v).reshape(n))
        if not np.all(np.isfinite(out)):
            raise EstimationError(
                "K0·v has non-finite entries (overflow): the inputs or weights are too large"
            )
        return out

    K = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    # A wide Krylov basis: ARPACK's default (20) restarts so often that a clustered bottom
    # of the spectrum took 9,391 products on a test case; 96 took under 500.
    ncv = min(n, KRYLOV_DIM)
    try:
        lam_max, vec_max = eigsh(K, k=1, which="LA", tol=tol, v0=v0, ncv=ncv, maxiter=10 * n + 100)
    except ArpackNoConvergence as exc:
        raise EstimationError(f"the Lanczos iteration for λ_max did not converge ({exc})") from None
    eig_max = float(lam_max[0])
    rank_tol = n * EPS * max(eig_max, 0.0)

    try:
        lam_min, vec_min = eigsh(K, k=1, which="SA", tol=tol, v0=v0, ncv=ncv, maxiter=10 * n + 100)
    except ArpackNoConvergence as exc:
        raise EstimationError(f"the Lanczos iteration for λ_min did not converge ({exc})") from None
    eig_min = float(lam_min[0])
    r_max = float(np.linalg.norm(mv(vec_max[:, 0]) - eig_max * vec_max[:, 0]))
    r_min = float(np.linalg.norm(mv(vec_min[:, 0]) - eig_min * vec_min[:, 0]))
    return Spectrum(
        eig_min=eig_min,
        eig_max=eig_max,
        rank_tol=rank_tol,
        method="iterative",
        operator=operator,
        residual_min=r_min,
        residual_max=r_max,
        n_matvec=count[0],
        threads=dict(threads or {}),
    )
