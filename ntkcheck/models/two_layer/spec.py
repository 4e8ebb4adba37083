"""The two-layer family's ``model:`` block and its cross-key rules (numpy-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..fields import ActivationName, Block, FamilySpec, FamilyWords, Locator, PositiveFloat


class ModelSpec(Block):
    """``model:`` — the lecture's two-layer network (THEORY.md §6)."""

    architecture: Literal["two_layer"] = "two_layer"
    width: int | None = Field(default=None, ge=1, le=10**9, description="N, the number of neurons")
    activation: ActivationName = "tanh"
    scaling: Literal["standard", "ntk", "mean_field"] = "standard"
    init: Literal["gaussian", "symmetric", "file"] = "symmetric"
    init_std: PositiveFloat | None = None
    init_path: str | None = Field(default=None, min_length=1)
    centered: bool = False


def check(model: ModelSpec, at: Locator) -> None:
    """``width`` unless ``init: file`` (even for symmetric pairs); ``init_path`` and
    ``init_std`` go with their ``init``."""
    if model.init == "file":
        if model.init_path is None:
            raise at.error(
                "init: file needs `init_path: w0.npz` (arrays W (N,d), a (N,) or (N,C))",
                "model",
                "init",
            )
        if "init_std" in model.model_fields_set:
            raise at.error("not used with init: file; remove it", "model", "init_std")
        return
    if model.width is None:
        raise at.error("required; add `width:` (e.g. width: 4096)", "model", "width")
    if model.init_path is not None:
        raise at.error(
            "only used with `init: file`; remove it or set `init: file`", "model", "init_path"
        )
    if model.init == "symmetric" and model.width % 2:
        raise at.error(
            f"init: symmetric pairs neurons, so width must be even; got {model.width}",
            "model",
            "width",
        )


def width_of(model: ModelSpec) -> int | None:
    """The width the advice may vary (not when the weights come from a file)."""
    return None if model.init == "file" else model.width


FAMILY = FamilySpec(
    block=ModelSpec,
    check=check,
    words=FamilyWords(
        size="model.width",
        grow="widen the network",
        underparametrized="increase model.width",
        saturated="σ'(⟨w_i, x_j⟩) vanishes for every neuron and input",
        too_few="too few neurons",
        heuristic="n^{3/2}/N",
        dependent_outputs=(
            "the readout a (model.width × C) needs rank C: model.width ≥ C neurons and "
            "linearly independent columns of a"
        ),
    ),
    schema_note="model.width is required unless init: file, and even for init: symmetric",
    size_key="model.width",
    size_of=width_of,
    size_even=lambda model: model.init == "symmetric",
    # The lecture's heuristic γ* ∝ n^{3/2} N^{−1} (THEORY.md §4).
    heuristic={"data.n": 1.5, "model.width": -1.0},
    conformance={"width": 8, "init": "gaussian", "activation": "tanh"},
)
