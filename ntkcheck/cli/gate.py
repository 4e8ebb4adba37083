"""The CI-gate exit policy: 0 all certified, 1 a failing status, 2 bad input, 130 interrupted."""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence

from ..run.result import CertifyResult, Entry, SpecFailure

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code(entries: Sequence[Entry], failing: Collection[str], exit_zero: bool = False) -> int:
    """2 if any spec failed to load; else 1 if any status is in ``failing``; else 0."""
    statuses = {e.status.value for e in entries if isinstance(e, CertifyResult)}
    errors = any(isinstance(e, SpecFailure) for e in entries)
    return status_exit(statuses, failing, exit_zero, errors=errors)


def status_exit(
    statuses: Collection[str], failing: Collection[str], exit_zero: bool, *, errors: bool
) -> int:
    """The policy on statuses: 2 on ``errors`` (or an ``error`` status); else 0 with
    ``exit_zero``; else 1 if any status is in ``failing``; else 0."""
    if errors or "error" in statuses:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_OK
    return EXIT_FAIL if set(statuses) & set(failing) else EXIT_OK


def say_error(message: str) -> None:
    """One line on stderr: the form of every message that goes with exit status 2."""
    print(f"ntkcheck: error: {message}", file=sys.stderr)
