"""f(x) = s·⟨w, x⟩: J = s·X at every θ, K0 = s² X Xᵀ, β = 0."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...theory.drift import Drift, LipschitzDrift
from ..protocol import BetaSummary, GramError, LocalBeta, ModelInfo, Obstruction, SpecContext

EPS = 2.0**-52


@dataclass(frozen=True)
class _Lin:
    X: np.ndarray
    s: float
    theta: np.ndarray

    @property
    def f(self) -> np.ndarray:
        return self.s * (self.X @ self.theta)

    def jvp(self, v: np.ndarray) -> np.ndarray:
        return self.s * (self.X @ v)

    def vjp(self, r: np.ndarray) -> np.ndarray:
        return self.s * (self.X.T @ r)

    def gram(self) -> np.ndarray:
        return _gram(self.X, self.s)

    def drift_gram(self, other: Any) -> np.ndarray:
        n = self.X.shape[0]
        return np.zeros((n, n))


def _gram(X: np.ndarray, s: float) -> np.ndarray:
    K = (s * s) * (X @ X.T)
    return np.triu(K) + np.triu(K, 1).T  # exactly symmetric


@dataclass(frozen=True)
class LinearModel:
    w: np.ndarray
    s: float

    @property
    def n_params(self) -> int:
        return int(self.w.size)

    @property
    def outputs(self) -> int:
        """C = 1 (one output per input)."""
        return 1

    @property
    def theta0(self) -> np.ndarray:
        return self.w

    def info(self) -> ModelInfo:
        d = self.n_params
        return ModelInfo(
            family="linear",
            params=d,
            activation="identity",
            summary={"params": d, "activation": "identity", "scale": self.s},
            heuristic_size=None,
            head=f"linear model, d = {d:,}",
            tail=f"s = {self.s:g}",
        )

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        return self.s * (X @ (self.w if theta is None else theta))

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> _Lin:
        return _Lin(X, self.s, self.w if theta is None else theta)

    def gram(self, X: np.ndarray) -> np.ndarray:
        return _gram(X, self.s)

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        # no rounding analysis here: a labelled estimate, not a proof
        return GramError(X.shape[1] * EPS * trace, rigorous=False)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        s2 = self.s * self.s
        return lambda v: s2 * (X @ (X.T @ v))

    def beta(self, X: np.ndarray) -> BetaSummary:
        return BetaSummary(0.0, "linear", {"linear": 0.0}, 0.0)

    def drift(self, X: np.ndarray) -> Drift:
        return LipschitzDrift(0.0)

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        return None

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        return None

    def peak_bytes(self, task: str, n: int) -> int:
        d = self.n_params
        return 8 * (4 * n * n + 4 * n * d + 4 * d) + (1 << 16)

    def cache_bytes(self, n: int) -> int:
        return 0

    def gram_flops(self, n: int) -> int:
        return n * n * self.n_params


def build(ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext | None) -> LinearModel:
    if ms.init == "zeros":
        return LinearModel(np.zeros(d), ms.scale)
    std = 1.0 / np.sqrt(d) if ms.init_std is None else ms.init_std
    return LinearModel(std * rng.standard_normal(d), ms.scale)


def plan_bytes(ms: Any, n: int, d: int) -> tuple[int, str] | None:
    return 8 * (4 * n * n + 4 * n * d), "the linear model's Gram"


def f0_is_zero(ms: Any) -> bool:
    return bool(ms.init == "zeros")
