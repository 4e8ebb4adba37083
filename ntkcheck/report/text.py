"""Plain text: one block per result, labels in a column, a summary for several specs."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..run.result import Entry
from .common import summary, text_block


def render(entries: Sequence[Entry], failing: Collection[str] = ()) -> str:
    blocks = [text_block(e) for e in entries]
    if len(entries) > 1:
        blocks.append(summary(entries))
    return "\n\n".join(blocks) + "\n"


def render_validation(rows: list[tuple[str, str | None, int | None]]) -> str:
    """``ntkcheck validate``: ``ok``/``invalid`` per spec, then the counts."""
    out = [f"{'ok' if m is None else 'invalid':<8}{s}\n" for s, m, _ in rows]
    bad = sum(1 for _, m, _ in rows if m is not None)
    out.append(f"{len(rows)} specs: {len(rows) - bad} valid, {bad} invalid\n")
    return "".join(out)
