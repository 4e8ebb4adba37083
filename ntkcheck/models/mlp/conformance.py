"""Small deep networks for the conformance suite (``ntkcheck.testing``): every smooth
activation kind in both parametrizations, with and without biases and a trained output
layer, and the relu-like ones with one hidden layer (the flip bound) and two (no bound);
and C = 3 outputs (THEORY.md §14: m = n·C rows) for tanh with everything trained, gelu
bare and relu with one hidden layer."""

from __future__ import annotations

import numpy as np

from ..activations import get_activation
from .network import MlpNetwork
from .structure import Params, Structure

_SMOOTH = ("tanh", "gelu", "sin", "softplus", "quadratic")
_RELU_LIKE = ("relu", "leaky_relu", "abs")

#: name → (activation, parametrization, bias and a trained output layer, hidden widths)
_CASES: dict[str, tuple[str, str, bool, tuple[int, ...]]] = {
    **{
        f"{a}-{p}{'' if full else '-bare'}": (a, p, full, (7, 5))
        for full in (True, False)
        for p in ("standard", "ntk")
        for a in _SMOOTH
    },
    **{f"{a}-shallow": (a, "standard", False, (9,)) for a in _RELU_LIKE},
    **{f"{a}-deep": (a, "standard", True, (7, 5)) for a in _RELU_LIKE},
}
#: C = 3 outputs: name → the same fields.
_OUTPUT_CASES: dict[str, tuple[str, str, bool, tuple[int, ...]]] = {
    "tanh-ntk-3-outputs": ("tanh", "ntk", True, (7, 5)),
    "gelu-standard-bare-3-outputs": ("gelu", "standard", False, (7, 5)),
    "relu-shallow-3-outputs": ("relu", "standard", False, (9,)),
}
#: The cases' names (``-bare``: no bias, frozen output layer; ``-3-outputs``: C = 3).
CASES: tuple[str, ...] = (*_CASES, *_OUTPUT_CASES)


def conformance_case(name: str) -> tuple[MlpNetwork, np.ndarray]:
    """The case ``name`` (one of ``CASES``): random weights, biases of size 0.1, 6 inputs."""
    outputs = 3 if name in _OUTPUT_CASES else 1
    activation, parametrization, full, widths = {**_CASES, **_OUTPUT_CASES}[name]
    rng = np.random.default_rng(len(activation) if activation in _SMOOTH else 3)
    sizes = (3, *widths, outputs)
    std = [1.0 if parametrization == "ntk" else 1.0 / np.sqrt(m) for m in sizes[:-1]]
    W = tuple(std[k] * rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1))
    b = tuple(0.1 * rng.standard_normal(m) for m in sizes[1:]) if full else None
    st = Structure(sizes, get_activation(activation), parametrization, 0.8, full, full)
    return MlpNetwork(st, Params(W, b)), rng.standard_normal((6, 3))
