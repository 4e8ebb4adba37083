"""The command line: ``ntkcheck certify | simulate | sweep | validate | schema | init``.

:func:`run` answers a lone ``--version`` before importing the application (Typer,
YAML, the report registry): what a pre-commit hook or a CI log asks first.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

__all__ = ["main", "run"]


#: The exit status of an interrupted run (Ctrl-C or SIGTERM); ``gate.EXIT_INTERRUPTED``.
INTERRUPTED = 130


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM: handled as Ctrl-C (finished results kept, one line, exit 130)."""
    raise KeyboardInterrupt


def _leave(code: int) -> None:
    """Exit with ``code``; a signal from now on (a second Ctrl-C during the interpreter's
    shutdown, which joins worker threads and processes) exits at once, silently."""
    import os
    import signal

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    signal.signal(signal.SIGINT, lambda *_: os._exit(code))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(code))
    if code == INTERRUPTED:
        # Everything finished is written and flushed; nothing more to wait for (a worker
        # still inside a BLAS call, a cluster's connection).
        os._exit(code)
    sys.exit(code)


def run() -> None:
    """Console entry point (``ntkcheck``, ``python -m ntkcheck``)."""
    import signal

    # SIGINT too: a shell starts a background job with SIGINT ignored, and Python keeps
    # that; ntkcheck's interrupt (keep what is finished, one line, exit 130) is for both.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        if sys.argv[1:] == ["--version"]:
            from .._version import __version__

            print(f"ntkcheck {__version__}")
            code = 0
        else:
            from .app import main

            code = main()
    except KeyboardInterrupt:  # before the application could handle it (while importing)
        print("ntkcheck: interrupted", file=sys.stderr)
        code = INTERRUPTED
    _leave(code)


def __getattr__(name: str) -> Any:
    if name == "main":  # the Typer app itself: ntkcheck.cli.app.app
        from .app import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
