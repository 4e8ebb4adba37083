"""The lecture's two-layer network with a frozen ±1 output layer (THEORY.md §6).

The names below load on first use (PEP 562), so that ``.spec`` (the ``model:`` block,
numpy-free) imports without the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import lazy_exports

_EXPORTS = {
    "BetaBounds": ".network",
    "Linearization": ".network",
    "TwoLayerNetwork": ".network",
    "build": ".init",
    "f0_is_zero": ".init",
    "factor_gram": ".network",
    "output_factor": ".init",
    "plan_bytes": ".init",
}
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


__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .init import build, f0_is_zero, output_factor, plan_bytes
    from .network import BetaBounds, Linearization, TwoLayerNetwork, factor_gram
