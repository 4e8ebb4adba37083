"""Reading a spec: the file's text (size-checked, UTF-8), its YAML (parsed once per
text), overrides set on it, validation into a :class:`LoadedSpec` and its cross-key
rules — or one located ``SpecError``."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import SpecError
from .loaded import LoadedSpec
from .overrides import FlagNames, apply_overrides, override_name
from .spec_errors import describe, locate, untag
from .spec_rules import check_rules
from .spec_schema import Spec
from .yaml_lines import Path_, YamlError, load_yaml_with_lines

MAX_SPEC_BYTES = 1 << 20


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
    flag_names: FlagNames | None = None,
) -> LoadedSpec:
    """Validate a YAML text; ``overrides`` maps dotted key paths (``simulate.points``) to values.

    An override that does not validate is named ``flags[key]`` if given (``--grid
    data.n``); else by the caller's ``flag_names`` (the CLI passes its flags); else as
    the Python caller passed it, ``overrides['key']``.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        raw, lines = _read_yaml(text)
    except YamlError as exc:
        raise SpecError(locate(source, exc.line, (), exc.detail), line=exc.line) from None
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
        first, architecture = untag(errors[0])
        loc = tuple(first["loc"])
        dotted = ".".join(str(p) for p in loc)
        message = describe(first, architecture)
        if len(errors) > 1:
            message += f" (+{len(errors) - 1} more)"
        if dotted in overrides:
            raise SpecError(
                f"{override_name(dotted, source, flag_names, flags)}: {message}"
            ) from None
        line = None
        for k in range(len(loc), -1, -1):
            if loc[:k] in lines:
                line = lines[loc[:k]]
                break
        raise SpecError(locate(source, line, loc, message), line=line) from None
    loaded = LoadedSpec(
        spec=spec,
        source=source,
        base_dir=base_dir,
        lines=lines,
        builtin=builtin,
        overrides=overrides,
        flag_names=flag_names,
    )
    check_rules(loaded)
    return loaded


def load_spec(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    flag_names: FlagNames | None = None,
) -> LoadedSpec:
    """Read and validate the spec file at ``path``, with ``overrides`` (dotted key → value);
    ``flag_names``: how the caller names them in errors (the CLI: its flags)."""
    p = Path(path)
    text = read_spec_text(p)
    return parse_spec(
        text,
        source=str(path),
        base_dir=p.resolve().parent,
        overrides=overrides,
        flag_names=flag_names,
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
