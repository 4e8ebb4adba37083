"""The deep fully connected network as a ``Model`` (THEORY.md §10), never building J.

``h_0 = x``, ``h_l = σ(W_l h_{l−1}/c_l + b_l)`` (l < L), ``f = s (w_Lᵀ h_{L−1}/c_L + b_L)``;
the structured passes are in ``passes.py``, the rigorous θ0 bounds in
``theta0.py``/``rounding.py``, the drift bound in ``ball.py`` and its derivation
in docs/theory-mlp.md.

The θ0 pass (the per-sample bounds, and K0 when ``gram`` asks) is memoized per X
(by content) and the proved ‖W_k⁰‖_op per model: ``gram``, ``gram_error``,
``beta`` and ``drift`` on the same X share one forward and one backward pass.
The memo changes no result, only how often the passes run.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ...linalg.rigorous import gamma, gram_formation_error
from ...theory.drift import Drift, LipschitzDrift, NoDrift
from .. import protocol
from ..names import NONSMOOTH_ACTIVATIONS
from ..protocol import BetaSummary, GramError, LocalBeta, ModelInfo, Obstruction
from .ball import BallBound, BallDrift
from .local_beta import local_beta
from .memory import (
    BLOCK_VALUES,
    cache_peak_bytes,
    gram_peak_bytes,
    matvec_peak_bytes,
    simulate_peak_bytes,
)
from .passes import Factors, drift_gram, factors, forward, gram_n_terms, jvp, vjp
from .passes import gram as factor_gram
from .rounding import ActivationConstants, LayerConstants, layer_constants
from .structure import Params, Structure
from .theta0 import Theta0, factor_error, theta0_pass

#: Names of the analytic β candidates (BetaSummary.bounds).
BALL = "ball_at_theta0"
L2_CHAIN = "l2_chain_at_theta0"
#: Why a relu-like deep network has no drift bound (NoDrift.reason).
NO_FLIP_BOUND = "relu_like_deep_network"


@dataclass(frozen=True, eq=False)
class MlpLinearization:
    """``f_θ(X)`` and the factors ``H_k``, ``Δ_k`` of J_θ (O(n·Σ widths) memory)."""

    structure: Structure
    factors: Factors

    @property
    def f(self) -> np.ndarray:
        return self.factors.f

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` for v (P,); for v (P, k), the k products as (n, k)."""
        if v.ndim == 2:
            return np.stack([self.jvp(v[:, c]) for c in range(v.shape[1])], axis=1)
        return jvp(self.structure, self.factors, v)

    def vjp(self, r: np.ndarray) -> np.ndarray:
        return vjp(self.structure, self.factors, r)

    def gram(self) -> np.ndarray:
        return factor_gram(self.structure, self.factors)

    def drift_gram(self, other: protocol.Linearization) -> np.ndarray:
        """From the per-layer factor differences (``passes.drift_gram``)."""
        if not isinstance(other, MlpLinearization) or other.structure != self.structure:
            raise TypeError("drift_gram needs a linearization of the same mlp network")
        return drift_gram(self.structure, self.factors, other.factors)


def _key(X: np.ndarray) -> tuple[tuple[int, ...], bytes]:
    data = np.ascontiguousarray(X, dtype=np.float64)
    return data.shape, hashlib.blake2b(data.tobytes(), digest_size=20).digest()


