"""The lecture's two-layer network with a frozen ±1 output layer (THEORY.md §6)."""

from .init import build, f0_is_zero, output_factor, plan_bytes
from .network import BetaBounds, Linearization, TwoLayerNetwork, factor_gram

__all__ = [
    "BetaBounds",
    "Linearization",
    "TwoLayerNetwork",
    "build",
    "f0_is_zero",
    "factor_gram",
    "output_factor",
    "plan_bytes",
]
