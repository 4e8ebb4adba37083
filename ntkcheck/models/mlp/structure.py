"""The shape of a deep fully connected network and its flat parameter vector (THEORY.md §10).

Layers are numbered l = 1..L in the docs and k = l − 1 = 0..L−1 in the code:
``sizes = (d, h1, …, h_{L−1}, C)``, layer k maps ``sizes[k] → sizes[k+1]`` by
``z = α_k · h W_kᵀ + b_k`` with ``α_k = 1/c_k`` (1 standard, 1/√fan-in ntk), and the
network output is ``f = s · z_{L−1} ∈ R^C`` (C outputs, THEORY.md §14: the output layer
has C rows; C = 1 is the single-output network). θ concatenates, for each trained layer in
order, ``vec(W_k)`` (row-major) and then ``b_k`` (with bias); the hidden layers are
always trained, the output layer when ``train_output``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import Activation


def layer_scale(parametrization: str, fan_in: int) -> float:
    """``α = 1/c``: 1 (standard) or ``1/√fan-in`` (ntk), THEORY.md §10."""
    return 1.0 if parametrization == "standard" else 1.0 / math.sqrt(fan_in)


@dataclass(frozen=True)
class Structure:
    """Everything about the network except its weights (hashable, picklable)."""

    sizes: tuple[int, ...]
    activation: Activation
    parametrization: str = "ntk"
    s: float = 1.0
    bias: bool = True
    train_output: bool = True

    @property
    def depth(self) -> int:
        """L, the number of weight layers (hidden layers + the output)."""
        return len(self.sizes) - 1

    @property
    def widths(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    @property
    def outputs(self) -> int:
        """C, the output layer's rows (THEORY.md §14)."""
        return self.sizes[-1]

    @property
    def alphas(self) -> tuple[float, ...]:
        """The computed ``α_k = fl(1/c_k)`` of each layer."""
        return tuple(layer_scale(self.parametrization, m) for m in self.sizes[:-1])

    @property
    def alpha_squares(self) -> tuple[float, ...]:
        """``fl(α_k²)``: 1 or ``fl(1/fan-in)`` (one rounding), the syrk factor of the Gram."""
        return tuple(
            1.0 if self.parametrization == "standard" else 1.0 / m for m in self.sizes[:-1]
        )

    def trained(self, k: int) -> bool:
        return k < self.depth - 1 or self.train_output

    @property
    def trained_layers(self) -> tuple[int, ...]:
        return tuple(k for k in range(self.depth) if self.trained(k))

    def layer_params(self, k: int) -> int:
        return self.sizes[k + 1] * self.sizes[k] + (self.sizes[k + 1] if self.bias else 0)

    @property
    def n_params(self) -> int:
        return sum(self.layer_params(k) for k in self.trained_layers)

    def split(self, theta: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Views ``{k: W_k}``, ``{k: b_k}`` into θ (P,) for the trained layers (or into a
        (P, c) block: then each view has a trailing axis of c)."""
        W: dict[int, np.ndarray] = {}
        b: dict[int, np.ndarray] = {}
        tail = theta.shape[1:]
        start = 0
        for k in self.trained_layers:
            rows, cols = self.sizes[k + 1], self.sizes[k]
            W[k] = theta[start : start + rows * cols].reshape(rows, cols, *tail)
            start += rows * cols
            if self.bias:
                b[k] = theta[start : start + rows]
                start += rows
        return W, b


@dataclass(frozen=True, eq=False)
class Params:
    """The weights ``W_k`` (sizes[k+1], sizes[k]) and biases ``b_k`` (None without bias)."""

    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...] | None

    def flat(self, structure: Structure) -> np.ndarray:
        """θ (P,): the trained layers' ``vec(W_k)`` and ``b_k`` in order."""
        parts: list[np.ndarray] = []
        for k in structure.trained_layers:
            parts.append(self.W[k].reshape(-1))
            if self.b is not None:
                parts.append(self.b[k])
        return np.concatenate(parts)

    def at(self, structure: Structure, theta: np.ndarray | None) -> Params:
        """The weights at θ (views into θ); the frozen output layer is kept."""
        if theta is None:
            return self
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        if theta.shape != (structure.n_params,):
            raise ValueError(f"θ must have shape ({structure.n_params},), got {theta.shape}")
        W, b = structure.split(theta)
        return Params(
            W=tuple(W.get(k, self.W[k]) for k in range(structure.depth)),
            b=None
            if self.b is None
            else tuple(b.get(k, self.b[k]) for k in range(structure.depth)),
        )
