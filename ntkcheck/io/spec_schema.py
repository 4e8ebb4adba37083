"""The spec's schema (README, "The spec"): the :class:`Spec` model and its blocks.

Key names are a public contract. Validation is strict (no silent coercion of
``"64"`` into 64) and unknown keys are errors. The ``model:`` block is one of the
registered families' blocks (``models.registry``), chosen by ``architecture``; this
module names no family.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator

from ..choices import BetaMethod, LossConvention, SimulateMethod, TrainMethod
from ..models.fields import Block, PositiveFloat
from ..models.registry import default_architecture, family_specs
from ..theory.certificate import Theorem
from .datasets import SKLEARN_DATASETS

TheoremName = Literal[tuple(t.value for t in Theorem)]  # type: ignore[valid-type]
BetaName = Literal[tuple(b.value for b in BetaMethod)]  # type: ignore[valid-type]
SimulateMethodName = Literal[tuple(m.value for m in SimulateMethod)]  # type: ignore[valid-type]
TrainMethodName = Literal[tuple(m.value for m in TrainMethod)]  # type: ignore[valid-type]
LossName = Literal[tuple(m.value for m in LossConvention)]  # type: ignore[valid-type]
SklearnName = Literal[tuple(SKLEARN_DATASETS)]  # type: ignore[valid-type]
#: Most GD steps a spec may ask for.
MAX_STEPS = 10**9


class DataSpec(Block):
    """``data:`` — synthetic points, a file with X and y, or a dataset scikit-learn ships."""

    source: Literal["synthetic", "file", "sklearn"] = "synthetic"
    n: int | None = Field(
        default=None,
        ge=1,
        le=10**8,
        description="synthetic: number of points; sklearn: points drawn (stratified by "
        "class; default: all)",
    )
    d: int | None = Field(default=None, ge=1, le=10**7, description="synthetic: input dimension")
    inputs: Literal["gaussian", "sphere"] = "sphere"
    target: Literal["teacher", "linear", "sign", "random", "classes"] = Field(
        default="teacher",
        description="synthetic: teacher | linear | sign | random (regression, each column "
        "unit RMS) | classes (labels: argmax of a random linear teacher; needs outputs ≥ 2)",
    )
    outputs: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="synthetic: outputs per point C (target columns, or classes with "
        "target: classes); default 1",
    )
    noise: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    path: str | None = Field(default=None, min_length=1, description="file: .npz (X, y) or .csv")
    target_columns: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="file (.csv): the last K columns are the targets (default 1)",
    )
    label_column: int | str | None = Field(
        default=None,
        description="file (.csv): the column of integer class labels, by header name or "
        "number (1 is the first, -1 the last); the other columns are the inputs",
    )
    name: SklearnName | None = Field(  # type: ignore[valid-type]
        default=None,
        description="sklearn: the bundled dataset (read from the installed scikit-learn, "
        'never downloaded; pip install "ntkcheck[datasets]")',
    )
    classes: int | list[int | str] | None = Field(
        default=None,
        description="class data: the classes kept, as label values or names (the order of "
        "the outputs), or a count K (the first K); default: all",
    )
    encoding: Literal["onehot", "centered", "pm1"] | None = Field(
        default=None,
        description="class labels → targets: onehot (0/1; the default for class data) | "
        "centered (one-hot − 1/C) | pm1 (±1); given for an .npz, its vector y is read as "
        "integer labels",
    )
    normalize: Literal["none", "standardize", "sphere"] = "none"

    @field_validator("label_column", mode="before")
    @classmethod
    def _label_column(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip()):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value != 0:
            return value
        raise ValueError("must be a column's header name or number (1 is the first, -1 the last)")

    @field_validator("classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        def plain(v: Any) -> bool:
            return isinstance(v, int | str) and not isinstance(v, bool)

        if value is None or (plain(value) and not isinstance(value, str)):
            return value
        if isinstance(value, list) and all(plain(v) for v in value):
            return value
        raise ValueError(
            "must be a count K (the first K classes) or a list of class labels (integers) "
            "or names, e.g. [0, 1, 2]"
        )


#: The ``model:`` blocks by ``architecture``, in registry order (absent: the default).
MODEL_BLOCKS: dict[str, type[BaseModel]] = {name: f.block for name, f in family_specs().items()}
DEFAULT_ARCHITECTURE = default_architecture()


def _architecture(value: Any) -> str:
    """The ``model:`` block's tag: its ``architecture`` (default: the first family)."""
    if isinstance(value, dict):
        arch = value.get("architecture", DEFAULT_ARCHITECTURE)
        return arch if isinstance(arch, str) else repr(arch)
    if isinstance(value, BaseModel):
        return str(getattr(value, "architecture", DEFAULT_ARCHITECTURE))
    return DEFAULT_ARCHITECTURE  # not a mapping: the default block says so


