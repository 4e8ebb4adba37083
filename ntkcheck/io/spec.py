"""The YAML problem spec (README, "The spec"): schema, loading and clear errors.

Key names are a public contract. Validation is strict (no silent coercion of
``"64"`` into 64), unknown keys are errors with a "did you mean", and every
error names the key path, the YAML line, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from ..choices import BetaMethod, LossConvention, SimulateMethod, TrainMethod
from ..errors import SpecError
from ..models.names import ACTIVATION_NAMES, NONSMOOTH_ACTIVATIONS
from ..theory.certificate import Theorem
from .grid import Axis, GridError, KeyKind, make_axis, split_keys
from .yaml_lines import Path_, YamlError, load_yaml_with_lines

MAX_SPEC_BYTES = 1 << 20

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ActivationName = Literal[ACTIVATION_NAMES]  # type: ignore[valid-type]
TheoremName = Literal[tuple(t.value for t in Theorem)]  # type: ignore[valid-type]
BetaName = Literal[tuple(b.value for b in BetaMethod)]  # type: ignore[valid-type]
SimulateMethodName = Literal[tuple(m.value for m in SimulateMethod)]  # type: ignore[valid-type]
TrainMethodName = Literal[tuple(m.value for m in TrainMethod)]  # type: ignore[valid-type]
LossName = Literal[tuple(m.value for m in LossConvention)]  # type: ignore[valid-type]
#: Most GD steps a spec may ask for.
MAX_STEPS = 10**9


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataSpec(_Block):
    """``data:`` — synthetic points or a file with X and y."""

    source: Literal["synthetic", "file"] = "synthetic"
    n: int | None = Field(default=None, ge=1, le=10**8, description="synthetic: number of points")
    d: int | None = Field(default=None, ge=1, le=10**7, description="synthetic: input dimension")
    inputs: Literal["gaussian", "sphere"] = "sphere"
    target: Literal["teacher", "linear", "sign", "random"] = "teacher"
    noise: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    path: str | None = Field(default=None, min_length=1, description="file: .npz (X, y) or .csv")
    normalize: Literal["none", "standardize", "sphere"] = "none"


class ModelSpec(_Block):
    """``model:`` — the lecture's two-layer network (THEORY.md §6)."""

    architecture: Literal["two_layer"] = "two_layer"
    width: int | None = Field(default=None, ge=1, le=10**9, description="N, the number of neurons")
    activation: ActivationName = "tanh"
    scaling: Literal["standard", "ntk", "mean_field"] = "standard"
    init: Literal["gaussian", "symmetric", "file"] = "symmetric"
    init_std: PositiveFloat | None = None
    init_path: str | None = Field(default=None, min_length=1)
    centered: bool = False


#: Most layers an ``mlp`` may have (a bound against typos such as a list of 10⁶ widths).
MAX_LAYERS = 64


class MlpSpec(_Block):
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


#: The ``model:`` blocks by ``architecture`` (absent: two_layer).
MODEL_BLOCKS: dict[str, type[BaseModel]] = {"two_layer": ModelSpec, "mlp": MlpSpec}


def _architecture(value: Any) -> str:
    """The ``model:`` block's tag: its ``architecture`` (default two_layer)."""
    if isinstance(value, dict):
        arch = value.get("architecture", "two_layer")
        return arch if isinstance(arch, str) else repr(arch)
    if isinstance(value, BaseModel):
        return str(getattr(value, "architecture", "two_layer"))
    return "two_layer"  # not a mapping: the two_layer block says so


ModelBlock = Annotated[
    Annotated[ModelSpec, Tag("two_layer")] | Annotated[MlpSpec, Tag("mlp")],
    Discriminator(
        _architecture,
        custom_error_type="unknown_architecture",
        custom_error_message="unknown model architecture",
    ),
]


class CertifySpec(_Block):
    """``certify:`` — which theorem decides and which β the certificate uses."""

    theorem: TheoremName = Field(  # type: ignore[valid-type]
        default="path",
        description="path: the path-length theorem (THEORY.md §9); lecture: §4. Both are reported.",
    )
    beta: BetaName = "analytic"  # type: ignore[valid-type]


class SimulateSpec(_Block):
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


class TrainSpec(_Block):
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


class SweepSpec(_Block):
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


