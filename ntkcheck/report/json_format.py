"""JSON: the document of ``document.py`` (the single serializer)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from ..run.result import Entry
from .document import document, validation_document


def render(entries: Sequence[Entry], failing: Collection[str] = ()) -> str:
    doc = document(list(entries))
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_validation(rows: list[tuple[str, str | None, int | None]]) -> str:
    return json.dumps(validation_document(rows), indent=2) + "\n"
