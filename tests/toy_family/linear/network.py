"""f_c(x) = s·⟨w_c, x⟩ for c < C: J = s·X ⊗ I_C-like, constant; K0 = s² X Xᵀ ⊗ I_C, β = 0.

θ = vec(W), W (C, d) row-major (θ[c·d + k] = W[c, k]); the outputs are stacked
point-major (row j·C + c, THEORY.md §14): f = s·(X Wᵀ) flattened. With C = 1 the
model is f(x) = s·⟨w, x⟩ exactly as before (the same products).
"""

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
    outputs: int = 1

    @property
    def f(self) -> np.ndarray:
        if self.outputs == 1:
            return self.s * (self.X @ self.theta)
        W = self.theta.reshape(self.outputs, -1)
        return (self.s * (self.X @ W.T)).reshape(-1)

    def jvp(self, v: np.ndarray) -> np.ndarray:
        if self.outputs == 1:
            return self.s * (self.X @ v)
        C, n = self.outputs, self.X.shape[0]
        V = v.reshape(C, self.X.shape[1], -1)  # (C, d, k)
        out = self.s * np.einsum("jd,cdk->jck", self.X, V)
        return out.reshape(n * C) if v.ndim == 1 else out.reshape(n * C, -1)

    def vjp(self, r: np.ndarray) -> np.ndarray:
        if self.outputs == 1:
            return self.s * (self.X.T @ r)
        C, n, d = self.outputs, self.X.shape[0], self.X.shape[1]
        R = r.reshape(n, C, -1)  # (n, C, k)
        out = self.s * np.einsum("jck,jd->cdk", R, self.X)
        return out.reshape(C * d) if r.ndim == 1 else out.reshape(C * d, -1)

    def gram(self) -> np.ndarray:
        return _gram(self.X, self.s, self.outputs)

    def drift_gram(self, other: Any) -> np.ndarray:
        m = self.X.shape[0] * self.outputs
        return np.zeros((m, m))


def _gram(X: np.ndarray, s: float, outputs: int = 1) -> np.ndarray:
    K = (s * s) * (X @ X.T)
    K = np.triu(K) + np.triu(K, 1).T  # exactly symmetric
    return K if outputs == 1 else np.kron(K, np.eye(outputs))


@dataclass(frozen=True)
class LinearModel:
    w: np.ndarray
    s: float
    C: int = 1

    @property
    def n_params(self) -> int:
        return int(self.w.size)

    @property
    def outputs(self) -> int:
        """C, outputs per input (THEORY.md §14)."""
        return self.C

    @property
    def theta0(self) -> np.ndarray:
        return self.w

    def info(self) -> ModelInfo:
        P, d = self.n_params, self.n_params // self.C
        return ModelInfo(
            family="linear",
            params=P,
            activation="identity",
            summary={"params": P, "activation": "identity", "scale": self.s},
            heuristic_size=None,
            head=f"linear model, d = {d:,}",
            tail=f"s = {self.s:g}",
        )

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        return self.linearize(X, theta).f

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> _Lin:
        return _Lin(X, self.s, self.w if theta is None else theta, self.C)

    def gram(self, X: np.ndarray) -> np.ndarray:
        return _gram(X, self.s, self.C)

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        # no rounding analysis here: a labelled estimate, not a proof
        return GramError(X.shape[1] * EPS * trace, rigorous=False)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        s2, C = self.s * self.s, self.C
        if C == 1:
            return lambda v: s2 * (X @ (X.T @ v))
        return lambda v: (s2 * (X @ (X.T @ v.reshape(X.shape[0], C)))).reshape(-1)

    def beta(self, X: np.ndarray) -> BetaSummary:
        return BetaSummary(0.0, "linear", {"linear": 0.0}, 0.0)

    def drift(self, X: np.ndarray) -> Drift:
        return LipschitzDrift(0.0)

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        return None

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        return None

    def peak_bytes(self, task: str, n: int) -> int:
        m, P = n * self.C, self.n_params
        return 8 * (4 * m * m + 4 * m * P + 4 * P) + (1 << 16)

    def cache_bytes(self, n: int) -> int:
        return 0

    def gram_flops(self, n: int) -> int:
        return n * n * self.n_params // self.C


def build(
    ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext | None, outputs: int = 1
) -> LinearModel:
    if ms.init == "zeros":
        return LinearModel(np.zeros(d * outputs), ms.scale, outputs)
    std = 1.0 / np.sqrt(d) if ms.init_std is None else ms.init_std
    return LinearModel(std * rng.standard_normal(d * outputs), ms.scale, outputs)


def plan_bytes(ms: Any, n: int, d: int, outputs: int = 1) -> tuple[int, str] | None:
    m = n * outputs
    return 8 * (4 * m * m + 4 * m * d * outputs), "the linear model's Gram"


def f0_is_zero(ms: Any) -> bool:
    return bool(ms.init == "zeros")