if TYPE_CHECKING:  # any family's block, as the rest of the tool reads it
    from ..models.fields import ModelBlock
else:
    ModelBlock = Annotated[
        Union[tuple(Annotated[block, Tag(name)] for name, block in MODEL_BLOCKS.items())],  # type: ignore[valid-type]  # noqa: UP007
        Discriminator(
            _architecture,
            custom_error_type="unknown_architecture",
            custom_error_message="unknown model architecture",
        ),
    ]


class CertifySpec(Block):
    """``certify:`` — which theorem decides and which β the certificate uses."""

    theorem: TheoremName = Field(  # type: ignore[valid-type]
        default="path",
        description="path: the path-length theorem (THEORY.md §9); lecture: §4. Both are reported.",
    )
    beta: BetaName = "analytic"  # type: ignore[valid-type]


class SimulateSpec(Block):
    """``simulate:`` — parsed and validated now, used by ``ntkcheck simulate``."""

    horizon: float | str = "auto"
    points: int = Field(default=50, ge=2, le=100_000)
    loss_tol: float = Field(default=1.0e-8, gt=0, lt=1, allow_inf_nan=False)
    method: SimulateMethodName = Field(  # type: ignore[valid-type]
        default="auto",
        description="auto: expint when a certificate holds and κ² ≥ 25 (the flow is lazy and "
        "stiff) or when none holds and λ_max·τ_T ≥ 1e4 (stiff; it then re-linearizes where "
        "the kernel moves), else dop853; expint: exponential Runge–Kutta with the kernel flow "
        "exact; dop853: SciPy's explicit DOP853",
    )

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, value: float | str) -> float | str:
        if value == "auto":
            return value
        if isinstance(value, str) or not (math.isfinite(value) and value > 0):
            raise ValueError("must be a positive finite time or 'auto'")
        return float(value)


class TrainSpec(Block):
    """``train:`` — the training the certificate is about (THEORY.md §9, §13)."""

    method: TrainMethodName = Field(  # type: ignore[valid-type]
        default="flow",
        description="flow: gradient flow, the η → 0 limit (§9); gd: gradient descent with "
        "learning rate lr for `steps` full-batch steps (§13)",
    )
    lr: PositiveFloat | None = Field(
        default=None, description="gd: the learning rate as your framework takes it (see loss)"
    )
    steps: int | None = Field(
        default=None, ge=1, le=MAX_STEPS, description="gd: the number of steps K"
    )
    loss: LossName = Field(  # type: ignore[valid-type]
        default="half_sum",
        description="the loss lr applies to: half_sum ½‖r‖² (the lecture's); sum ‖r‖² "
        "(PyTorch MSELoss(reduction='sum')); mse ‖r‖²/m (PyTorch MSELoss()); half_mean ½‖r‖²/m",
    )


class SweepSpec(Block):
    """``sweep:`` — run by ``ntkcheck sweep`` (docs/sweep.md); other commands validate it."""

    grid: dict[str, list[Any] | str] = Field(
        default_factory=dict,
        description="spec key (dotted, e.g. data.n; linked keys: 'data.n,data.d') → a list "
        "of values, or an expression: 'logspace(a, b, k, base=2)', 'linspace(a, b, k)', "
        "'range(a, b, step)'",
    )
    seeds: int | None = Field(
        default=None, ge=1, le=100_000, description="repeat every point with seeds 0..K−1"
    )


class Spec(Block):
    """A whole problem spec."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    gamma: PositiveFloat
    data: DataSpec
    model: ModelBlock
    certify: CertifySpec = Field(default_factory=CertifySpec)
    simulate: SimulateSpec = Field(default_factory=SimulateSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    sweep: SweepSpec = Field(default_factory=SweepSpec)
