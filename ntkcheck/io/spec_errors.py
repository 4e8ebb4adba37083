"""A spec error as one sentence: where (``source:line: key.path``), what was given and
what is allowed (a pydantic error → words, with a "did you mean")."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from .spec_schema import DEFAULT_ARCHITECTURE, MODEL_BLOCKS, Spec
from .yaml_lines import Path_


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(part: str | int) -> str:
    """A key path element as text: plain names as they are, anything odder quoted."""
    text = str(part)
    return text if text.replace("_", "").replace("-", "").isalnum() else show(text, 40)


def locate(source: str, line: int | None, path: Path_, message: str) -> str:
    """``source:line: key.path: message`` (the parts that are known)."""
    where = f"{source}:{line}" if line else source
    key = ".".join(_key(p) for p in path)
    return f"{where}: {key}: {message}" if key else f"{where}: {message}"


def _model_at(path: Path_, architecture: str = DEFAULT_ARCHITECTURE) -> type[BaseModel] | None:
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


def untag(err: Any) -> tuple[Any, str]:
    """A pydantic error of the ``model:`` union without the union's tag in its location,
    and that tag (the block's architecture): ``model.<tag>.key`` → ``model.key``."""
    loc = tuple(err["loc"])
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in MODEL_BLOCKS:
        return {**err, "loc": (loc[0], *loc[2:])}, str(loc[1])
    if err["type"] == "unknown_architecture":
        return {**err, "loc": (*loc, "architecture")}, ""
    return err, DEFAULT_ARCHITECTURE


def describe(err: Any, architecture: str = DEFAULT_ARCHITECTURE) -> str:
    """One human sentence for a pydantic error: what was given and what is allowed."""
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    if kind == "unknown_architecture":
        given = value.get("architecture") if isinstance(value, dict) else value
        close = difflib.get_close_matches(str(given), list(MODEL_BLOCKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"must be one of {', '.join(MODEL_BLOCKS)}; got {show(given)}{hint}"
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1], architecture)
        allowed = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing; add it (see `ntkcheck init` for an example)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys, got {show(value)}"
    msg = err["msg"]
    msg = msg.replace("Input should be", "must be").replace("Value error, ", "")
    got = f"; got {show(value)}" if not isinstance(value, dict | list) else ""
    hint = ""
    if kind == "literal_error" and isinstance(value, str):
        options = [o.strip(" '") for o in str(err.get("ctx", {}).get("expected", "")).split(",")]
        options = [p.strip(" '") for o in options for p in o.split(" or ")]
        close = difflib.get_close_matches(value, options, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    return f"{msg}{got}{hint}"
