"""Renderers: text, markdown, json and rich views of certify results.

Only this package (and the CLI) knows about output formats; the library
returns data. An error entry is ``(source, message)``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..certify import Status
from ..result import CertifyResult, Entry, document
from .lines import VERDICT, Line, report_lines, timing_line
from .simulation_lines import simulation_lines

FORMATS = ("rich", "text", "json", "markdown", "github", "junit", "sarif")
#: Statuses that fail a run unless ``--fail-on`` narrows them (errors always fail).
DEFAULT_FAILING = frozenset({"not_certified", "not_applicable", "error"})
LABEL_WIDTH = 12


def _lines(r: CertifyResult) -> list[Line]:
    return [*report_lines(r), *simulation_lines(r), timing_line(r)]


def summary(entries: Sequence[Entry]) -> str:
    """``3 specs: 1 certified, 1 not certified, 0 not applicable, 1 error``."""
    counts = {s: 0 for s in Status}
    errors = 0
    for e in entries:
        if isinstance(e, CertifyResult):
            counts[e.certificate.status] += 1
        else:
            errors += 1
    parts = [f"{counts[s]} {VERDICT[s].lower()}" for s in Status]
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return f"{len(entries)} spec{'s' if len(entries) != 1 else ''}: " + ", ".join(parts)


def render_text(entries: Sequence[Entry]) -> str:
    blocks = []
    for e in entries:
        if isinstance(e, CertifyResult):
            title, *rest = _lines(e)
            body = [f"{ln.label:<{LABEL_WIDTH}}{ln.text}".rstrip() for ln in rest]
            blocks.append("\n".join([title.text, *body]))
        else:
            blocks.append(f"{'error':<{LABEL_WIDTH}}{e.message}")
    if len(entries) > 1:
        blocks.append(summary(entries))
    return "\n\n".join(blocks) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(entries: Sequence[Entry]) -> str:
    blocks = []
    for e in entries:
        if not isinstance(e, CertifyResult):
            blocks.append(f"**error** — `{_md_cell(e.spec)}`: {_md_cell(e.message)}")
            continue
        lines = _lines(e)
        rows = ["| | |", "|---|---|"]
        label = ""
        for ln in lines[1:]:
            label = ln.label or ""
            text = f"**{ln.text}**" if ln.kind == "verdict" else ln.text
            if ln.kind == "table":
                text = f"`{ln.text}`"
            rows.append(f"| {_md_cell(label)} | {_md_cell(text)} |")
        blocks.append(f"### {lines[0].text}\n\n" + "\n".join(rows))
    if len(entries) > 1:
        blocks.append(summary(entries))
    return "\n\n".join(blocks) + "\n"


def render_json(entries: Sequence[Entry]) -> str:
    results = [e.to_dict() for e in entries]
    return json.dumps(document(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


_STYLE = {
    Status.certified: "bold green",
    Status.not_certified: "bold yellow",
    Status.not_applicable: "bold red",
}


def rich_renderables(entries: Sequence[Entry]) -> list[object]:
    """Rich tables (one per result), coloured by verdict."""
    out: list[object] = []
    for e in entries:
        if not isinstance(e, CertifyResult):
            out.append(Text.assemble(("error ", "bold red"), e.message))
            continue
        lines = _lines(e)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for ln in lines[1:]:
            if ln.kind == "verdict":
                head, _, rest = ln.text.partition("   ")
                cell = Text.assemble((head, _STYLE[e.certificate.status]), "   " + rest)
            elif ln.kind in ("guarantee", "check-ok"):
                cell = Text(ln.text, style="green")
            elif ln.kind == "check-bad":
                cell = Text(ln.text, style="bold red")
            elif ln.kind == "table":
                cell = Text(ln.text, style="dim" if ln.label else "", no_wrap=True)
            else:
                cell = Text(ln.text)
            table.add_row(ln.label, cell)
        out.append(Text(lines[0].text, style="bold"))
        out.append(table)
        out.append(Text(""))
    if len(entries) > 1:
        out.append(Text(summary(entries), style="bold"))
    return out


def render_rich(entries: Sequence[Entry], *, width: int = 120) -> str:
    """The rich view as plain text (for files); the CLI prints renderables to a terminal."""
    buf = StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    for item in rich_renderables(entries):
        console.print(item)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def render(entries: Sequence[Entry], fmt: str, failing: Collection[str] = DEFAULT_FAILING) -> str:
    """The report for ``entries`` in ``fmt`` (one of ``FORMATS``)."""
    if fmt in ("github", "junit", "sarif"):
        from .ci import render_github, render_junit, render_sarif

        ci = {"github": render_github, "junit": render_junit, "sarif": render_sarif}[fmt]
        return ci(entries, failing)
    return {
        "text": render_text,
        "markdown": render_markdown,
        "json": render_json,
        "rich": render_rich,
    }[fmt](entries)
