"""Markdown: a heading and a two-column table per result (for PR comments, reports)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..run.result import CertifyResult, Entry
from .common import all_lines, summary


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(entries: Sequence[Entry], failing: Collection[str] = ()) -> str:
    blocks = []
    for e in entries:
        if not isinstance(e, CertifyResult):
            blocks.append(f"**error** — `{_md_cell(e.spec)}`: {_md_cell(e.message)}")
            continue
        lines = all_lines(e)
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
