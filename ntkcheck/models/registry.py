"""Model families by ``model.architecture``: one entry per folder of ``ntkcheck/models/``.

A family provides ``build(block, d, rng, ctx) → Model`` from its validated spec
block, ``plan_bytes(block, n, d)`` (the smallest peak-memory plan, checked
before data or weights are allocated) and ``f0_is_zero(block)`` (True when the
initialization makes ``f_θ0 ≡ 0`` exactly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import mlp, two_layer
from .protocol import Model, SpecContext


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[Any, int, np.random.Generator, SpecContext], Model]
    plan_bytes: Callable[[Any, int, int], tuple[int, str] | None]
    f0_is_zero: Callable[[Any], bool]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("two_layer", two_layer.build, two_layer.plan_bytes, two_layer.f0_is_zero),
        Family("mlp", mlp.build, mlp.plan_bytes, mlp.f0_is_zero),
    )
}


def family(name: str) -> Family:
    """The family registered as ``name`` (validated by the spec before)."""
    return FAMILIES[name]
