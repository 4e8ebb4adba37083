"""The ``linear`` family's ``model:`` block and its cross-key rule (numpy-free)."""

from __future__ import annotations

from typing import Literal

from ..fields import Block, FamilySpec, FamilyWords, Locator, PositiveFloat


class LinearSpec(Block):
    """``model:`` with ``architecture: linear`` — f(x) = s·⟨w, x⟩, w trained."""

    architecture: Literal["linear"]
    scale: PositiveFloat = 1.0
    init: Literal["gaussian", "zeros"] = "gaussian"
    init_std: PositiveFloat | None = None
    centered: bool = False


def check(model: LinearSpec, at: Locator) -> None:
    if model.init == "zeros" and model.init_std is not None:
        raise at.error("not used with init: zeros; remove it", "model", "init_std")


FAMILY = FamilySpec(
    block=LinearSpec,
    check=check,
    words=FamilyWords(
        size="data.d",
        grow="add input features",
        underparametrized="add input features (P = d)",
        saturated="every input is zero",
        too_few="too few input features",
    ),
    schema_note="model.architecture: linear takes model.scale",
    conformance={"architecture": "linear", "scale": 0.7},
)
