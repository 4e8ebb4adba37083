"""The command line: ``ntkcheck certify | simulate | validate | schema | init``."""

from .app import app, main, parse_sets, run

__all__ = ["app", "main", "parse_sets", "run"]
