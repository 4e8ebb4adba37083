"""Which specs to run: files and folders, the built-in example's label, error labels."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import NtkcheckError
from ..io.example import BUILTIN
from .result import SpecFailure

__all__ = ["BUILTIN", "expand_specs", "inputs_of", "labelled"]


def expand_specs(paths: Iterable[Path]) -> list[Path | SpecFailure]:
    """Files as given; a folder gives its ``*.yaml``/``*.yml`` files (recursively, sorted)."""
    out: list[Path | SpecFailure] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
            if not found:
                out.append(SpecFailure(str(p), f"{p}: no .yaml or .yml files in this folder"))
            out.extend(found)
        else:
            out.append(p)
    return out


def labelled(label: str, exc: Exception) -> str:
    """The error's message, prefixed with the spec it concerns unless it already is."""
    return str(exc) if str(exc).startswith(label) else f"{label}: {exc}"


def inputs_of(paths: Iterable[Path], overrides: dict[str, Any]) -> list[tuple[Path, str]]:
    """The files that running these specs reads, each with what it is: every spec and
    the files it references (a spec that does not load is still an input; its error
    is reported when it runs)."""
    from ..io.loading import load_spec
    from ..io.output import spec_inputs  # pydantic: only for a command that writes a file

    out: list[tuple[Path, str]] = []
    for path in paths:
        try:
            out += spec_inputs(load_spec(path, overrides))
        except NtkcheckError:
            out.append((path, f"the spec {path}"))
    return out
