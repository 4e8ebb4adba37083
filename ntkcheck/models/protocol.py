"""The model protocol: what every family implements and nothing else looks behind.

Parameters are one flat vector θ ∈ R^P; a family maps it to its own shapes
inside. A linearization at θ gives ``f_θ(X)`` and the Jacobian J_θ as operators
(``jvp``, ``vjp``), its Gram ``J Jᵀ`` and the Gram of a Jacobian difference;
J itself (n × P) is never formed. The model also supplies a rigorous drift
bound h(ρ) (THEORY.md §8), the analytic β summary, optional capabilities
(local β, rank obstructions) and peak-memory plans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ..theory.drift import Drift

Matvec = Callable[[np.ndarray], np.ndarray]


class Linearization(Protocol):
    """``f_θ(X)`` and the Jacobian at one θ, as operators (O(n·P) per product)."""

    @property
    def f(self) -> np.ndarray: ...

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` for v (P,) → (n,), or for v (P, k) → (n, k)."""
        ...

    def vjp(self, r: np.ndarray) -> np.ndarray:
        """``Jᵀ r`` for r (n,) → (P,), or for r (n, k) → (P, k)."""
        ...

    def gram(self) -> np.ndarray:
        """``K = J Jᵀ`` (n, n)."""
        ...

    def drift_gram(self, other: Linearization) -> np.ndarray:
        """``(J − J_o)(J − J_o)ᵀ`` (n, n), formed without cancellation where possible."""
        ...


@dataclass(frozen=True)
class BetaSummary:
    """The analytic Lipschitz bound on θ ↦ J_θ and its alternatives (THEORY.md §6).

    ``beta`` is the bound used, ``bound`` its name, ``bounds`` every candidate
    (name → value, in the order the report lists them), ``lipschitz_derivative``
    sup|σ''| (∞ when σ' jumps).
    """

    beta: float
    bound: str
    bounds: Mapping[str, float]
    lipschitz_derivative: float


@dataclass(frozen=True)
class LocalBeta:
    """β_loc at θ0 (THEORY.md §6) with its diagnostics (an estimate, never a bound).

    ``iterations`` the most sweeps used by one start, ``converged`` whether every
    candidate start met the tolerance, ``restarts`` the starts per candidate,
    ``spread`` (max − min)/max of the arg-max's local maxima over its starts,
    ``candidates`` how many were restarted, ``tensor_value`` the best value of a
    whole-tensor power iteration, ``tensor_improved`` whether it beat the per-candidate
    search (and was taken); ``where`` says, in the family's words, where the maximum
    lies (the report's); ``extra`` holds the family's own diagnostics (JSON keys).
    """

    value: float
    iterations: int
    converged: bool
    restarts: int
    spread: float
    candidates: int = 0
    tensor_value: float = 0.0
    tensor_improved: bool = False
    where: str = ""
    extra: Mapping[str, float | int | bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, float | int | bool]:
        """JSON ``estimate.beta_local_info``: the generic keys, a family's among them at
        the places ``EXTRA_ORDER`` gives (for a stable key order), then any others."""
        out: dict[str, float | int | bool] = {}
        generic = {
            "value": self.value,
            "iterations": self.iterations,
            "converged": self.converged,
            "restarts": self.restarts,
            "spread": self.spread,
            "candidates": self.candidates,
            "tensor_value": self.tensor_value,
            "tensor_improved": self.tensor_improved,
        }
        for key in EXTRA_ORDER:
            if key in generic:
                out[key] = generic[key]
            elif key in self.extra:
                out[key] = self.extra[key]
        out.update((k, v) for k, v in self.extra.items() if k not in out)
        return out


#: Key order of ``LocalBeta.to_dict`` (the two-layer family's keys at their places).
EXTRA_ORDER = (
    "value", "neuron", "iterations", "converged", "restarts", "spread", "distinct_neurons",
    "candidates", "tensor_value", "tensor_improved",
)  # fmt: skip