@dataclass(frozen=True, eq=False)
class MlpNetwork:
    """A deep fully connected network at θ0; implements ``ntkcheck.models.Model``."""

    structure: Structure
    params: Params
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the weights, not the memo (it is rebuilt on demand)."""
        return {"structure": self.structure, "params": self.params, "_memo": {}}

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @property
    def outputs(self) -> int:
        """C, the output layer's rows: f_θ(X) has m = n·C entries, row j·C + c (§14)."""
        return self.structure.outputs

    @cached_property
    def _theta0(self) -> np.ndarray:
        theta = self.params.flat(self.structure)
        theta.setflags(write=False)
        return theta

    @property
    def theta0(self) -> np.ndarray:
        """θ0 (P,), read-only (a copy of the layers' weights made once)."""
        return self._theta0

    def info(self) -> ModelInfo:
        st = self.structure
        widths = ", ".join(str(w) for w in st.widths)
        tail = [
            f"{st.parametrization} parametrization",
            "bias" if st.bias else "no bias",
            "trained output" if st.train_output else "frozen output",
        ]
        if st.s != 1.0:
            tail.append(f"s = {st.s:g}")
        summary: dict[str, int | float | str] = {  # "width": the narrowest layer
            "width": min(st.widths),
            "params": self.n_params,
            "activation": st.activation.name,
            "scaling": st.parametrization,
        }
        return ModelInfo(
            family="mlp",
            params=self.n_params,
            activation=st.activation.name,
            summary=summary,
            heuristic_size=min(st.widths),
            head=f"mlp {st.activation.name} network, widths [{widths}], d = {st.sizes[0]:,}",
            tail=", ".join(tail),
        )

    # ---- passes -------------------------------------------------------------------

    def _rows(self, n: int) -> Iterator[slice]:
        """Blocks of points, about ``BLOCK_VALUES`` values per (points·C × width) array."""
        step = max(1, BLOCK_VALUES // (max(self.structure.sizes) * self.outputs))
        for start in range(0, n, step):
            yield slice(start, min(start + step, n))

    def _out(self, b: slice) -> slice:
        """The rows j·C + c of the points in b (point-major, THEORY.md §14)."""
        C = self.outputs
        return slice(b.start * C, b.stop * C)

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """``f_θ(X)`` (n·C,) point-major, in blocks of points."""
        p = self.params.at(self.structure, theta)
        out = np.empty(X.shape[0] * self.outputs)
        for b in self._rows(X.shape[0]):
            out[self._out(b)] = forward(X[b], self.structure, p)
        return out

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> MlpLinearization:
        p = self.params.at(self.structure, theta)
        return MlpLinearization(self.structure, factors(X, self.structure, p))

    @cached_property
    def layer_constants(self) -> tuple[LayerConstants, ...]:
        """Per layer: α, the proved ω ≥ ‖W_k⁰‖_op, ‖W_k⁰‖_F, ‖b_k⁰‖ (``rounding.py``)."""
        st, p = self.structure, self.params
        return tuple(
            layer_constants(p.W[k], None if p.b is None else p.b[k], st.alphas[k])
            for k in range(st.depth)
        )

    def _pass(self, X: np.ndarray, *, with_gram: bool) -> tuple[np.ndarray | None, Theta0]:
        key = _key(X)
        cached = self._memo.get("theta0")
        if not with_gram and cached is not None and cached[0] == key:
            return None, cached[1]
        K, t0 = theta0_pass(
            X,
            self.structure,
            self.params,
            self.layer_constants,
            with_gram=with_gram,
            block_values=BLOCK_VALUES,
        )
        self._memo["theta0"] = (key, t0)
        return K, t0

    def gram(self, X: np.ndarray) -> np.ndarray:
        """K0 = Σ_k (α_k² H_k H_kᵀ + 1_bias) ⊙ (Δ_k Δ_kᵀ) by ``dsyrk`` (THEORY.md §10)."""
        K, _ = self._pass(X, with_gram=True)
        assert K is not None
        return K

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        """E_K ≥ ‖K̂0 − K0‖₂ (THEORY.md §11): the formation bound of ``linalg.rigorous``
        with m = ``gram_n_terms`` roundings per term, plus the factors' error
        2‖Ĵ‖‖ΔJ‖_F + ‖ΔJ‖²_F from the per-sample rounding recursion (``rounding.py``)."""
        _, t0 = self._pass(X, with_gram=False)
        m = gram_n_terms(self.structure)
        factor = factor_error(t0, trace, gamma(m))
        if not math.isfinite(factor):
            return GramError(math.inf)
        return GramError(gram_formation_error(trace, m, factor_error=factor))

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        """``v ↦ J0 (J0ᵀ v)``: with ``cache`` from the stored factors, else recomputing
        them per block of rows (two passes per product, O(rows·Σ widths) memory)."""
        st, p = self.structure, self.params
        if cache:
            fac = factors(X, st, p)
            return lambda v: jvp(st, fac, vjp(st, fac, v))
        rows = list(self._rows(X.shape[0]))

        def matvec(v: np.ndarray) -> np.ndarray:
            g = np.zeros(st.n_params)
            for b in rows:
                g += vjp(st, factors(X[b], st, p), v[self._out(b)])
            out = np.empty(X.shape[0] * self.outputs)
            for b in rows:
                out[self._out(b)] = jvp(st, factors(X[b], st, p), g)
            return out

        return matvec

    # ---- β and the drift bound -------------------------------------------------

    def _ball(self, X: np.ndarray) -> BallBound:
        _, t0 = self._pass(X, with_gram=False)
        st = self.structure
        return BallBound(
            theta0=t0,
            layers=self.layer_constants,
            activation=ActivationConstants.of(st.activation),
            s=st.s,
            bias=st.bias,
            trained=tuple(st.trained(k) for k in range(st.depth)),
        )

    @property
    def _step_activation(self) -> bool:
        return self.structure.activation.name in NONSMOOTH_ACTIVATIONS or not (
            self.structure.activation.smooth
        )

    def beta(self, X: np.ndarray) -> BetaSummary:
        """β(0) of the ball bound (docs/theory-mlp.md §4) and the ℓ2-chain β(0) beside it.

        The certificate uses β(ρ*) ≥ β(0) through the drift bound; the report shows
        it as σ_min/(2ρ*) in the lecture's Λ. ∞ where σ' jumps.
        """
        lip = self.structure.activation.lipschitz_derivative
        if self._step_activation:
            return BetaSummary(math.inf, BALL, {BALL: math.inf}, lip)
        ball = self._ball(X)
        value = 0.0 if ball.vanishes else ball.beta(0.0)
        chain = 0.0 if ball.vanishes else ball.beta(0.0, linf=False)
        return BetaSummary(value, BALL, {BALL: value, L2_CHAIN: chain}, lip)

    def drift(self, X: np.ndarray) -> Drift:
        """h(ρ) = β(ρ)·ρ, rigorous on every ball (docs/theory-mlp.md; THEORY.md §8, §10).

        relu-like σ: the activation-flip bound (THEORY.md §10) when the network is the
        two-layer one (one hidden layer, no bias, frozen output); otherwise none.
        """
        st = self.structure
        if self._step_activation:
            two_layer = st.depth == 2 and not st.bias and not st.train_output
            if st.activation.name in NONSMOOTH_ACTIVATIONS and two_layer:
                return self._flip_drift(X)
            return NoDrift(NO_FLIP_BOUND)
        ball = self._ball(X)
        if ball.vanishes:
            return LipschitzDrift(0.0)
        return BallDrift(ball)

    def _flip_drift(self, X: np.ndarray) -> Drift:
        """The two-layer flip bound: J's hidden block is s (w_i α_1 α_0) σ'(⟨w_i, x⟩) x, and
        σ'(z/c) = σ'(z), so it is the two-layer network with a_i = w_i α_1 α_0; s is rounded
        up by 2⁻⁴⁸ for the few roundings in a_i (a² enters the gains).

        C outputs (docs/theory-mlp.md §9): rows (j, c) of neuron i's block are
        s a_ic Δσ'_ij x_j, so the Frobenius bound weighs neuron i's flips by
        Σ_c a_ic² = ‖a_i‖² — the single-output bound with a_i = ‖W_2[:, i]‖ α_1 α_0 (the
        column norms, computed to γ_{C+2} relative: s is rounded up by that too)."""
        from ..flips import FlipDrift, flip_bound, jump_of

        st, p = self.structure, self.params
        alphas = st.alphas
        s = abs(st.s) * (1.0 + 2.0**-48)
        if self.outputs == 1:
            a = p.W[1][0] * (alphas[1] * alphas[0])
        else:
            a = np.sqrt(np.einsum("ci,ci->i", p.W[1], p.W[1])) * (alphas[1] * alphas[0])
            s *= 1.0 + gamma(self.outputs + 2)
        return FlipDrift(flip_bound(X, p.W[0], a, s, jump_of(st.activation.name)))

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        """β_loc at θ0 by nested JVPs (``local_beta.py``); None where σ' jumps."""
        if self._step_activation:
            return None
        return local_beta(X, self.structure, self.params, seed=seed)

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        """Without bias a zero input x_j makes row j of J0 vanish when σ(0) = 0, or when
        only the first layer is trained (then ∇f_j = δ_1 xᵀ = 0): σ_min = 0.

        With C > 1 outputs and a frozen output layer (THEORY.md §14) row (j, c) of J0 is
        ``s α_L W_L[c] ∂h_{L−1}(x_j)/∂θ``: a v ≠ 0 with W_Lᵀ v = 0 (rank W_L < C, e.g.
        a last hidden width < C) gives Σ_c v_c row(j, c) = 0 at every point, so σ_min = 0
        (``readout_rank``; numpy's rank tolerance)."""
        st = self.structure
        zero = np.flatnonzero(~X.any(axis=1))
        if not st.bias and zero.size:
            sigma0 = float(st.activation.sigma(np.zeros(1))[0])
            if sigma0 == 0.0 or st.trained_layers == (0,):
                return Obstruction("zero_input", int(zero[0]))
        if st.outputs > 1 and not st.train_output:
            rank = int(np.linalg.matrix_rank(self.params.W[-1]))
            if rank < st.outputs:
                return Obstruction("readout_rank", rank=rank)
        return None

    # ---- memory ---------------------------------------------------------------------

    def peak_bytes(self, task: str, n: int) -> int:
        """Planned peak bytes on n points (m = n·C rows: the Gram is m × m, ``memory.py``)."""
        sizes = self.structure.sizes
        if task == "gram":
            return gram_peak_bytes(n, sizes)
        if task == "matvec":
            return matvec_peak_bytes(n, sizes, self.n_params)
        if task == "simulate":
            return simulate_peak_bytes(n, sizes, self.n_params)
        raise ValueError(f"unknown task {task!r}")

    def gram_flops(self, n: int) -> int:
        """Two syrks per trained layer k: n²·h_k (activations) + m²·h_{k+1} (signals,
        m = n·C); the output layer's second is the m² additions."""
        sizes = self.structure.sizes
        m = n * self.outputs
        return sum(
            n * n * sizes[k] + m * m * (sizes[k + 1] if k < len(sizes) - 2 else 1)
            for k in self.structure.trained_layers
        )

    def cache_bytes(self, n: int) -> int:
        return cache_peak_bytes(n, self.structure.sizes)
