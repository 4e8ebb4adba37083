"""The activation names (no numerics): what the spec accepts, loaded without numpy."""

from __future__ import annotations

#: Every activation of the table (THEORY.md §6), then the aliases.
ACTIVATION_NAMES: tuple[str, ...] = (
    "identity", "tanh", "sigmoid", "softplus", "erf", "gelu", "silu", "sin", "cos", "elu",
    "quadratic", "relu", "leaky_relu", "abs", "swish",
)  # fmt: skip
ALIASES: dict[str, str] = {"swish": "silu"}
#: Activations whose σ' jumps (THEORY.md §10): certified through activation flips.
NONSMOOTH_ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "abs")
