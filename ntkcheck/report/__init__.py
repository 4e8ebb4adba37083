"""Reports: a registry of formats, one module per format, none importing another.

``render(entries, fmt, failing)`` and ``render_validation(rows, fmt)`` are the
only entry points; ``words`` turns codes into sentences and ``document`` is
the single JSON serializer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from ..run.result import Entry
from . import github, json_format, junit, markdown, rich_format, sarif, text
from .common import DEFAULT_FAILING, summary

Formatter = Callable[[Sequence[Entry], Collection[str]], str]
ValidationFormatter = Callable[[list[tuple[str, str | None, int | None]]], str]

#: ``--format`` name → formatter (``entries, failing → text``).
FORMATS: dict[str, Formatter] = {
    "rich": rich_format.render,
    "text": text.render,
    "json": json_format.render,
    "markdown": markdown.render,
    "github": github.render,
    "junit": junit.render,
    "sarif": sarif.render,
}
#: The formats ``ntkcheck validate`` writes.
VALIDATION_FORMATS: dict[str, ValidationFormatter] = {
    "text": text.render_validation,
    "json": json_format.render_validation,
    "github": github.render_validation,
}
#: Formats for machines: a complete record (errors included) even for one spec.
MACHINE_FORMATS = frozenset({"json", "github", "junit", "sarif"})
rich_renderables = rich_format.rich_renderables


def render(entries: Sequence[Entry], fmt: str, failing: Collection[str] = DEFAULT_FAILING) -> str:
    """The report for ``entries`` in ``fmt`` (one of ``FORMATS``)."""
    return FORMATS[fmt](entries, failing)


def render_validation(rows: list[tuple[str, str | None, int | None]], fmt: str) -> str:
    """``ntkcheck validate``'s output in ``fmt`` (one of ``VALIDATION_FORMATS``)."""
    return VALIDATION_FORMATS[fmt](rows)


__all__ = [
    "DEFAULT_FAILING",
    "FORMATS",
    "MACHINE_FORMATS",
    "VALIDATION_FORMATS",
    "render",
    "render_validation",
    "rich_renderables",
    "summary",
]
