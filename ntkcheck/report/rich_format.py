"""Rich: coloured tables for a terminal (and their plain-text rendering for files)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..run.result import CertifyResult, Entry
from ..theory.certificate import Status
from .common import all_lines, summary

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
        lines = all_lines(e)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for ln in lines[1:]:
            if ln.kind == "verdict":
                head, _, rest = ln.text.partition("   ")
                cell = Text.assemble((head, _STYLE[e.status]), "   " + rest)
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


def render(entries: Sequence[Entry], failing: Collection[str] = (), *, width: int = 120) -> str:
    """The rich view as plain text (for files); the CLI prints renderables to a terminal."""
    buf = StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    for item in rich_renderables(entries):
        console.print(item)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
