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
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ...linalg import dense
from ...linalg.rigorous import gram_formation_error
from ...linalg.spectrum import EPS
from ...linalg.threads import blas_threads, threads_for
from ...theory.drift import Drift, LipschitzDrift, NoDrift
from .. import protocol
from ..activations import Activation
from ..names import NONSMOOTH_ACTIVATIONS
from ..protocol import BetaSummary, GramError, LocalBeta, ModelInfo, Obstruction
from .memory import (
    BLOCK_VALUES,
    certify_peak_bytes,
    matrix_free_peak_bytes,
    simulate_peak_bytes,
)
from .rounding import factor_error_bound, gram_n_terms


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
    """``f = f_W(X)`` (n,) and the Jacobian factor ``S`` (n, N) at one W (O(nN) memory).

    Row j of J is ``(S_ji x_j)_i``, so ``J V = rowsum(S ⊙ (X Vᵀ))`` and
    ``Jᵀ r = Sᵀ (r ⊙ X)``; θ is W flattened row by row.
    """

    X: np.ndarray
    f: np.ndarray
    S: np.ndarray

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v = rowsum(S ⊙ (X Vᵀ))`` for v = vec(V), V (N, d); for v (P, k), (n, k)."""
        N, d = self.S.shape[1], self.X.shape[1]
        if v.ndim == 2:
            return np.stack([self.jvp(v[:, c]) for c in range(v.shape[1])], axis=1)
        return np.einsum("ji,ji->j", self.S, self.X @ v.reshape(N, d).T)

    def vjp(self, r: np.ndarray) -> np.ndarray:
        """``Jᵀ r = Sᵀ (r ⊙ X)`` flattened (P,); for r (n, k), k such products as (P, k)."""
        if r.ndim == 1:
            return (self.S.T @ (r[:, None] * self.X)).ravel()
        k, d = r.shape[1], self.X.shape[1]
        both = self.S.T @ np.hstack([r[:, [c]] * self.X for c in range(k)])  # (N, k·d)
        return both.reshape(-1, k, d).transpose(0, 2, 1).reshape(-1, k)

    def gram(self) -> np.ndarray:
        return factor_gram(self.X, self.S)

    def drift_gram(self, other: protocol.Linearization) -> np.ndarray:
        """J is linear in S, so ``J − J_o`` has the factor ``S − S_o`` (no cancellation)."""
        if not isinstance(other, Linearization):
            raise TypeError("drift_gram needs a linearization of the same two-layer network")
        return factor_gram(self.X, self.S - other.S)


@dataclass(frozen=True, eq=False)
class TwoLayerNetwork:
    """``f_W(x) = s Σ_i a_i σ(⟨w_i, x⟩)`` with trained ``W`` (N, d) and fixed ``a`` (N,).

    θ = vec(W) (row-major), P = N·d. Implements ``ntkcheck.models.Model``.
    """

    W: np.ndarray
    a: np.ndarray
    s: float
    activation: Activation
    scaling: str = "standard"

    @property
    def width(self) -> int:
        return self.W.shape[0]

    @property
    def n_params(self) -> int:
        """P = N·d (only W is trained)."""
        return self.W.size

    @property
    def outputs(self) -> int:
        """C = 1 (one output per input)."""
        return 1

    @property
    def theta0(self) -> np.ndarray:
        return self.W.reshape(-1)

    def info(self) -> ModelInfo:
        N, d = self.W.shape
        summary: dict[str, int | float | str] = {
            "width": N,
            "params": self.n_params,
            "activation": self.activation.name,
            "scaling": self.scaling,
        }
        return ModelInfo(
            family="two_layer",
            params=self.n_params,
            activation=self.activation.name,
            summary=summary,
            heuristic_size=N,
            head=f"two-layer {self.activation.name} network, N = {N:,}, d = {d:,}",
            tail=f"{self.scaling} scaling",
        )

    def _blocks(self, n: int) -> Iterator[slice]:
        step = max(1, min(self.width, BLOCK_VALUES // max(n, 1)))
        for start in range(0, self.width, step):
            yield slice(start, min(start + step, self.width))

    def _w(self, theta: np.ndarray | None) -> np.ndarray:
        return self.W if theta is None else theta.reshape(self.W.shape)

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``f_W(X) = s σ(X Wᵀ) a`` (n,)."""
        W = self._w(theta)
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += self.activation.sigma(X @ W[b].T) @ self.a[b]
        return self.s * out

    def _factor(self, X: np.ndarray, W: np.ndarray, b: slice) -> np.ndarray:
        """Block of ``S = s σ'(X Wᵀ) diag(a)`` (n, |b|)."""
        S = self.activation.derivative_overwrite(X @ W[b].T)
        S *= self.s * self.a[b]
        return S

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> Linearization:
        """``f_W(X)`` and the full factor ``S = s σ'(X Wᵀ) diag(a)`` from one product X Wᵀ
        (σ and σ' in its memory where the activation allows: one n×N array per step of GD)."""
        f, S = self.activation.reduce_then_derivative(
            X @ self._w(theta).T, lambda sigma: self.s * (sigma @ self.a)
        )
        S *= self.s * self.a
        return Linearization(X=X, f=f, S=S)

    def jvp(self, X: np.ndarray, v: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``J_θ v`` for v (P,), in blocks of neurons: ``rowsum(S ⊙ (X Vᵀ))`` (n,)."""
        W, V = self._w(theta), v.reshape(self.W.shape)
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += np.einsum("ji,ji->j", self._factor(X, W, b), X @ V[b].T)
        return out

    def vjp(self, X: np.ndarray, r: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``J_θᵀ r`` for r (n,), in blocks of neurons: ``(S ⊙ r 1ᵀ)ᵀ X`` flattened (P,)."""
        W = self._w(theta)
        out = np.empty_like(W)
        for b in self._blocks(X.shape[0]):
            out[b] = (self._factor(X, W, b) * r[:, None]).T @ X
        return out.reshape(-1)

    def gram(self, X: np.ndarray) -> np.ndarray:
        """Empirical NTK ``K0 = (X Xᵀ) ⊙ (S Sᵀ)`` (n, n), symmetric, float64.

        ``S Sᵀ`` is accumulated over neuron blocks by ``syrk`` (half the flops of a
        general product); peak memory O(n² + n·block). All products of one Gram go
        through one BLAS (``linalg.dense``: NumPy's up to its order limit, SciPy's
        beyond).
        """
        W = self.W
        n = X.shape[0]
        G = dense.new_gram(n)
        for b in self._blocks(n):
            # σ'(W_b Xᵀ): the block of Sᵀ up to the factor s a_i, (|b|, n).
            # Since a_i² = 1, S Sᵀ = s² Σ_i σ'_i σ'_iᵀ: the factor goes into syrk's alpha.
            St = self.activation.derivative_overwrite(dense.matmul_nt(W[b], X))
            G = dense.syrk_into(G, St, self.s**2)
        G *= dense.gram_rows(X)  # upper triangles at least: (S Sᵀ) ⊙ (X Xᵀ)
        return dense.symmetric_from(G)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        """``v ↦ K0 v = J0 (J0ᵀ v)`` without forming K0 (or J0).

        With ``cache`` the factor S (n × N) is computed once and each product is
        three BLAS passes; without it, each product makes S block by block, once:
        K0 v = Σ_b J_b (J_bᵀ v) (memory O(n·block)).
        """
        if not cache:

            def blocked(v: np.ndarray) -> np.ndarray:
                out = np.zeros(X.shape[0])
                for b in self._blocks(X.shape[0]):
                    S_b = self._factor(X, self.W, b)
                    U_b = S_b.T @ (v[:, None] * X)  # J_bᵀ v as (|b|, d)
                    out += np.einsum("ji,ji->j", S_b, X @ U_b.T)
                return out

            return blocked
        S = self.linearize(X).S

        def matvec(v: np.ndarray) -> np.ndarray:
            U = S.T @ (v[:, None] * X)  # J0ᵀ v as (N, d)
            return np.einsum("ji,ji->j", S, X @ U.T)  # J0 (J0ᵀ v)

        return matvec

    def beta_bounds(self, X: np.ndarray) -> BetaBounds:
        """Rigorous global Lipschitz bounds of W ↦ J_W (THEORY.md §6)."""
        L = self.activation.lipschitz_derivative
        sq = np.einsum("ij,ij->i", X, X)  # ‖x_j‖²
        with blas_threads(threads_for("eigen", min(X.shape))):  # a small SVD: one thread
            op = dense.largest_singular_value(X)
        op *= 1.0 + 8.0 * max(X.shape) * EPS  # outward: LAPACK's relative error, p(n)·ε
        return BetaBounds(
            frobenius=_times(L, self.s, math.sqrt(float(sq @ sq))),
            operator=_times(L, self.s, math.sqrt(float(sq.max())) * op),
            lecture=_times(L, self.s, float(sq.sum())),
        )

    def beta(self, X: np.ndarray) -> BetaSummary:
        bounds = self.beta_bounds(X)
        name, value = bounds.best
        return BetaSummary(
            beta=value,
            bound=name,
            bounds={
                "frobenius": bounds.frobenius,
                "operator": bounds.operator,
                "lecture": bounds.lecture,
            },
            lipschitz_derivative=self.activation.lipschitz_derivative,
        )

    def drift(self, X: np.ndarray) -> Drift:
        """h(ρ) = βρ with the analytic β (THEORY.md §6, §8); for relu, leaky_relu and abs
        the activation-flip bound (§10); none for any other non-Lipschitz σ'."""
        if self.activation.smooth:
            return LipschitzDrift(self.beta(X).beta)
        if self.activation.name in NONSMOOTH_ACTIVATIONS:
            from ..flips import FlipDrift, flip_bound, jump_of  # relu-like σ only

            jump = jump_of(self.activation.name)
            return FlipDrift(flip_bound(X, self.W, self.a, self.s, jump))
        return NoDrift("not_lipschitz")

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        """E_K ≥ ‖K̂0 − K0‖₂ for ``gram`` (THEORY.md §11): the rounding of the sums and of S."""
        name = self.activation.name
        smooth = self.activation.smooth
        exact_derivative = name in ("identity", "quadratic", *NONSMOOTH_ACTIVATIONS)
        scale = 0.0 if exact_derivative else max(1.0, self.activation.derivative_bound)
        jump = 0.0
        if not smooth:
            from ..flips import jump_of  # loaded here: smooth σ's never need the flip module

            jump = jump_of(name)
        factor = factor_error_bound(
            X,
            self.W,
            self.s,
            self.activation.lipschitz_derivative if smooth else 0.0,
            trace_K=trace,
            derivative_scale=scale,
            jump=jump,
            block_values=BLOCK_VALUES,
        )
        return GramError(
            gram_formation_error(trace, gram_n_terms(*self.W.shape), factor_error=factor)
        )

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        """β_loc at θ0 (THEORY.md §6); None when σ' jumps (J is not Lipschitz)."""
        if not self.activation.smooth:
            return None
        from .local_beta import local_beta  # --beta-local only

        return local_beta(self, X, seed=seed)

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        """A zero input makes its row of J0 vanish (no bias): σ_min = 0."""
        zero = np.flatnonzero(~X.any(axis=1))
        return Obstruction("zero_input", int(zero[0])) if zero.size else None

    def peak_bytes(self, task: str, n: int) -> int:
        N, d = self.W.shape
        if task == "gram":
            return certify_peak_bytes(n, d, N, BLOCK_VALUES)
        if task == "matvec":
            return matrix_free_peak_bytes(n, d, N, BLOCK_VALUES)
        if task == "simulate":
            return simulate_peak_bytes(n, d, N)
        raise ValueError(f"unknown task {task!r}")

    def gram_flops(self, n: int) -> int:
        """S Sᵀ: n²·N."""
        return n * n * self.width

    def cache_bytes(self, n: int) -> int:
        """The factor S (n × N) and one temporary of its size."""
        return 2 * 8 * n * self.width
