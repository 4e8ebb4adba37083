"""Reports: a registry of formats, one module per format, none importing another.

``render(entries, fmt, failing)`` and ``render_validation(rows, fmt)`` are the
only entry points; ``words`` turns codes into sentences and ``document`` is
the single JSON serializer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..run.result import Entry

Formatter = Callable[[Sequence["Entry"], Collection[str]], str]
ValidationFormatter = Callable[[list[tuple[str, str | None, int | None]]], str]

#: ``--format`` name → the module whose ``render(entries, failing)`` writes it. Modules load
#: on first use, so that ``validate`` loads neither rich nor the numerical stack.
FORMATS: dict[str, str] = {
    "rich": "rich_format",
    "text": "text",
    "json": "json_format",
    "markdown": "markdown",
    "github": "github",
    "junit": "junit",
    "sarif": "sarif",
}
#: The formats ``ntkcheck validate`` writes (their modules' ``render_validation``).
VALIDATION_FORMATS: dict[str, str] = {"text": "text", "json": "json_format", "github": "github"}
#: Formats for machines: a complete record (errors included) even for one spec.
MACHINE_FORMATS = frozenset({"json", "github", "junit", "sarif"})
#: Statuses that fail a run unless ``--fail-on`` narrows them (errors always fail).
DEFAULT_FAILING = frozenset({"not_certified", "not_applicable", "error"})


def _module(name: str) -> Any:
    return import_module(f"{__name__}.{name}")


def rich_renderables(entries: Sequence[Entry]) -> list[object]:
    """Rich tables for a terminal."""
    return _module("rich_format").rich_renderables(entries)  # type: ignore[no-any-return]


def render(entries: Sequence[Entry], fmt: str, failing: Collection[str] = DEFAULT_FAILING) -> str:
    """The report for ``entries`` in ``fmt`` (one of ``FORMATS``)."""
    return _module(FORMATS[fmt]).render(entries, failing)  # type: ignore[no-any-return]


def render_validation(rows: list[tuple[str, str | None, int | None]], fmt: str) -> str:
    """``ntkcheck validate``'s output in ``fmt`` (one of ``VALIDATION_FORMATS``)."""
    return _module(VALIDATION_FORMATS[fmt]).render_validation(rows)  # type: ignore[no-any-return]


__all__ = [
    "DEFAULT_FAILING",
    "FORMATS",
    "MACHINE_FORMATS",
    "VALIDATION_FORMATS",
    "render",
    "render_validation",
    "rich_renderables",
]
