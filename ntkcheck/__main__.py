"""``python -m ntkcheck``."""

from .cli.app import run

run()
