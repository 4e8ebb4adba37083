"""From a validated spec to a ``Problem``: data, the family's model at θ0, γ and f0."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..linalg.memory import require
from ..models.registry import family, family_spec, shrink_advice
from ..problem import Problem
from .code import HOW, code_allowed
from .data import check_file, load_data, read_npz
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


def build_problem(loaded: LoadedSpec) -> Problem:
    """Data, initial weights and f0 for the spec; one seed drives everything.

    Data and weights use independent streams spawned from ``seed``, so changing
    the model does not change the data.
    """
    spec = loaded.spec
    ds, ms = spec.data, spec.model
    refuse_code(loaded)
    fam = family(ms.architecture)
    if ds.source == "synthetic":
        assert ds.n is not None and ds.d is not None
        plan = fam.plan_bytes(ms, ds.n, ds.d)
        if plan is not None:  # the smallest plan, before anything is allocated
            require(
                plan[0],
                f"certifying n = {ds.n:,}, d = {ds.d:,}, {plan[1]}",
                shrink_advice(ms.architecture),
            )
    data_seq, init_seq = np.random.SeedSequence(spec.seed).spawn(2)
    data = load_data(loaded, np.random.default_rng(data_seq))
    model = fam.build(ms, data.d, np.random.default_rng(init_seq), _Context(loaded))
    f0_zero = fam.f0_is_zero(ms)
    f0 = np.zeros(data.n) if f0_zero else model.forward(data.X)
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
    )
