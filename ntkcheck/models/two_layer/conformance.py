"""Small two-layer networks for the conformance suite (``ntkcheck.testing``): every
smooth activation kind in both scalings, and the relu-like ones (the flip bound)."""

from __future__ import annotations

import numpy as np

from ..activations import get_activation
from .init import output_factor
from .network import TwoLayerNetwork

_SMOOTH = ("tanh", "gelu", "sin", "softplus", "quadratic")
_RELU_LIKE = ("relu", "leaky_relu", "abs")

#: The cases' names: ``activation-scaling``.
CASES: tuple[str, ...] = (
    *(f"{a}-{s}" for s in ("standard", "ntk") for a in _SMOOTH),
    *(f"{a}-standard" for a in _RELU_LIKE),
)


def conformance_case(
    name: str, *, n: int = 6, d: int = 3, N: int = 10
) -> tuple[TwoLayerNetwork, np.ndarray]:
    """The case ``name`` (one of ``CASES``): a network with W ~ N(0, 1/d), a = ±1, and inputs."""
    activation, scaling = name.rsplit("-", 1)
    rng = np.random.default_rng(len(activation) if activation in _SMOOTH else 3)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((N, d)) / np.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=N)
    net = TwoLayerNetwork(W, a, output_factor(scaling, N), get_activation(activation), scaling)
    return net, X
