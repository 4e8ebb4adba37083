"""The ``torch`` family's ``model:`` block and its cross-key rules (numpy-free, torch-free).

``model: {architecture: torch, factory: "nets.py:make_cnn", kwargs: {...}, dtype: float64}``:
a function in a Python file that returns an ``nn.Module`` (THEORY.md §10, "Any model
(autodiff): estimate only"). Validating the block never imports the file; building the
model runs it, and only when the run allows code (``--allow-code``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from ..fields import Block, FamilySpec, FamilyWords, Locator

#: ``path/to/file.py:function``: the factory's file (relative to the spec's folder) and name.
FACTORY = re.compile(r"^(?P<path>.+\.py):(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")


class TorchSpec(Block):
    """``model:`` with ``architecture: torch`` — a PyTorch module built by a factory."""

    architecture: Literal["torch"]
    factory: str | None = Field(
        default=None,
        min_length=1,
        description='"path/to/nets.py:make_net": a function returning a torch.nn.Module '
        "(run only with --allow-code)",
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of the factory"
    )
    dtype: Literal["float64", "float32"] = "float64"
    input_shape: list[Annotated[int, Field(ge=1, le=10**7)]] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="the shape of one input (e.g. [1, 8, 8]): rows of a (n, d) X are "
        "reshaped to it; null: the data's own shape",
    )
    recognize: bool = Field(
        default=True,
        description="an nn.Sequential of nn.Linear layers and one supported activation is "
        "certified rigorously as the mlp family",
    )
    init: Literal["factory"] = "factory"
    centered: bool = False


def split_factory(factory: str) -> tuple[str, str] | None:
    """``"nets.py:make"`` → ``("nets.py", "make")``; None when it is not of that form."""
    match = FACTORY.match(factory.strip())
    return None if match is None else (match["path"], match["name"])


def check(model: TorchSpec, at: Locator) -> None:
    """Cross-key rules of the ``torch`` block."""
    if model.factory is None:
        raise at.error(
            "required for architecture: torch; add `factory: models/net.py:make_net` "
            "(a function that returns a torch.nn.Module)",
            "model",
            "factory",
        )
    if split_factory(model.factory) is None:
        raise at.error(
            f"must be 'path/to/file.py:function' (e.g. 'models/cnn.py:make_cnn'); got "
            f"{model.factory!r}",
            "model",
            "factory",
        )
    for key in model.kwargs:
        if not key.isidentifier():
            raise at.error(
                f"{key!r} is not a Python keyword-argument name; rename it", "model", "kwargs"
            )


def factory_file(block: Any) -> list[tuple[tuple[str, str], str]]:
    """The factory's file as written (``validate`` checks that it exists; never imports it)."""
    parts = split_factory(block.factory) if block.factory else None
    return [] if parts is None else [(("model", "factory"), parts[0])]


#: A block the conformance suite builds (``tests/test_conformance.py``): the tiny module of
#: this folder's ``conformance.py`` (d = 3 inputs).
_CONFORMANCE = Path(__file__).with_name("conformance.py")

FAMILY = FamilySpec(
    block=TorchSpec,
    check=check,
    words=FamilyWords(
        size="the module's size (model.kwargs)",
        grow="enlarge the module (model.kwargs)",
        underparametrized="use a module with more trainable parameters than data points",
        saturated="the module's output does not move with its parameters at θ0",
        too_few="too few trainable parameters",
    ),
    schema_note="model.architecture: torch takes model.factory (a Python function; run only "
    "with --allow-code)",
    nonsmooth=lambda block: None,  # unknown before the module is built: it says so itself
    files=factory_file,
    conformance={"factory": f"{_CONFORMANCE}:make_tanh_mlp", "kwargs": {"d": 3, "width": 6}},
    runs_code=True,
    analytic_beta=False,
    requires=("torch",),
)
