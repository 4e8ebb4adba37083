"""The lecture's two-layer network (THEORY.md §6), never building the n×P Jacobian.

``f_W(x) = s · Σ_i a_i σ(⟨w_i, x⟩)``, θ = W ∈ R^{N×d} trained, a_i = ±1 fixed,
``s`` the output factor (1 standard, 1/√N ntk, 1/N mean-field). With
``S_ji = s a_i σ'(⟨w_i, x_j⟩)`` the Jacobian row j is ``(S_ji x_j)_i``, so

    J V   = rowsum(S ⊙ (X Vᵀ))              (n,)      Jacobian-vector product
    Jᵀ r  = (S ⊙ r 1ᵀ)ᵀ X                   (N, d)    vector-Jacobian product
    K     = (X Xᵀ) ⊙ (S Sᵀ)                 (n, n)    empirical NTK (Gram)

Everything runs over blocks of neurons, so the memory is O(n² + n·block), never
O(n·N·d), and the dominant product S Sᵀ is one BLAS-3 ``syrk`` per block.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, svdvals

from .activations import Activation

#: Neuron-block size target: n·block float64 values per temporary (16 MiB: below glibc's
#: 32 MiB mmap ceiling, so blocks are reused instead of page-faulted in each time).
BLOCK_VALUES = 1 << 21

SCALINGS = ("standard", "ntk", "mean_field")


def output_factor(scaling: str, width: int) -> float:
    """``s``: 1 (standard), 1/√N (ntk), 1/N (mean_field) — THEORY.md §6."""
    return {"standard": 1.0, "ntk": 1.0 / math.sqrt(width), "mean_field": 1.0 / width}[scaling]


@dataclass(frozen=True)
class BetaBounds:
    """The analytic global bounds on β (THEORY.md §6), all ``L_σ'·s·(norm of X)``.

    ``frobenius = L s √(Σ_j ‖x_j‖⁴)``, ``operator = L s max_j‖x_j‖ ‖X‖_op``,
    ``lecture = L s ‖X‖_F²`` (valid, looser; shown for reference).
    """

    frobenius: float
    operator: float
    lecture: float

    @property
    def best(self) -> tuple[str, float]:
        """The smaller rigorous bound and its name (ties go to ``operator``)."""
        if self.frobenius < self.operator:
            return "frobenius", self.frobenius
        return "operator", self.operator


def _times(lipschitz: float, s: float, norm: float) -> float:
    """``L·s·norm`` with 0·∞ = 0 (a zero norm means J does not move at all)."""
    return 0.0 if norm == 0.0 or lipschitz == 0.0 else lipschitz * s * norm


def factor_gram(X: np.ndarray, S: np.ndarray, T: np.ndarray | None = None) -> np.ndarray:
    """``(X Xᵀ) ⊙ (S Tᵀ)``: the Gram ``J_S J_Tᵀ`` of two Jacobians with factors S, T (n, N).

    With T = S this is the NTK ``K``; with S = T = S_t − S_0 it is
    ``(J_t − J_0)(J_t − J_0)ᵀ``, whose top eigenvalue is ``‖J_t − J_0‖²_op``.
    """
    G = S @ (S if T is None else T).T
    G *= X @ X.T
    return G


@dataclass(frozen=True, eq=False)
class Linearization:
    """``f = f_W(X)`` (n,) and the Jacobian factor ``S`` (n, N) at one W (O(nN) memory)."""

    f: np.ndarray
    S: np.ndarray

    def vjp(self, X: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``Jᵀ r = (S ⊙ r 1ᵀ)ᵀ X = Sᵀ (r ⊙ X)`` (N, d)."""
        return self.S.T @ (r[:, None] * X)