class Spec(_Block):
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


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from: ``source`` (path or label),
    ``base_dir`` (relative paths resolve here) and ``lines`` (key path → line)."""

    spec: Spec
    source: str
    base_dir: Path
    lines: dict[Path_, int] = field(default_factory=dict, compare=False, repr=False)
    builtin: bool = False
    overrides: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        if self.spec.name:
            return self.spec.name
        return Path(self.source).stem if not self.builtin else "lecture-example"

    def line_of(self, *path: str | int) -> int | None:
        """The line of the deepest key of ``path`` that appears in the file."""
        for k in range(len(path), -1, -1):
            if path[:k] in self.lines:
                return self.lines[path[:k]]
        return None

    def resolve(self, relative: str) -> Path:
        """A path from the spec, relative to the spec's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def error(self, message: str, *path: str | int) -> SpecError:
        """A :class:`SpecError` located at ``path`` (``source:line: key.path: message``)."""
        line = self.line_of(*path)
        return SpecError(_locate(self.source, line, path, message), line=line)


def _key(part: str | int) -> str:
    """A key path element as text: plain names as they are, anything odder quoted."""
    text = str(part)
    return text if text.replace("_", "").replace("-", "").isalnum() else _show(text, 40)


def _locate(source: str, line: int | None, path: Path_, message: str) -> str:
    where = f"{source}:{line}" if line else source
    key = ".".join(_key(p) for p in path)
    return f"{where}: {key}: {message}" if key else f"{where}: {message}"


def _model_at(path: Path_, architecture: str = "two_layer") -> type[BaseModel] | None:
    """The pydantic block that holds the keys at ``path`` (for "did you mean");
    ``model:`` is the block of ``architecture``."""
    model: type[BaseModel] = Spec
    for key in path:
        info = model.model_fields.get(str(key))
        if info is None:
            return None
        sub = (
            MODEL_BLOCKS.get(architecture) if model is Spec and key == "model" else info.annotation
        )
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return None
        model = sub
    return model


