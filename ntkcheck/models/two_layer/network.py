"""The lecture's two-layer network (THEORY.md §6, §14), never building the n×P Jacobian.

``f_W(x) = s · Σ_i a_i σ(⟨w_i, x⟩)``, θ = W ∈ R^{N×d} trained, a_i = ±1 fixed,
``s`` the output factor (1 standard, 1/√N ntk, 1/N mean-field). With
``S_ji = s a_i σ'(⟨w_i, x_j⟩)`` the Jacobian row j is ``(S_ji x_j)_i``, so

    J V   = rowsum(S ⊙ (X Vᵀ))              (n,)      Jacobian-vector product
    Jᵀ r  = (S ⊙ r 1ᵀ)ᵀ X                   (N, d)    vector-Jacobian product
    K     = (X Xᵀ) ⊙ (S Sᵀ)                 (n, n)    empirical NTK (Gram)

Several outputs (§14): ``f_c(x) = s Σ_i a_ic σ(⟨w_i, x⟩)`` with a fixed ±1 readout
matrix a (N × C); the m = n·C rows are stacked point-major, row ``j·C + c``. With
``D = s σ'(X Wᵀ)`` (n, N), row (j, c) of J is ``(D_ji a_ic x_j)_i``, so

    J V   = (D ⊙ (X Vᵀ)) a                  (n, C)    raveled to (m,)
    Jᵀ r  = (D ⊙ (R aᵀ))ᵀ X                 (N, d)    R = r as (n, C)
    K     = (X Xᵀ ⊗ 1_C 1_Cᵀ) ⊙ (S̃ S̃ᵀ)      (m, m)    S̃ (m, N), row (j,c) = D_j ⊙ a_·c

— one ``syrk`` of the m × N factor S̃ (built block by block of neurons), then the n×n
input Gram broadcast over the output pairs; never J.

Everything runs over blocks of neurons, so the memory is O(m² + m·block), never
O(n·N·d), and the dominant product S Sᵀ is one BLAS-3 ``syrk`` per block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from ...linalg import dense
from ...linalg.rigorous import gram_formation_error, round_up
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


def expand_factor(S: np.ndarray, a: np.ndarray) -> np.ndarray:
    """S̃ (n·C, N) with row ``j·C + c`` = ``S_j ⊙ a_·c`` (THEORY.md §14): the Jacobian factor
    of the C outputs, from the unsigned factor S (n, N) and the readout a (N, C)."""
    n, C = S.shape[0], a.shape[1]
    return (S[:, None, :] * a.T[None, :, :]).reshape(n * C, S.shape[1])


def times_input_gram(G: np.ndarray, XX: np.ndarray, outputs: int) -> None:
    """``G ⊙= X Xᵀ ⊗ 1_C 1_Cᵀ`` in place (G m × m, m = n·C, XX = X Xᵀ n × n), no m×m
    temporary: G as (n, C, n, C) times XX broadcast over the output pairs. A Fortran G
    (SciPy's syrk) is its C-ordered transpose, multiplied by XXᵀ (so only XX's upper
    triangle is read where G's upper triangle is)."""
    n = XX.shape[0]
    H, XXv = (G, XX) if G.flags.c_contiguous else (G.T, XX.T)
    H4 = H.view()
    H4.shape = (n, outputs, n, outputs)  # a view, never a copy (raises otherwise)
    H4 *= XXv[:, None, :, None]


def factor_gram_outputs(
    X: np.ndarray,
    S: np.ndarray,
    a: np.ndarray,
    *,
    block_values: int = BLOCK_VALUES,
) -> np.ndarray:
    """``(X Xᵀ ⊗ 1_C 1_Cᵀ) ⊙ (S̃ S̃ᵀ)`` (m, m) for the unsigned factor S (n, N) and the
    readout a (N, C): the Gram ``J Jᵀ`` of the C-output Jacobian (THEORY.md §14), over
    blocks of neurons (memory O(m² + m·block)). With S = S_t − S_0 it is
    ``(J_t − J_0)(J_t − J_0)ᵀ``.
    """
    n, N = S.shape
    C = a.shape[1]
    m = n * C
    G = np.zeros((m, m))
    step = max(1, min(N, block_values // max(m, 1)))
    for start in range(0, N, step):
        b = slice(start, min(start + step, N))
        T = expand_factor(S[:, b], a[b])
        G += T @ T.T
    times_input_gram(G, X @ X.T, C)
    return G


@dataclass(frozen=True, eq=False)
class Linearization:
    """``f = f_W(X)`` (m,) and the Jacobian factor ``S`` (n, N) at one W (O(nN) memory).

    One output (``a`` None): row j of J is ``(S_ji x_j)_i`` with ``S = s σ'(X Wᵀ) diag(a)``,
    so ``J V = rowsum(S ⊙ (X Vᵀ))`` and ``Jᵀ r = Sᵀ (r ⊙ X)``. C outputs (``a`` the
    readout, N × C; THEORY.md §14): ``S = s σ'(X Wᵀ)`` without the readout, row (j, c) of
    J is ``(S_ji a_ic x_j)_i``, so ``J V = (S ⊙ (X Vᵀ)) a`` and ``Jᵀ r = (S ⊙ (R aᵀ))ᵀ X``
    (R = r as (n, C)). θ is W flattened row by row.
    """

    X: np.ndarray
    f: np.ndarray
    S: np.ndarray
    a: np.ndarray | None = None

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` for v = vec(V), V (N, d): (m,); for v (P, k), (m, k)."""
        N, d = self.S.shape[1], self.X.shape[1]
        if v.ndim == 2:
            return np.stack([self.jvp(v[:, c]) for c in range(v.shape[1])], axis=1)
        if self.a is not None:
            return ((self.S * (self.X @ v.reshape(N, d).T)) @ self.a).ravel()
        return np.einsum("ji,ji->j", self.S, self.X @ v.reshape(N, d).T)

    def vjp(self, r: np.ndarray) -> np.ndarray:
        """``Jᵀ r`` flattened (P,) for r (m,); for r (m, k), k such products as (P, k)."""
        if self.a is not None:
            if r.ndim == 2:
                return np.stack([self.vjp(r[:, c]) for c in range(r.shape[1])], axis=1)
            R = r.reshape(self.S.shape[0], self.a.shape[1])
            return ((self.S * (R @ self.a.T)).T @ self.X).ravel()
        if r.ndim == 1:
            return (self.S.T @ (r[:, None] * self.X)).ravel()
        k, d = r.shape[1], self.X.shape[1]
        both = self.S.T @ np.hstack([r[:, [c]] * self.X for c in range(k)])  # (N, k·d)
        return both.reshape(-1, k, d).transpose(0, 2, 1).reshape(-1, k)

    def gram(self) -> np.ndarray:
        if self.a is not None:
            return factor_gram_outputs(self.X, self.S, self.a)
        return factor_gram(self.X, self.S)

    def drift_gram(self, other: protocol.Linearization) -> np.ndarray:
        """J is linear in S, so ``J − J_o`` has the factor ``S − S_o`` (no cancellation)."""
        if not isinstance(other, Linearization) or (self.a is None) != (other.a is None):
            raise TypeError("drift_gram needs a linearization of the same two-layer network")
        if self.a is not None:
            return factor_gram_outputs(self.X, self.S - other.S, self.a)
        return factor_gram(self.X, self.S - other.S)


@dataclass(frozen=True, eq=False)
class TwoLayerNetwork:
    """``f_W(x) = s Σ_i a_i σ(⟨w_i, x⟩)`` with trained ``W`` (N, d) and fixed ``a``.

    ``a`` (N,): one output; ``a`` (N, C), C ≥ 2: C outputs ``f_c = s Σ_i a_ic σ(⟨w_i, x⟩)``,
    m = n·C rows stacked point-major (THEORY.md §14; an (N, 1) readout is stored as (N,)).
    θ = vec(W) (row-major), P = N·d. Implements ``ntkcheck.models.Model``.
    """

    W: np.ndarray
    a: np.ndarray
    s: float
    activation: Activation
    scaling: str = "standard"

    def __post_init__(self) -> None:
        a = np.asarray(self.a)
        if a.ndim == 2 and a.shape[1] == 1:
            object.__setattr__(self, "a", a[:, 0])
        elif (
            a.ndim not in (1, 2)
            or a.shape[0] != self.W.shape[0]
            or (a.ndim == 2 and a.shape[1] < 1)
        ):
            raise ValueError(
                f"a must have shape ({self.W.shape[0]},) or ({self.W.shape[0]}, C), got {a.shape}"
            )

    @property
    def width(self) -> int:
        return self.W.shape[0]

    @property
    def n_params(self) -> int:
        """P = N·d (only W is trained)."""
        return self.W.size

    @property
    def outputs(self) -> int:
        """C, the outputs per input: 1 for a readout of shape (N,), else its columns."""
        return 1 if self.a.ndim == 1 else int(self.a.shape[1])

    @property
    def readout_norm(self) -> float:
        """``max_i ‖a_i‖₂`` rounded up (√C for a ±1 readout; 1 for one ±1 output): the factor
        that the C-output drift bounds gain (THEORY.md §12, several outputs)."""
        if self.a.ndim == 1:
            return float(np.max(np.abs(self.a), initial=0.0))
        return round_up(math.sqrt(self._readout_norm_sq()))

    def _readout_norm_sq(self) -> float:
        """``max_i ‖a_i‖²`` (exact for a ±1 readout: C); 1 for one output (a_i = ±1)."""
        if self.a.ndim == 1:
            return 1.0
        return float(np.max(np.einsum("ic,ic->i", self.a, self.a), initial=0.0))

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
        """``f_W(X) = s σ(X Wᵀ) a``: (n,), or (n, C) raveled to (m,) point-major."""
        W = self._w(theta)
        if self.a.ndim == 2:
            outs = np.zeros((X.shape[0], self.outputs))
            for b in self._blocks(X.shape[0]):
                outs += self.activation.sigma(X @ W[b].T) @ self.a[b]
            return (self.s * outs).ravel()
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += self.activation.sigma(X @ W[b].T) @ self.a[b]
        return self.s * out

    def _factor(self, X: np.ndarray, W: np.ndarray, b: slice) -> np.ndarray:
        """Block of ``S = s σ'(X Wᵀ) diag(a)`` (n, |b|); with C outputs ``s σ'(X Wᵀ)``."""
        S = self.activation.derivative_overwrite(X @ W[b].T)
        S *= self.s if self.a.ndim == 2 else self.s * self.a[b]
        return S

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> Linearization:
        """``f_W(X)`` and the full factor ``S = s σ'(X Wᵀ) diag(a)`` from one product X Wᵀ
        (σ and σ' in its memory where the activation allows: one n×N array per step of GD);
        with C outputs ``S = s σ'(X Wᵀ)`` and the readout beside it."""
        if self.a.ndim == 2:
            a = self.a
            f, S = self.activation.reduce_then_derivative(
                X @ self._w(theta).T, lambda sigma: (self.s * (sigma @ a)).ravel()
            )
            S *= self.s
            return Linearization(X=X, f=f, S=S, a=a)
        f, S = self.activation.reduce_then_derivative(
            X @ self._w(theta).T, lambda sigma: self.s * (sigma @ self.a)
        )
        S *= self.s * self.a
        return Linearization(X=X, f=f, S=S)

    def jvp(self, X: np.ndarray, v: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``J_θ v`` for v (P,), in blocks of neurons: ``rowsum(S ⊙ (X Vᵀ))`` (n,);
        with C outputs ``(S ⊙ (X Vᵀ)) a`` raveled (m,)."""
        W, V = self._w(theta), v.reshape(self.W.shape)
        if self.a.ndim == 2:
            outs = np.zeros((X.shape[0], self.outputs))
            for b in self._blocks(X.shape[0]):
                P = X @ V[b].T
                P *= self._factor(X, W, b)
                outs += P @ self.a[b]
            return outs.ravel()
        out = np.zeros(X.shape[0])
        for b in self._blocks(X.shape[0]):
            out += np.einsum("ji,ji->j", self._factor(X, W, b), X @ V[b].T)
        return out

    def vjp(self, X: np.ndarray, r: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``J_θᵀ r`` for r (m,), in blocks of neurons: ``(S ⊙ r 1ᵀ)ᵀ X`` flattened (P,);
        with C outputs ``(S ⊙ (R aᵀ))ᵀ X``, R = r as (n, C)."""
        W = self._w(theta)
        out = np.empty_like(W)
        if self.a.ndim == 2:
            R = r.reshape(X.shape[0], self.outputs)
            for b in self._blocks(X.shape[0]):
                T = R @ self.a[b].T
                T *= self._factor(X, W, b)
                out[b] = T.T @ X
            return out.reshape(-1)
        for b in self._blocks(X.shape[0]):
            out[b] = (self._factor(X, W, b) * r[:, None]).T @ X
        return out.reshape(-1)

    def gram(self, X: np.ndarray) -> np.ndarray:
        """Empirical NTK ``K0 = (X Xᵀ) ⊙ (S Sᵀ)`` (n, n), symmetric, float64; with C
        outputs ``(X Xᵀ ⊗ 1_C 1_Cᵀ) ⊙ (S̃ S̃ᵀ)`` (m, m) (THEORY.md §14).

        ``S Sᵀ`` is accumulated over neuron blocks by ``syrk`` (half the flops of a
        general product); peak memory O(n² + n·block). All products of one Gram go
        through one BLAS (``linalg.dense``: NumPy's up to its order limit, SciPy's
        beyond).
        """
        if self.a.ndim == 2:
            return self._gram_outputs(X)
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

    def _gram_outputs(self, X: np.ndarray) -> np.ndarray:
        """K0 (m, m) for C outputs: s²·S̃ S̃ᵀ by ``syrk`` over neuron blocks of the m × |b|
        factor (S̃ᵀ's block: σ'(W_b Xᵀ) times the ±1 readout, exact), then ⊙ X Xᵀ broadcast
        over the C × C output pairs (:func:`times_input_gram`). Since a_ic² = 1, s² is
        syrk's alpha, as for one output; the rounding analysis is the same per entry
        (``rounding``). Memory O(m² + m·block), block ≈ BLOCK_VALUES/m neurons."""
        W, a, C = self.W, self.a, self.outputs
        n = X.shape[0]
        m = n * C
        G = dense.new_gram(m)
        for b in self._blocks(m):
            D = self.activation.derivative_overwrite(dense.matmul_nt(W[b], X))  # (|b|, n)
            T = np.empty((m, D.shape[0]))  # S̃'s block (m, |b|), C-ordered: Tᵀ is Fortran
            T3 = T.reshape(n, C, D.shape[0])
            Dt = D.T
            for c in range(C):
                np.multiply(Dt, a[b, c], out=T3[:, c, :])
            del D, Dt
            G = dense.syrk_into(G, T.T, self.s**2)
        times_input_gram(G, _input_gram(X, m), C)
        return dense.symmetric_from(G)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        """``v ↦ K0 v = J0 (J0ᵀ v)`` without forming K0 (or J0).

        With ``cache`` the factor S (n × N) is computed once and each product is
        three BLAS passes; without it, each product makes S block by block, once:
        K0 v = Σ_b J_b (J_bᵀ v) (memory O(n·block)). v is an m-vector (THEORY.md §14).
        """
        if self.a.ndim == 2:
            return self._gram_operator_outputs(X, cache=cache)
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

    def _gram_operator_outputs(
        self, X: np.ndarray, *, cache: bool
    ) -> Callable[[np.ndarray], np.ndarray]:
        """C outputs: J0ᵀ v = (S ⊙ (R aᵀ))ᵀ X, J0 U = (S ⊙ (X Uᵀ)) a, R = v as (n, C)."""
        a, C, n = self.a, self.outputs, X.shape[0]

        def apply(S: np.ndarray, ab: np.ndarray, R: np.ndarray) -> np.ndarray:
            T = R @ ab.T
            T *= S
            U = T.T @ X  # J_bᵀ v as (|b|, d)
            T = X @ U.T
            T *= S
            return T @ ab  # J_b (J_bᵀ v) as (n, C)

        if not cache:

            def blocked(v: np.ndarray) -> np.ndarray:
                R, out = v.reshape(n, C), np.zeros((n, C))
                for b in self._blocks(n):
                    out += apply(self._factor(X, self.W, b), a[b], R)
                return out.ravel()

            return blocked
        S = self.linearize(X).S
        return lambda v: apply(S, a, v.reshape(n, C)).ravel()

    def beta_bounds(self, X: np.ndarray) -> BetaBounds:
        """Rigorous global Lipschitz bounds of W ↦ J_W (THEORY.md §6); with C outputs each
        times ``A = max_i ‖a_i‖₂`` (√C for a ±1 readout; THEORY.md §12, several outputs)."""
        L = self.activation.lipschitz_derivative
        sq = np.einsum("ij,ij->i", X, X)  # ‖x_j‖²
        with blas_threads(threads_for("eigen", min(X.shape))):  # a small SVD: one thread
            op = dense.largest_singular_value(X)
        op *= 1.0 + 8.0 * max(X.shape) * EPS  # outward: LAPACK's relative error, p(n)·ε
        s = self.s
        if self.a.ndim == 2:  # s·A rounded up: one more rounding, covered by round_up
            s = round_up(self.s * self.readout_norm)
        return BetaBounds(
            frobenius=_times(L, s, math.sqrt(float(sq @ sq))),
            operator=_times(L, s, math.sqrt(float(sq.max())) * op),
            lecture=_times(L, s, float(sq.sum())),
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
        the activation-flip bound (§10; with C outputs weighted by ‖a_i‖²); none for any
        other non-Lipschitz σ'."""
        if self.activation.smooth:
            return LipschitzDrift(self.beta(X).beta)
        if self.activation.name in NONSMOOTH_ACTIVATIONS:
            from ..flips import FlipDrift, flip_bound, jump_of  # relu-like σ only

            jump = jump_of(self.activation.name)
            return FlipDrift(flip_bound(X, self.W, self.a, self.s, jump))
        return NoDrift("not_lipschitz")

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        """E_K ≥ ‖K̂0 − K0‖₂ for ``gram`` (THEORY.md §11): the rounding of the sums and of S
        (with C outputs: the m × m Gram, ``rounding`` module docstring)."""
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
            readout_norm_sq=self._readout_norm_sq(),
        )
        return GramError(
            gram_formation_error(trace, gram_n_terms(*self.W.shape), factor_error=factor)
        )

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        """β_loc at θ0 (THEORY.md §6); None when σ' jumps (J is not Lipschitz).

        With C outputs β_loc = s max_i ‖a_i‖ β̃_i (THEORY.md §12, several outputs): the
        one-output search on the network whose output weights are the norms ‖a_i‖."""
        if not self.activation.smooth:
            return None
        from .local_beta import local_beta  # --beta-local only

        if self.a.ndim == 2:
            norms = np.sqrt(np.einsum("ic,ic->i", self.a, self.a))
            return local_beta(replace(self, a=norms), X, seed=seed)
        return local_beta(self, X, seed=seed)

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        """A zero input makes its row(s) of J0 vanish (no bias): σ_min = 0. With C > 1
        outputs (THEORY.md §14) row (j, c) is ``s Σ_i a_ic σ'(⟨w_i, x_j⟩) e_i ⊗ x_j``:
        a v ≠ 0 with a v = 0 (rank a < C, e.g. N < C) gives Σ_c v_c row(j, c) = 0 at
        every point, so σ_min = 0 (``readout_rank``; numpy's rank tolerance)."""
        zero = np.flatnonzero(~X.any(axis=1))
        if zero.size:
            return Obstruction("zero_input", int(zero[0]))
        if self.a.ndim == 2:
            rank = int(np.linalg.matrix_rank(self.a))
            if rank < self.a.shape[1]:
                return Obstruction("readout_rank", rank=rank)
        return None

    def peak_bytes(self, task: str, n: int) -> int:
        """Planned peak bytes on n points (with C outputs the m × m Gram, m = n·C)."""
        N, d = self.W.shape
        C = self.outputs
        if task == "gram":
            return certify_peak_bytes(n, d, N, BLOCK_VALUES, outputs=C)
        if task == "matvec":
            return matrix_free_peak_bytes(n, d, N, BLOCK_VALUES, outputs=C)
        if task == "simulate":
            return simulate_peak_bytes(n, d, N, outputs=C)
        raise ValueError(f"unknown task {task!r}")

    def gram_flops(self, n: int) -> int:
        """S Sᵀ: n²·N; with C outputs S̃ S̃ᵀ: (nC)²·N."""
        return (n * self.outputs) ** 2 * self.width

    def cache_bytes(self, n: int) -> int:
        """The factor S (n × N) and one temporary of its size (with C outputs, and the
        product's (n, C) vectors)."""
        extra = 0 if self.a.ndim == 1 else 8 * 4 * n * self.outputs
        return 2 * 8 * n * self.width + extra


def _input_gram(X: np.ndarray, rows: int) -> np.ndarray:
    """``X Xᵀ`` (upper triangle at least) through the BLAS that the m × m Gram (m = ``rows``)
    uses (``linalg.dense``: one problem never mixes NumPy's and SciPy's)."""
    if dense.by_numpy(rows):
        return X @ X.T
    from scipy.linalg import blas

    return blas.dsyrk(1.0, np.asfortranarray(X.T), trans=1, lower=0)
