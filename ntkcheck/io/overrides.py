"""Spec keys set from outside the file (dotted paths such as ``simulate.points``), and
how an error about one names it: by the caller's flag (the CLI passes its names), or
neutrally as ``overrides['key']``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FlagNames:
    """How a caller names the spec keys it overrides: ``names[key]``, else ``other``
    with ``{key}`` filled in (the CLI: ``--gamma``, else ``--set {key}``)."""

    names: Mapping[str, str] = field(default_factory=dict)
    other: str = "{key}"

    def of(self, dotted: str) -> str:
        return self.names.get(dotted) or self.other.format(key=dotted)


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


def override_name(
    dotted: str,
    source: str,
    flag_names: FlagNames | None,
    flags: Mapping[str, str] | None = None,
) -> str:
    """How an error names the override of ``dotted``: ``flags[dotted]`` (a per-call name,
    such as ``--grid data.n``), else the caller's flag, else ``source: overrides['key']``."""
    named = (flags or {}).get(dotted)
    if named:
        return named
    if flag_names is not None:
        return flag_names.of(dotted)
    return f"{source}: overrides[{dotted!r}]"
