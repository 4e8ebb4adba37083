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

from ...errors import DataError
from ..protocol import Model, SpecContext
from .loader import call_factory, find_function, import_file, import_torch
from .spec import split_factory

if TYPE_CHECKING:
    import torch

    from .network import Source, TorchModel


def prepare(module: Any, dtype: str, label: str) -> torch.nn.Module:
    """The module in eval mode and ``dtype``; refused where f_θ(x) is not a function of θ
    and x alone (batch statistics) or where nothing is trained."""
    torch = import_torch()
    from .network import DTYPES

    for name, sub in module.named_modules():
        norm = isinstance(sub, torch.nn.modules.batchnorm._BatchNorm)
        if norm and not sub.track_running_stats:
            where = f" ({name})" if name else ""
            raise DataError(
                f"{label}: {type(sub).__name__}{where} uses batch statistics even in eval mode "
                "(track_running_stats=False): f_θ(x_j) would depend on the other inputs; "
                "use running statistics or remove it"
            )
    module = module.to(device="cpu", dtype=DTYPES[dtype])
    module.eval()
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise DataError(
            f"{label}: the module has no trainable parameters (none with requires_grad); "
            "θ would be empty"
        )
    if any(not p.is_floating_point() for p in params):
        raise DataError(f"{label}: a trainable parameter is not a real floating-point tensor")
    return module


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
    from .network import TorchModel

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


def rebuild(made: Any, settings: dict[str, Any], state: dict[str, Any]) -> TorchModel:
    """Unpickle: the module made again (the factory re-imported and called with the same
    seed, or the pickled module itself), set to the pickled θ0 and fixed tensors."""
    torch = import_torch()
    from .network import Source, TorchModel

    label = settings["label"]
    if isinstance(made, Source):
        path = Path(made.path)
        fn = find_function(import_file(path, label), made.name, path, label)
        module = call_factory(fn, made.kwargs, made.seed, label)
        module = prepare(module, settings["dtype"], label)
    else:
        module = made
    with torch.no_grad():
        theta = torch.as_tensor(state["theta0"])
        start = 0
        trained = [p for p in module.parameters() if p.requires_grad]
        for p in trained:
            size = p.numel()
            p.copy_(theta[start : start + size].view(p.shape))
            start += size
        fixed = dict(module.named_parameters())
        fixed.update(dict(module.named_buffers()))
        for key, value in state["fixed"].items():
            fixed[key].copy_(torch.as_tensor(value))
    return TorchModel(module, source=made if isinstance(made, Source) else None, **settings)


def plan_bytes(ms: Any, n: int, d: int) -> tuple[int, str] | None:
    """Unknown before the module exists: the plan is made from the module itself."""
    return None


def f0_is_zero(ms: Any) -> bool:
    """A factory's module makes no promise that f_θ0 ≡ 0."""
    return False
