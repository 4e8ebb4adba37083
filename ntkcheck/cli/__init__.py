"""The command line: ``ntkcheck certify | simulate | sweep | validate | schema | init``.

:func:`run` answers a lone ``--version`` before importing the application (Typer,
YAML, the report registry): what a pre-commit hook or a CI log asks first.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main", "run"]


def run() -> None:
    """Console entry point (``ntkcheck``, ``python -m ntkcheck``)."""
    if sys.argv[1:] == ["--version"]:
        from .._version import __version__

        print(f"ntkcheck {__version__}")
        sys.exit(0)
    from .app import main

    sys.exit(main())


def __getattr__(name: str) -> Any:
    if name == "main":  # the Typer app itself: ntkcheck.cli.app.app
        from .app import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
