"""Model families by ``model.architecture``: one entry per folder of ``ntkcheck/models/``.

A family is a folder ``models/<family>/`` and one line of :data:`FAMILIES`. Its
``spec.py`` (numpy-free) defines ``FAMILY``, a :class:`~.fields.FamilySpec`: the
``model:`` block and its cross-key checks, its size axis, its heuristic γ and the
words of its advice — what ``io``, ``run`` and ``report`` ask of it
(:func:`family_spec`). Its package provides ``build(block, d, rng, ctx) → Model``
from the validated block, ``plan_bytes(block, n, d)`` (the smallest peak-memory plan,
checked before data or weights are allocated) and ``f0_is_zero(block)`` (True when
the initialization makes ``f_θ0 ≡ 0`` exactly) (:func:`family`).

A family's numerical code is imported on first use, so a run pays only for the family
it builds, and ``ntkcheck validate`` / ``schema`` load no numpy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .fields import FamilySpec
    from .protocol import Model, SpecContext

#: architecture name → the package (under ``ntkcheck.models``) that implements it; the
#: first is the default architecture (a ``model:`` block without ``architecture``).
FAMILIES: dict[str, str] = {"two_layer": "two_layer", "mlp": "mlp", "torch": "torch_module"}


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A family package's ``__getattr__`` (PEP 562): ``exports`` maps a public name to the
    submodule (``.network``) that defines it, loaded on first use, so that the family's
    ``spec`` module imports without its numerical code."""
    module = importlib.import_module(package)

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name], package), name)
            setattr(module, name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def available(name: str) -> bool:
    """Whether the packages the family ``name`` needs (``FamilySpec.requires``, an optional
    extra such as torch) can be imported here (without importing them)."""
    from importlib.util import find_spec

    return all(find_spec(package) is not None for package in family_spec(name).requires)


def default_architecture() -> str:
    """The architecture of a ``model:`` block that names none (the first registered)."""
    return next(iter(FAMILIES))


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[Any, int, np.random.Generator, SpecContext], Model]
    plan_bytes: Callable[[Any, int, int], tuple[int, str] | None]
    f0_is_zero: Callable[[Any], bool]


def _package(name: str) -> str:
    return f"{__package__}.{FAMILIES[name]}"


@cache
def family(name: str) -> Family:
    """The family registered as ``name`` (validated by the spec before)."""
    module = importlib.import_module(_package(name))
    return Family(name, module.build, module.plan_bytes, module.f0_is_zero)


def family_attribute(name: str, attribute: str) -> Any:
    """A public name of the family ``name``'s package beyond the registry's (the torch
    family's ``from_module`` for the Python API), loaded on first use."""
    return getattr(importlib.import_module(_package(name)), attribute)


@cache
def family_spec(name: str) -> FamilySpec:
    """The spec side of the family registered as ``name`` (its ``spec.FAMILY``; numpy-free)."""
    spec: FamilySpec = importlib.import_module(f"{_package(name)}.spec").FAMILY
    return spec


def family_specs() -> Mapping[str, FamilySpec]:
    """Every registered family's spec side, in registry order."""
    return {name: family_spec(name) for name in FAMILIES}


def shrink_advice(name: str) -> str:
    """What makes a problem of the family ``name`` smaller (advice when memory runs out)."""
    return f"reduce data.n or {family_spec(name).words.size}"


def size_keys() -> tuple[str, ...]:
    """The families' size axes (``model.width``), in registry order, without repeats."""
    keys = (f.size_key for f in family_specs().values() if f.size_key is not None)
    return tuple(dict.fromkeys(keys))


def heuristic_exponents() -> dict[str, float]:
    """Spec key → the exponent of the heuristic γ* along it, for the keys on which every
    family that names one agrees (a sweep's rows do not say their family)."""
    seen: dict[str, set[float]] = {}
    for f in family_specs().values():
        for key, e in f.heuristic.items():
            seen.setdefault(key, set()).add(e)
    return {key: es.pop() for key, es in seen.items() if len(es) == 1}