@dataclass(frozen=True)
class GramError:
    """E_K, a bound on ‖K̂0 − K0‖₂ for the K̂0 that ``gram`` returns (THEORY.md §11).

    ``rigorous``: proven from a rounding analysis; False when the family cannot bound
    it (then ``value`` is an estimate and σ bounds built on it are labelled estimates,
    never a σ_min of 0). ``value`` is ∞ when K̂0 is not finite.
    """

    value: float
    rigorous: bool = True


@dataclass(frozen=True)
class Obstruction:
    """A structural reason why σ_min = 0 (THEORY.md §2, (H2)): a code and its data.

    ``zero_input``: point ``index`` is zero; ``readout_rank`` (C > 1 outputs, §14): the
    frozen output weights have rank ``rank`` < C, so a v ≠ 0 with Σ_c v_c ∇f_c(x) = 0
    for every x makes each point's C rows of J0 dependent.
    """

    code: str  # "zero_input", "readout_rank"
    index: int = -1
    rank: int = -1


@dataclass(frozen=True)
class ModelInfo:
    """What the report and the JSON ``problem`` block say about the model.

    ``summary``: the family's keys of the JSON ``problem`` block, in order (``params``
    and ``activation`` among them); ``heuristic_size``: the N of the lecture's heuristic
    γ ≈ n^{3/2}/N (THEORY.md §4), None where the family has none; ``head`` and ``tail``
    frame the report's problem line (``{head}, n = …, (P = …), {tail}``).
    """

    family: str
    params: int
    activation: str
    summary: Mapping[str, int | float | str]
    heuristic_size: float | None
    head: str
    tail: str


class Model(Protocol):
    """A network family at its initialization θ0 (see docs/DESIGN.md, "The model protocol")."""

    @property
    def n_params(self) -> int: ...

    @property
    def outputs(self) -> int:
        """C, outputs per input: f_θ(X) has m = n·C entries stacked point-major (§14)."""
        ...

    @property
    def theta0(self) -> np.ndarray:
        """θ0 as one flat vector (P,) (a view where the family allows)."""
        ...

    def info(self) -> ModelInfo: ...

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray: ...

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> Linearization: ...

    def gram(self, X: np.ndarray) -> np.ndarray:
        """K0 = J0 J0ᵀ (n, n), by the family's fastest structured path."""
        ...

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        """E_K ≥ ‖K̂0 − K0‖₂ for the K̂0 that ``gram`` returns, given tr K̂0 (THEORY.md §11),
        rigorous or labelled an estimate."""
        ...

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Matvec:
        """``v ↦ K0 v`` without forming K0 (``cache``: keep O(n·P/d)-sized factors)."""
        ...

    def beta(self, X: np.ndarray) -> BetaSummary: ...

    def drift(self, X: np.ndarray) -> Drift:
        """A rigorous drift bound h(ρ) on balls around θ0 (THEORY.md §8)."""
        ...

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        """β_loc at θ0, or None where the family has no such estimate."""
        ...

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        """A family-specific structural cause of σ_min = 0 (e.g. a zero input, or frozen
        output weights of rank < C), or None."""
        ...

    def peak_bytes(self, task: str, n: int) -> int:
        """Planned peak bytes of ``task`` on n points: ``gram``, ``matvec``, ``simulate``."""
        ...

    def cache_bytes(self, n: int) -> int:
        """Bytes of the cached factors that make ``gram_operator(cache=True)`` cheaper."""
        ...

    def gram_flops(self, n: int) -> int:
        """The size of ``gram``'s products on n points, n² × their inner dimensions (the
        unit of ``linalg.threads.SMALL_GRAM``, which sizes their threads)."""
        ...


class SpecContext(Protocol):
    """What a family may ask of the spec it is built from (implemented by ``ntkcheck.io``)."""

    def read_arrays(
        self, names: tuple[str, ...], *, suffix_error: str, hint: str
    ) -> list[np.ndarray]:
        """The arrays ``names`` of the file at ``model.init_path`` (an .npz, size-planned)."""
        ...

    def error(self, message: str, *path: str | int) -> Exception:
        """An error located at the spec key ``path``."""
        ...

    def resolve(self, relative: str) -> Path:
        """A path written in the spec, relative to the spec's folder."""
        ...
