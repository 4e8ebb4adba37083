"""A deep fully connected network, hidden layers trained (THEORY.md §10, docs/theory-mlp.md).

The names below load on first use (PEP 562), so that ``.spec`` (the ``model:`` block,
numpy-free) imports without the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import lazy_exports

_EXPORTS = {
    "MlpLinearization": ".network",
    "MlpNetwork": ".network",
    "Params": ".structure",
    "Structure": ".structure",
    "build": ".init",
    "f0_is_zero": ".init",
    "plan_bytes": ".init",
    "structure_of": ".init",
}
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


__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .init import build, f0_is_zero, plan_bytes, structure_of
    from .network import MlpLinearization, MlpNetwork
    from .structure import Params, Structure
