"""The ``torch`` family from its spec block, or from a module object (the Python API).

Imports torch only when called (``import_torch`` names the extra where it is missing).
The factory runs with torch's generator seeded from the spec's seed; the module is put
in eval mode and in the block's dtype; θ is its ``requires_grad`` parameters.
Recognised modules (``recognize.py``: an ``nn.Sequential`` of ``nn.Linear`` layers and
one supported activation) are converted, with their weights, to the ``mlp`` family and
certified rigorously.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..protocol import Model, SpecContext
from .loader import call_factory, find_function, import_file, import_torch
from .spec import split_factory

if TYPE_CHECKING:
    from .network import Source, TorchModel


def _model(
    module: Any,
    *,
    dtype: str,
    outputs: int,
    input_shape: tuple[int, ...] | None,
    label: str,
    factory: str,
    source: Source | None,
) -> TorchModel:
    from .network import TorchModel, prepare

    return TorchModel(
        prepare(module, dtype, label),
        dtype=dtype,
        outputs=outputs,
        input_shape=input_shape,
        label=label,
        factory=factory,
        source=source,
    )


def build(
    ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext | None, outputs: int = 1
) -> Model:
    """The module the factory returns, at θ0 (THEORY.md §10 "Any model"), or the mlp
    family's network when it is recognised (``model.recognize``)."""
    import_torch()
    from .network import Source

    parts = split_factory(ms.factory)
    assert parts is not None  # the block's check
    written, name = parts
    path = ctx.resolve(written) if ctx is not None else Path(written)
    label = f"model.factory {ms.factory!r}"
    fn = find_function(import_file(path, label), name, path, label)
    seed = int(rng.integers(2**62))
    module = call_factory(fn, ms.kwargs, seed, label)
    source = Source(str(path.resolve()), name, dict(ms.kwargs), seed)
    shape = tuple(ms.input_shape) if ms.input_shape is not None else None
    model = _model(
        module,
        dtype=ms.dtype,
        outputs=outputs,
        input_shape=shape,
        label=label,
        factory=ms.factory,
        source=source,
    )
    if ms.recognize:
        from .recognize import recognized

        converted = recognized(model, d)
        if converted is not None:
            return converted
    return model


def from_module(
    module: Any,
    *,
    dtype: str = "float64",
    outputs: int = 1,
    input_shape: tuple[int, ...] | None = None,
    recognize: bool = True,
    d: int | None = None,
) -> Model:
    """A model from a module object (the Python API): a copy of it, in eval mode and
    ``dtype`` (the caller's module is not changed)."""
    import_torch()
    label = f"the module {type(module).__name__}"
    model = _model(
        copy.deepcopy(module),
        dtype=dtype,
        outputs=outputs,
        input_shape=input_shape,
        label=label,
        factory="",
        source=None,
    )
    if recognize and d is not None:
        from .recognize import recognized

        converted = recognized(model, d)
        if converted is not None:
            return converted
    return model


def plan_bytes(ms: Any, n: int, d: int) -> tuple[int, str] | None:
    """Unknown before the module exists: the plan is made from the module itself."""
    return None


def f0_is_zero(ms: Any) -> bool:
    """A factory's module makes no promise that f_θ0 ≡ 0."""
    return False
