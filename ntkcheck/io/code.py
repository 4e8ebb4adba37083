"""Whether this run may execute Python code that a spec names (``architecture: torch``).

A spec is data: ntkcheck never runs code from it unless the user says so, with
``--allow-code`` (the CLI sets it for the command's run) or ``NTKCHECK_ALLOW_CODE=1``
in the environment (which worker processes inherit). ``validate`` never asks: it checks
the spec and that the files it names exist, and imports nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "NTKCHECK_ALLOW_CODE"
#: How the user allows it (the fix an error names).
HOW = f"rerun with --allow-code (or set {ENV}=1) if you trust it"


def code_allowed() -> bool:
    """True when ``NTKCHECK_ALLOW_CODE`` is ``1`` (or ``true``/``yes``)."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes")


@contextmanager
def allowing_code(allow: bool = True) -> Iterator[None]:
    """Within the block, code may run when ``allow`` (the environment variable is set, so
    worker processes started inside inherit it); restored afterwards."""
    if not allow:
        yield
        return
    before = os.environ.get(ENV)
    os.environ[ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
