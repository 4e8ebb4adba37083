"""The command line: ``ntkcheck certify | simulate | sweep | validate | schema | init``.

:func:`run` answers a lone ``--version`` before importing the application (Typer,
YAML, the report registry): what a pre-commit hook or a CI log asks first.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main", "parse_sets", "run"]


def run() -> None:
    """Console entry point (``ntkcheck``, ``python -m ntkcheck``)."""
    if sys.argv[1:] == ["--version"]:
        from .._version import __version__

        print(f"ntkcheck {__version__}")
        sys.exit(0)
    from .app import main

    sys.exit(main())


def __getattr__(name: str) -> Any:
    if name in ("main", "parse_sets"):  # the Typer app itself: ntkcheck.cli.app.app
        from .app import main, parse_sets

        return main if name == "main" else parse_sets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
