"""Spec keys as a sweep sees them: their types (``spec_key_kind``), grid axes over them
with located errors, and the hash that identifies a resolved spec (a sweep row's)."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ..errors import SpecError
from .grid import Axis, GridError, KeyKind, make_axis, split_keys
from .loaded import LoadedSpec
from .spec_schema import Spec, TrainSpec


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
        # a key that also takes a list (data.classes: a count or a list) sweeps its scalars
        scalars = [
            a for a in get_args(annotation) if a is not type(None) and get_origin(a) is not list
        ]
        found = {_kind(a) for a in scalars}
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


#: ``data:`` keys added after sweep rows files were first written (issue 19).
_LATER_DATA_KEYS = ("outputs", "target_columns", "label_column", "name", "classes", "encoding")


def spec_hash(spec: Spec) -> str:
    """A short hash of the resolved spec (every key but ``sweep``): a sweep row's identity."""
    exclude: set[str] = {"sweep"}
    if spec.train == TrainSpec():  # specs without a train block keep their hash
        exclude.add("train")
    data = spec.model_dump(mode="json", exclude=exclude)
    for key in _LATER_DATA_KEYS:  # unset: the hash of a spec written before they existed
        if data["data"][key] is None or (key == "outputs" and data["data"][key] == 1):
            del data["data"][key]
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