def _untag(err: Any) -> tuple[Any, str]:
    """A pydantic error of the ``model:`` union without the union's tag in its location,
    and that tag (the block's architecture): ``model.mlp.widths`` → ``model.widths``."""
    loc = tuple(err["loc"])
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in MODEL_BLOCKS:
        return {**err, "loc": (loc[0], *loc[2:])}, str(loc[1])
    if err["type"] == "unknown_architecture":
        return {**err, "loc": (*loc, "architecture")}, ""
    return err, "two_layer"


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(err: Any, architecture: str = "two_layer") -> str:
    """One human sentence for a pydantic error: what was given and what is allowed."""
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    if kind == "unknown_architecture":
        given = value.get("architecture") if isinstance(value, dict) else value
        close = difflib.get_close_matches(str(given), list(MODEL_BLOCKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"must be one of {', '.join(MODEL_BLOCKS)}; got {_show(given)}{hint}"
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1], architecture)
        allowed = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing; add it (see `ntkcheck init` for an example)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys, got {_show(value)}"
    msg = err["msg"]
    msg = msg.replace("Input should be", "must be").replace("Value error, ", "")
    got = f"; got {_show(value)}" if not isinstance(value, dict | list) else ""
    hint = ""
    if kind == "literal_error" and isinstance(value, str):
        options = [o.strip(" '") for o in str(err.get("ctx", {}).get("expected", "")).split(",")]
        options = [p.strip(" '") for o in options for p in o.split(" or ")]
        close = difflib.get_close_matches(value, options, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    return f"{msg}{got}{hint}"


def _check_semantics(loaded: LoadedSpec) -> None:
    """Cross-key rules that a per-key schema cannot say."""
    s = loaded.spec
    data, model = s.data, s.model
    set_data = data.model_fields_set
    if data.source == "synthetic":
        for key in ("n", "d"):
            if getattr(data, key) is None:
                raise loaded.error(
                    f"required for source: synthetic; add `{key}:` (e.g. {key}: 64)", "data", key
                )
        if data.path is not None:
            raise loaded.error(
                "only used with `source: file`; remove it or set `source: file`", "data", "path"
            )
    else:
        if data.path is None:
            raise loaded.error(
                "required for source: file; add `path: train.npz` (arrays X, y) or a .csv",
                "data",
                "source",
            )
        for key in ("n", "d", "inputs", "target", "noise"):
            if key in set_data:
                raise loaded.error(
                    "only used with `source: synthetic` (the file gives the data); remove it",
                    "data",
                    key,
                )
        if Path(data.path).suffix.lower() not in (".npz", ".csv"):
            raise loaded.error(
                f"must be a .npz (arrays X, y) or .csv file; got {_show(data.path)}",
                "data",
                "path",
            )
    if isinstance(model, MlpSpec):
        _check_mlp(loaded, model)
    elif model.init == "file":
        if model.init_path is None:
            raise loaded.error(
                "init: file needs `init_path: w0.npz` (arrays W (N,d), a (N,))", "model", "init"
            )
        if "init_std" in model.model_fields_set:
            raise loaded.error("not used with init: file; remove it", "model", "init_std")
    else:
        if model.width is None:
            raise loaded.error("required; add `width:` (e.g. width: 4096)", "model", "width")
        if model.init_path is not None:
            raise loaded.error(
                "only used with `init: file`; remove it or set `init: file`", "model", "init_path"
            )
        if model.init == "symmetric" and model.width % 2:
            raise loaded.error(
                f"init: symmetric pairs neurons, so width must be even; got {model.width}",
                "model",
                "width",
            )

    if s.certify.beta == "local" and model.activation in NONSMOOTH_ACTIVATIONS:
        raise loaded.error(
            f"local needs a smooth activation: σ' of {model.activation} jumps, so σ'' = 0 almost "
            "everywhere and β_loc says nothing; use `beta: analytic` (the activation-flip bound)",
            "certify",
            "beta",
        )
    _check_train(loaded)
    sweep_axes(loaded)


def _check_train(loaded: LoadedSpec) -> None:
    """``train:``: lr and steps go with method: gd, and gd needs both (THEORY.md §13)."""
    train = loaded.spec.train
    given = train.model_fields_set

    def where(key: str) -> tuple[str, ...]:
        return ("train", key)

    def flag(key: str) -> str | None:
        dotted = f"train.{key}"
        return OVERRIDE_FLAGS.get(dotted) if dotted in loaded.overrides else None

    if train.method == "flow":
        for key in ("lr", "steps", "loss"):
            if key in given:
                used = flag(key)
                text = (
                    f"is only used with `train.method: gd` (gradient descent); the spec trains "
                    f"by gradient flow (method: flow). Set `method: gd` to certify {key} "
                    "as written, or remove it"
                )
                if used:
                    raise SpecError(f"{used}: {text.replace('is only', 'only')}")
                raise loaded.error(text, *where(key))
        return
    examples = {"lr": "lr: 0.05", "steps": "steps: 2000"}
    for key in ("lr", "steps"):
        if getattr(train, key) is None:
            raise loaded.error(
                f"required for method: gd; add `{examples[key]}` under train:", *where(key)
            )


def _blocks(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every dotted key of ``model`` → its annotation (blocks descended into)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        sub = info.annotation
        if get_origin(sub) is Annotated:
            sub = get_args(sub)[0]
        members = get_args(sub) if get_origin(sub) in (Union, types.UnionType) else (sub,)
        members = tuple(get_args(m)[0] if get_origin(m) is Annotated else m for m in members)
        blocks = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if not blocks:
            out[f"{prefix}{name}"] = sub
            continue
        for block in blocks:  # a union of blocks (model: one per architecture): every key
            for key, ann in _blocks(block, f"{prefix}{name}.").items():
                out[key] = ann if key not in out or out[key] == ann else Union[out[key], ann]  # noqa: UP007
    return out


@functools.cache
def _spec_keys() -> dict[str, Any]:
    return _blocks(Spec)


def _kind(annotation: Any) -> KeyKind:
    """int, float, bool, str (names, literals) or other, from a field's annotation."""
    if get_origin(annotation) is Annotated:
        return _kind(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        found = {_kind(a) for a in get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else "other"
    if get_origin(annotation) is Literal:
        return "str" if all(isinstance(a, str) for a in get_args(annotation)) else "other"
    kinds: dict[Any, KeyKind] = {bool: "bool", int: "int", float: "float", str: "str"}
    return kinds.get(annotation, "other")


def spec_key_kind(dotted: str, origin: str) -> KeyKind:
    """The type a sweepable spec key holds; an unknown key is a ``GridError`` with a hint."""
    keys = _spec_keys()
    if dotted.split(".")[0] == "sweep":
        raise GridError(f"{origin}: the sweep block itself cannot be swept")
    if dotted not in keys:
        blocks = {k.rpartition(".")[0] for k in keys if "." in k}
        if dotted in blocks:
            inside = ", ".join(k for k in keys if k.startswith(dotted + "."))
            raise GridError(f"{origin}: {dotted} is a block; sweep a key inside it: {inside}")
        close = difflib.get_close_matches(dotted, [k for k in keys if k[:6] != "sweep."], n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise GridError(f"{origin}: unknown spec key {dotted!r}; {hint}see `ntkcheck init`")
    return _kind(keys[dotted])


def grid_axis(key_text: str, raw: Any, origin: str) -> Axis:
    """An axis over spec keys (``"data.n,data.d"`` links keys), its values checked."""
    keys = split_keys(key_text, origin)
    kinds = {k: spec_key_kind(k, origin) for k in keys}
    return make_axis(keys, raw, kinds.__getitem__, origin)


def sweep_axes(loaded: LoadedSpec) -> list[Axis]:
    """The axes of the spec's ``sweep.grid`` block, located errors for bad ones."""
    axes = []
    for key_text, raw in loaded.spec.sweep.grid.items():
        line = loaded.line_of("sweep", "grid", key_text)
        origin = f"{loaded.source}:{line}: sweep.grid.{key_text}"
        try:
            axes.append(grid_axis(key_text, raw, origin))
        except GridError as exc:
            raise SpecError(str(exc), line=line) from None
    if loaded.spec.sweep.seeds is not None and any("seed" in a.keys for a in axes):
        raise loaded.error("give either seeds or a grid over seed, not both", "sweep", "seeds")
    return axes


def spec_hash(spec: Spec) -> str:
    """A short hash of the resolved spec (every key but ``sweep``): a sweep row's identity."""
    exclude: set[str] = {"sweep"}
    if spec.train == TrainSpec():  # specs without a train block keep their hash
        exclude.add("train")
    data = spec.model_dump(mode="json", exclude=exclude)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _check_mlp(loaded: LoadedSpec, model: MlpSpec) -> None:
    """Cross-key rules of the ``mlp`` block (THEORY.md §10)."""
    if model.widths is None:
        raise loaded.error(
            "required for architecture: mlp; add the hidden widths, e.g. `widths: [512, 512]`"
            + (" (they name the init file's arrays W1 to WL)" if model.init == "file" else ""),
            "model",
            "widths",
        )
    layers = len(model.widths) + 1
    if model.init == "file":
        if model.init_path is None:
            arrays = f"W1 to W{layers}" + (f", b1 to b{layers}" if model.bias else "")
            raise loaded.error(
                f"init: file needs `init_path: w0.npz` (arrays {arrays})", "model", "init"
            )
        if "init_std" in model.model_fields_set:
            raise loaded.error("not used with init: file; remove it", "model", "init_std")
    elif model.init_path is not None:
        raise loaded.error(
            "only used with `init: file`; remove it or set `init: file`", "model", "init_path"
        )
    if isinstance(model.init_std, list) and len(model.init_std) != layers:
        raise loaded.error(
            f"has {len(model.init_std)} values but the network has {layers} layers "
            f"(widths {model.widths} and the output); give one value or {layers}",
            "model",
            "init_std",
        )


def referenced_files(loaded: LoadedSpec) -> list[tuple[tuple[str, str], str]]:
    """The files the spec names, as ``(key path, the path as written)``: ``data.path``
    with ``source: file``, ``model.init_path`` with ``init: file``."""
    s = loaded.spec
    out: list[tuple[tuple[str, str], str]] = []
    if s.data.source == "file" and s.data.path is not None:
        out.append((("data", "path"), s.data.path))
    if s.model.init == "file" and s.model.init_path is not None:
        out.append((("model", "init_path"), s.model.init_path))
    return out


def check_file(loaded: LoadedSpec, path: Path, *key: str) -> None:
    """A clear error unless ``path`` is a regular file (never block on a FIFO or device)."""
    if not path.exists():
        raise loaded.error(
            f"file not found: {path}; correct the path (a relative one starts at the spec's "
            "folder) or create the file",
            *key,
        )
    if not path.is_file():
        raise loaded.error(f"{path} is not a regular file (a folder or a device)", *key)


def check_referenced_files(loaded: LoadedSpec) -> None:
    """Every file the spec names exists and is a regular file (its contents are not read)."""
    for key, written in referenced_files(loaded):
        check_file(loaded, loaded.resolve(written), *key)


#: Command-line flags that set a spec key (for error messages about the CLI's overrides).
OVERRIDE_FLAGS = {
    "certify.theorem": "--theorem",
    "gamma": "--gamma",
    "seed": "--seed",
    "train.lr": "--lr",
    "train.steps": "--steps",
    "simulate.horizon": "--horizon",
    "simulate.points": "--points",
}


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with dotted-path ``overrides`` set (None values are skipped)."""
    out = dict(raw)
    for dotted, value in overrides.items():
        if value is None:
            continue
        *parents, key = dotted.split(".")
        node = out
        for p in parents:
            child = node.get(p)
            node[p] = dict(child) if isinstance(child, dict) else {}
            node = node[p]
        node[key] = value
    return out


@functools.lru_cache(maxsize=8)
def _parsed_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    return load_yaml_with_lines(text)


def _read_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    """The YAML of ``text``, parsed once per text (a sweep parses one spec per point)."""
    raw, lines = _parsed_yaml(text)
    return copy.deepcopy(raw), dict(lines)


def parse_spec(
    text: str,
    *,
    source: str,
    base_dir: Path,
    builtin: bool = False,
    overrides: dict[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
    command_line: bool = False,
) -> LoadedSpec:
    """Validate a YAML text; ``overrides`` maps dotted key paths (``simulate.points``) to values.

    An override that does not validate is named ``flags[key]`` if given (``--grid
    data.n``); else, with ``command_line`` (the CLI's flags), by ``OVERRIDE_FLAGS`` or
    ``--set key``; else as the Python caller passed it, ``overrides['key']``.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        raw, lines = _read_yaml(text)
    except YamlError as exc:
        raise SpecError(_locate(source, exc.line, (), exc.detail), line=exc.line) from None
    if raw is None:
        raise SpecError(f"{source}: the spec is empty; `ntkcheck init` writes an example")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{source}:1: a spec is a mapping of keys (gamma:, data:, model:, ...), "
            f"got a {type(raw).__name__}"
        )
    raw = apply_overrides(raw, overrides)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        # An unknown key (a typo) usually explains a missing one: report it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first, architecture = _untag(errors[0])
        loc = tuple(first["loc"])
        dotted = ".".join(str(p) for p in loc)
        message = _describe(first, architecture)
        if len(errors) > 1:
            message += f" (+{len(errors) - 1} more)"
        if dotted in overrides:
            if (flags or {}).get(dotted) or command_line:
                flag = (flags or {}).get(dotted) or OVERRIDE_FLAGS.get(dotted, f"--set {dotted}")
                raise SpecError(f"{flag}: {message}") from None
            raise SpecError(f"{source}: overrides[{dotted!r}]: {message}") from None
        line = None
        for k in range(len(loc), -1, -1):
            if loc[:k] in lines:
                line = lines[loc[:k]]
                break
        raise SpecError(_locate(source, line, loc, message), line=line) from None
    loaded = LoadedSpec(
        spec=spec,
        source=source,
        base_dir=base_dir,
        lines=lines,
        builtin=builtin,
        overrides=overrides,
    )
    _check_semantics(loaded)
    return loaded


def load_spec(
    path: str | Path, overrides: dict[str, Any] | None = None, *, command_line: bool = False
) -> LoadedSpec:
    """Read and validate the spec file at ``path``, with ``overrides`` (dotted key → value);
    ``command_line``: they came from the CLI's flags, and errors name those."""
    p = Path(path)
    text = read_spec_text(p)
    return parse_spec(
        text,
        source=str(path),
        base_dir=p.resolve().parent,
        overrides=overrides,
        command_line=command_line,
    )


def read_spec_text(path: str | Path) -> str:
    """The text of the spec file at ``path`` (size-checked, UTF-8), or a one-line ``SpecError``."""
    p = Path(path)
    source = str(path)
    if p.is_dir():
        raise SpecError(f"{source}: is a folder; give a .yaml spec file")
    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                f"{source}: {size} bytes is too large for a spec (max {MAX_SPEC_BYTES}); "
                "data belongs in `data.path`"
            )
        blob = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{source}: no such file; `ntkcheck init {source}` writes one") from None
    except OSError as exc:
        raise SpecError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{source}: not a UTF-8 text file; a spec is YAML text") from None
    return text
