"""``python -m ntkcheck``."""

from .cli import run

run()
