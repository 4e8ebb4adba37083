"""From a validated spec to a ``Problem``: data, the family's model at θ0, γ and f0."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..linalg.memory import require
from ..models.registry import family, family_spec, shrink_advice
from ..problem import Problem
from .code import HOW, code_allowed
from .data import check_file, load_data, read_npz
from .datasets import SKLEARN_DATASETS, class_index
from .loaded import LoadedSpec


@dataclass(frozen=True)
class _Context:
    """The ``SpecContext`` a family builds from: located errors and the weight file."""

    loaded: LoadedSpec

    def error(self, message: str, *path: str | int) -> Exception:
        return self.loaded.error(message, *path)

    def resolve(self, relative: str) -> Path:
        return self.loaded.resolve(relative)

    def read_arrays(
        self, names: tuple[str, ...], *, suffix_error: str, hint: str
    ) -> list[np.ndarray]:
        init_path = getattr(self.loaded.spec.model, "init_path", None)
        assert init_path is not None
        path = self.loaded.resolve(init_path)
        check_file(self.loaded, path, "model", "init_path")
        if path.suffix.lower() != ".npz":
            raise self.loaded.error(suffix_error, "model", "init_path")
        return read_npz(path, names, f"model.init_path {init_path!r}", hint)


def outputs_keyword(outputs: int) -> dict[str, int]:
    """``outputs=C`` for a family's ``build``/``plan_bytes`` when C > 1, nothing for C = 1:
    single-output calls stay exactly the calls of before (docs/DESIGN.md "Several outputs")."""
    return {"outputs": outputs} if outputs > 1 else {}


def planned_shape(loaded: LoadedSpec) -> tuple[int, int, int] | None:
    """(n, d, C) of the spec's data when known before loading it (synthetic data, a
    bundled dataset), else None (a file)."""
    ds = loaded.spec.data
    if ds.source == "synthetic":
        assert ds.n is not None and ds.d is not None
        return ds.n, ds.d, ds.outputs or 1
    if ds.source == "sklearn":
        assert ds.name is not None
        info = SKLEARN_DATASETS[ds.name]
        if info.classes is None or info.counts is None:
            return ds.n or info.samples, info.features, 1
        if ds.classes is None or isinstance(ds.classes, int):
            chosen = list(range(ds.classes or len(info.classes)))
        else:
            chosen = [k for g in ds.classes if (k := class_index(g, info.classes)) is not None]
        return ds.n or sum(info.counts[k] for k in chosen), info.features, len(chosen)
    return None


def refuse_code(loaded: LoadedSpec) -> None:
    """A family that runs the user's code (``FamilySpec.runs_code``) is refused, before
    anything is imported, unless the run allows code (``io.code``)."""
    ms = loaded.spec.model
    fam = family_spec(ms.architecture)
    if fam.runs_code and not code_allowed():
        files = ", ".join(written for _, written in fam.files(ms)) or "the spec's files"
        raise loaded.error(
            f"{ms.architecture} runs Python code ({files}), and ntkcheck runs no code from a "
            f"spec unless asked: {HOW}",
            "model",
            "architecture",
        )


def _shaped_inputs(ms: Any, n: int, shape: tuple[int, ...], loaded: LoadedSpec) -> Any:
    """X of shape (n, …) arrives as flat rows: a block with an ``input_shape`` key takes
    the shape as its default; other families take 2-D inputs only (one line, exit 2)."""
    if "input_shape" not in type(ms).model_fields:
        given = ", ".join(map(str, (n, *shape)))
        raise loaded.error(
            f"X has shape ({given}); the {ms.architecture} family takes 2-D inputs: flatten "
            f"them to ({n}, {math.prod(shape)})",
            "data",
            "path",
        )
    if ms.input_shape is None:
        return ms.model_copy(update={"input_shape": list(shape)})
    return ms


def build_problem(loaded: LoadedSpec) -> Problem:
    """Data, initial weights and f0 for the spec; one seed drives everything.

    Data and weights use independent streams spawned from ``seed``, so changing
    the model does not change the data. With C > 1 outputs the family builds C
    outputs (``build(…, outputs=C)``) and plans for them.
    """
    spec = loaded.spec
    ms = spec.model
    refuse_code(loaded)
    fam = family(ms.architecture)
    shape = planned_shape(loaded)
    if shape is not None:
        n, d, c = shape
        plan = fam.plan_bytes(ms, n, d, **outputs_keyword(c))
        if plan is not None:  # the smallest plan, before anything is allocated
            outs = f", C = {c:,} outputs" if c > 1 else ""
            require(
                plan[0],
                f"certifying n = {n:,}, d = {d:,}{outs}, {plan[1]}",
                shrink_advice(ms.architecture),
            )
    data_seq, init_seq = np.random.SeedSequence(spec.seed).spawn(2)
    data = load_data(loaded, np.random.default_rng(data_seq))
    if data.input_shape is not None:
        ms = _shaped_inputs(ms, data.n, data.input_shape, loaded)
    model = fam.build(
        ms,
        data.d,
        np.random.default_rng(init_seq),
        _Context(loaded),
        **outputs_keyword(data.outputs),
    )
    f0_zero = fam.f0_is_zero(ms)
    f0 = np.zeros(data.rows) if f0_zero else model.forward(data.X)
    return Problem(
        name=loaded.name,
        source=loaded.source,
        X=data.X,
        y=data.y,
        data=data.description,
        model=model,
        init=ms.init,
        centered=ms.centered,
        f0=f0,
        f0_zero=f0_zero,
        outputs=data.outputs,
        labels=data.labels,
        classes=data.classes,
    )
