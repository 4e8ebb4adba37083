"""A deep fully connected network, hidden layers trained (THEORY.md §10, docs/theory-mlp.md)."""

from .init import build, f0_is_zero, plan_bytes, structure_of
from .network import MlpLinearization, MlpNetwork
from .structure import Params, Structure

__all__ = [
    "MlpLinearization",
    "MlpNetwork",
    "Params",
    "Structure",
    "build",
    "f0_is_zero",
    "plan_bytes",
    "structure_of",
]
