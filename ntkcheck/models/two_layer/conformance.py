"""Small two-layer networks for the conformance suite (``ntkcheck.testing``): every
smooth activation kind in both scalings, the relu-like ones (the flip bound), and
three outputs (THEORY.md §14: a ±1 readout matrix, m = n·C rows)."""

from __future__ import annotations

import numpy as np

from ..activations import get_activation
from .init import output_factor
from .network import TwoLayerNetwork

_SMOOTH = ("tanh", "gelu", "sin", "softplus", "quadratic")
_RELU_LIKE = ("relu", "leaky_relu", "abs")
#: Cases with C = 3 outputs: ``activation-scaling-c3``.
_OUTPUTS = ("tanh-standard-c3", "gelu-ntk-c3", "relu-standard-c3")

#: The cases' names: ``activation-scaling`` (one output) or ``activation-scaling-cC``.
CASES: tuple[str, ...] = (
    *(f"{a}-{s}" for s in ("standard", "ntk") for a in _SMOOTH),
    *(f"{a}-standard" for a in _RELU_LIKE),
    *_OUTPUTS,
)


def conformance_case(
    name: str, *, n: int = 6, d: int = 3, N: int = 10
) -> tuple[TwoLayerNetwork, np.ndarray]:
    """The case ``name`` (one of ``CASES``): a network with W ~ N(0, 1/d), a = ±1 (N,) or
    (N, C), and inputs."""
    outputs = 1
    head, _, tail = name.rpartition("-")
    if tail.startswith("c") and tail[1:].isdigit():
        name, outputs = head, int(tail[1:])
    activation, scaling = name.rsplit("-", 1)
    rng = np.random.default_rng(len(activation) if activation in _SMOOTH else 3)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((N, d)) / np.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=N if outputs == 1 else (N, outputs))
    net = TwoLayerNetwork(W, a, output_factor(scaling, N), get_activation(activation), scaling)
    return net, X
