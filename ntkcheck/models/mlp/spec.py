"""The ``mlp`` family's ``model:`` block and its cross-key rules (numpy-free)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..fields import ActivationName, Block, FamilySpec, FamilyWords, Locator, PositiveFloat

#: Most layers an ``mlp`` may have (a bound against typos such as a list of 10⁶ widths).
MAX_LAYERS = 64


class MlpSpec(Block):
    """``model:`` with ``architecture: mlp`` — a deep fully connected network (THEORY.md §10)."""

    architecture: Literal["mlp"]
    widths: list[Annotated[int, Field(ge=1, le=10**7)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LAYERS - 1,
        description="[h1, ..., h_{L-1}]: the hidden widths (at least one hidden layer)",
    )
    activation: ActivationName = "tanh"
    parametrization: Literal["standard", "ntk"] = Field(
        default="ntk", description="ntk: layer l applies W_l/√fan-in; standard: W_l"
    )
    output_scale: PositiveFloat = Field(default=1.0, description="s in f = s·(w_Lᵀh/c_L + b_L)")
    bias: bool = True
    train_output: bool = True
    init: Literal["gaussian", "file"] = "gaussian"
    init_std: PositiveFloat | list[PositiveFloat] | None = Field(
        default=None,
        description="std of W_l's entries: one value or one per layer; null: 1 (ntk), "
        "1/√fan-in (standard)",
    )
    init_path: str | None = Field(
        default=None, min_length=1, description="init: file: .npz with W1..WL (and b1..bL)"
    )
    centered: bool = False


def check(model: MlpSpec, at: Locator) -> None:
    """Cross-key rules of the ``mlp`` block (THEORY.md §10)."""
    if model.widths is None:
        raise at.error(
            "required for architecture: mlp; add the hidden widths, e.g. `widths: [512, 512]`"
            + (" (they name the init file's arrays W1 to WL)" if model.init == "file" else ""),
            "model",
            "widths",
        )
    layers = len(model.widths) + 1
    if model.init == "file":
        if model.init_path is None:
            arrays = f"W1 to W{layers}" + (f", b1 to b{layers}" if model.bias else "")
            raise at.error(
                f"init: file needs `init_path: w0.npz` (arrays {arrays})", "model", "init"
            )
        if "init_std" in model.model_fields_set:
            raise at.error("not used with init: file; remove it", "model", "init_std")
    elif model.init_path is not None:
        raise at.error(
            "only used with `init: file`; remove it or set `init: file`", "model", "init_path"
        )
    if isinstance(model.init_std, list) and len(model.init_std) != layers:
        raise at.error(
            f"has {len(model.init_std)} values but the network has {layers} layers "
            f"(widths {model.widths} and the output); give one value or {layers}",
            "model",
            "init_std",
        )


FAMILY = FamilySpec(
    block=MlpSpec,
    check=check,
    words=FamilyWords(
        size="model.widths",
        grow="widen the network",
        underparametrized="increase model.widths",
        saturated="σ'(⟨w_i, x_j⟩) vanishes for every neuron and input",
        too_few="too few neurons",
        heuristic="n^{3/2}/N",
        nonsmooth="relu-like σ are certified for the two-layer network",
        dependent_outputs=(
            "train the output layer (model.train_output: true), or give it rank C (the "
            "last hidden width ≥ C and linearly independent rows)"
        ),
    ),
    schema_note="model.architecture: mlp takes model.widths (always required) instead",
    # No single size key: the hidden widths are a list (a sweep varies them through
    # linked keys if at all); no heuristic γ* is claimed for deep networks.
    size_key=None,
    conformance={"architecture": "mlp", "widths": [5, 4], "activation": "gelu"},
)
