"""Model families by ``model.architecture``: one entry per folder of ``ntkcheck/models/``.

A family provides ``build(block, d, rng, ctx) → Model`` from its validated spec
block, ``plan_bytes(block, n, d)`` (the smallest peak-memory plan, checked
before data or weights are allocated) and ``f0_is_zero(block)`` (True when the
initialization makes ``f_θ0 ≡ 0`` exactly). A family's folder is imported on
first use, so a run pays only for the family it builds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .protocol import Model, SpecContext

#: architecture name → the package (under ``ntkcheck.models``) that implements it.
FAMILIES: dict[str, str] = {"two_layer": "two_layer", "mlp": "mlp"}


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[Any, int, np.random.Generator, SpecContext], Model]
    plan_bytes: Callable[[Any, int, int], tuple[int, str] | None]
    f0_is_zero: Callable[[Any], bool]


@cache
def family(name: str) -> Family:
    """The family registered as ``name`` (validated by the spec before)."""
    module = importlib.import_module(f"{__package__}.{FAMILIES[name]}")
    return Family(name, module.build, module.plan_bytes, module.f0_is_zero)
