"""What every format shares: the lines of a result, the summary, CI kinds and messages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..run.result import CertifyResult, Entry, SpecFailure
from ..theory.certificate import Status
from .lines import Line, report_lines, timing_line
from .simulation_lines import simulation_lines
from .words import VERDICT, certificate_message, gd_message

LABEL_WIDTH = 12


def all_lines(r: CertifyResult) -> list[Line]:
    """Every line of a result's report: certificate, simulation, timing."""
    return [*report_lines(r), *simulation_lines(r), timing_line(r)]


def summary(entries: Sequence[Entry]) -> str:
    """``3 specs: 1 certified, 1 not certified, 0 not applicable, 1 error``."""
    counts = {s: 0 for s in Status}
    errors = 0
    for e in entries:
        if isinstance(e, CertifyResult):
            counts[e.status] += 1
        else:
            errors += 1
    parts = [f"{counts[s]} {VERDICT[s].lower()}" for s in Status]
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return f"{len(entries)} spec{'s' if len(entries) != 1 else ''}: " + ", ".join(parts)


def text_block(e: Entry) -> str:
    """One result (or error) as plain text, labels in a column."""
    if isinstance(e, SpecFailure):
        return f"{'error':<{LABEL_WIDTH}}{e.message}"
    title, *rest = all_lines(e)
    body = [f"{ln.label:<{LABEL_WIDTH}}{ln.text}".rstrip() for ln in rest]
    return "\n".join([title.text, *body])


def kind(e: Entry) -> str:
    """The CI outcome: a status value, or ``error``."""
    return "error" if isinstance(e, SpecFailure) else e.status.value


def line_of(e: Entry) -> int | None:
    """The spec line a CI annotation points at."""
    return e.line if isinstance(e, SpecFailure) else e.gamma_line


def message(e: Entry) -> str:
    """``name: VERDICT — message`` (or the error)."""
    if isinstance(e, SpecFailure):
        return e.message
    c = e.certificate
    if e.gd is not None:
        text = gd_message(e.gd, e.problem.activation, e.estimate, c)
        return f"{e.name}: {VERDICT[e.gd.status]} — {text}"
    text = certificate_message(c, e.problem.activation, e.estimate)
    return f"{e.name}: {VERDICT[c.status]} — {text}"


def uri(spec: str) -> str:
    return Path(spec).as_posix()