def _symmetrize_upper(G: np.ndarray, step: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``G`` onto its lower one, in place, in blocks."""
    n = G.shape[0]
    for start in range(0, n, step):
        stop = min(start + step, n)
        diag = G[start:stop, start:stop]
        diag[...] = np.triu(diag) + np.triu(diag, 1).T
        G[stop:, start:stop] = G[start:stop, stop:].T
    return G


@dataclass(frozen=True, eq=False)
class TwoLayerNetwork:
    """``f_W(x) = s Σ_i a_i σ(⟨w_i, x⟩)`` with trained ``W`` (N, d) and fixed ``a`` (N,)."""

    W: np.ndarray
    a: np.ndarray
    s: float
    activation: Activation

    @property
    def width(self) -> int:
        return self.W.shape[0]

    @property
    def dim(self) -> int:
        return self.W.shape[1]

    @property
    def n_params(self) -> int:
        """P = N·d (only W is trained)."""
        return self.W.size

    def _blocks(self, n: int) -> Iterator[slice]:
        step = max(1, min(self.width, BLOCK_VALUES // max(n, 1)))
        for start in range(0, self.width, step):
            yield slice(start, min(start + step, self.width))

    def _w(self, W: np.ndarray | None) -> np.ndarray:
        return self.W if W is None else W

    def forward(self, X: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        """``f_W(X) = s σ(X Wᵀ) a`` (n,)."""
        W = self._w(W)
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += self.activation.sigma(X @ W[b].T) @ self.a[b]
        return self.s * out

    def _factor(self, X: np.ndarray, W: np.ndarray, b: slice) -> np.ndarray:
        """Block of ``S = s σ'(X Wᵀ) diag(a)`` (n, |b|)."""
        S = self.activation.derivative_overwrite(X @ W[b].T)
        S *= self.s * self.a[b]
        return S

    def linearize(self, X: np.ndarray, W: np.ndarray | None = None) -> Linearization:
        """``f_W(X)`` and the full factor ``S = s σ'(X Wᵀ) diag(a)`` from one product X Wᵀ."""
        sigma, S = self.activation.value_and_derivative(X @ self._w(W).T)
        f = self.s * (sigma @ self.a)
        S *= self.s * self.a
        return Linearization(f=f, S=S)

    def jvp(self, X: np.ndarray, V: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        """``J_W V`` for a direction V (N, d): ``rowsum(S ⊙ (X Vᵀ))`` (n,)."""
        W = self._w(W)
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += np.einsum("ji,ji->j", self._factor(X, W, b), X @ V[b].T)
        return out

    def vjp(self, X: np.ndarray, r: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        """``J_Wᵀ r`` for r (n,): ``(S ⊙ r 1ᵀ)ᵀ X`` (N, d)."""
        W = self._w(W)
        out = np.empty_like(W)
        for b in self._blocks(X.shape[0]):
            out[b] = (self._factor(X, W, b) * r[:, None]).T @ X
        return out

    def gram(self, X: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
        """Empirical NTK ``K = (X Xᵀ) ⊙ (S Sᵀ)`` (n, n), symmetric, float64.

        ``S Sᵀ`` is accumulated over neuron blocks with BLAS ``dsyrk`` (half the
        flops of a general product); peak memory O(n² + n·block). Both products
        of a block go through SciPy's BLAS: interleaving NumPy's and SciPy's
        (two OpenBLAS builds, two thread pools) made ``dsyrk`` 2× slower here.
        """
        W = self._w(W)
        n = X.shape[0]
        G = np.zeros((n, n), order="F")
        Xt = np.asfortranarray(X.T)  # (d, n), so that dgemm reads it without a copy
        for b in self._blocks(n):
            # σ'(W_b Xᵀ): the block of Sᵀ up to the factor s a_i, (|b|, n), Fortran-ordered.
            # Since a_i² = 1, S Sᵀ = s² Σ_i σ'_i σ'_iᵀ: the factor goes into syrk's alpha.
            St = blas.dgemm(1.0, W[b].T, Xt, trans_a=1)
            St = self.activation.derivative_overwrite(St)
            G = blas.dsyrk(self.s**2, St, beta=1.0, c=G, trans=1, lower=0, overwrite_c=1)
        G *= blas.dsyrk(1.0, Xt, trans=1, lower=0)  # upper triangles: (S Sᵀ) ⊙ (X Xᵀ)
        # G is Fortran-ordered, so its transpose is a C-ordered view (no copy); K is symmetric.
        return np.ascontiguousarray(_symmetrize_upper(G).T)

    def beta_bounds(self, X: np.ndarray) -> BetaBounds:
        """Rigorous global Lipschitz bounds of W ↦ J_W (THEORY.md §6)."""
        L = self.activation.lipschitz_derivative
        sq = np.einsum("ij,ij->i", X, X)  # ‖x_j‖²
        op = float(svdvals(X, check_finite=False)[0])
        return BetaBounds(
            frobenius=_times(L, self.s, math.sqrt(float(sq @ sq))),
            operator=_times(L, self.s, math.sqrt(float(sq.max())) * op),
            lecture=_times(L, self.s, float(sq.sum())),
        )
