"""Dense symmetric kernels: products AᵀA, eigenvalues, Cholesky, the largest singular value.

Up to order ``NUMPY_MAX_N`` they run through NumPy's BLAS/LAPACK, so that a
``certify`` of a small problem never imports SciPy (a third of its start-up);
beyond it through SciPy's, in place (no extra n×n copies). NumPy's ``A.T @ A``
is a ``syrk`` (it recognises the transposed operand), ``eigvalsh`` a backward
stable ``syevd`` and ``cholesky`` a ``potrf``: the rounding analyses of
``linalg.rigorous`` (any summation order, any backward stable eigensolver) hold
for either path. One problem uses one path for all its kernels (two OpenBLAS
builds interleaved in one loop made ``syrk`` 2× slower here).
"""

from __future__ import annotations

import numpy as np

#: Largest order handled by NumPy: its `syrk` path and the extra passes of the
#: accumulation cost 10–15% at n = 1024 (measured), more than SciPy's import saves
#: in a sweep; below, the import (0.15 s) outweighs them.
NUMPY_MAX_N = 512


def by_numpy(n: int) -> bool:
    """True when kernels of order ``n`` run through NumPy (see the module's docstring)."""
    return n <= NUMPY_MAX_N


#: n×n temporaries beside K that forming K, or its eigenvalues, allocate: one on either
#: path (NumPy: a block's product, then ``eigvalsh``'s copy of its input; SciPy: X Xᵀ
#: beside the accumulated S Sᵀ, then ``eigvalsh``'s Fortran copy).
GRAM_WORKSPACE = 1


def cholesky_matrices(n: int) -> int:
    """n×n arrays that a Cholesky proof of ``linalg.rigorous`` allocates beside its input
    at order ``n``: the shifted copy B, plus for NumPy the symmetrization's temporaries,
    ``cholesky``'s copy of B and its factor (SciPy's ``potrf`` works in place on B)."""
    return 4 if by_numpy(n) else 1


def new_gram(n: int) -> np.ndarray:
    """A zero n×n accumulator for :func:`syrk_into`: C-ordered for NumPy, Fortran for SciPy."""
    return np.zeros((n, n), order="C" if by_numpy(n) else "F")


def matmul_nt(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A Bᵀ`` for A (m, k), B (p, k): a (m, p) product, by the path of order p."""
    if by_numpy(B.shape[0]):
        return A @ B.T
    from scipy.linalg import blas

    return blas.dgemm(1.0, A.T, B.T, trans_a=1)  # C-ordered A, B: their transposes are views


def syrk_into(G: np.ndarray, A: np.ndarray, alpha: float) -> np.ndarray:
    """``G + α AᵀA`` for A (k, n), into G from :func:`new_gram` (its upper triangle at least).

    Returns the updated accumulator (the same array for NumPy, possibly a new one
    for SciPy): use the returned value.
    """
    n = G.shape[0]
    if by_numpy(n):
        T = A.T @ A  # NumPy calls syrk for a product with its own transpose
        T *= alpha
        G += T
        return G
    from scipy.linalg import blas

    return blas.dsyrk(alpha, A, beta=1.0, c=G, trans=1, lower=0, overwrite_c=1)


def syrk(A: np.ndarray, alpha: float) -> np.ndarray:
    """``α AᵀA`` (n, n) for A (k, n): the upper triangle at least."""
    if by_numpy(A.shape[1]):
        T = A.T @ A
        T *= alpha
        return T
    from scipy.linalg import blas

    return blas.dsyrk(alpha, A, trans=1, lower=0)


def gram_rows(X: np.ndarray) -> np.ndarray:
    """``X Xᵀ`` (n, n) for X (n, d): the upper triangle at least."""
    return syrk(np.asfortranarray(X.T), 1.0)


def symmetric_from(G: np.ndarray) -> np.ndarray:
    """The C-ordered symmetric matrix of G's upper triangle (G is consumed)."""
    G = symmetrize_upper(G)
    return G if G.flags.c_contiguous else np.ascontiguousarray(G.T)  # Fortran: Gᵀ is a view


def eigvalsh(K: np.ndarray) -> np.ndarray:
    """All eigenvalues, ascending, of the symmetric matrix that K's upper triangle
    defines; K is left intact (both paths work on a copy: one n×n temporary)."""
    if by_numpy(K.shape[0]):
        return np.linalg.eigvalsh(K, UPLO="U")
    from scipy.linalg import eigvalsh as scipy_eigvalsh

    return scipy_eigvalsh(K, lower=False, overwrite_a=False, check_finite=False, driver="evr")


def cholesky_succeeds(B: np.ndarray) -> bool:
    """True when floating-point Cholesky of the symmetric matrix that B's upper triangle
    defines runs to completion with a finite, positive diagonal (B is overwritten)."""
    if by_numpy(B.shape[0]):
        symmetrize_upper(B)  # NumPy's potrf reads the lower triangle
        try:
            R = np.linalg.cholesky(B)
        except np.linalg.LinAlgError:
            return False
    else:
        from scipy.linalg import lapack

        R, info = lapack.dpotrf(B, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return False
    r = np.diagonal(R)
    return bool(np.isfinite(R).all() and (r > 0.0).all())


def largest_singular_value(X: np.ndarray) -> float:
    """σ_max(X) by an SVD (values only)."""
    return float(np.linalg.svd(X, compute_uv=False)[0])


def symmetrize_upper(G: np.ndarray, step: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``G`` onto its lower one, in place, in blocks."""
    n = G.shape[0]
    for start in range(0, n, step):
        stop = min(start + step, n)
        diag = G[start:stop, start:stop]
        diag[...] = np.triu(diag) + np.triu(diag, 1).T
        G[stop:, start:stop] = G[start:stop, stop:].T
    return G
