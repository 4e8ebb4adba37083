"""Recognised modules (placeholder until the conversion lands)."""

from __future__ import annotations

from typing import Any


def recognized(model: Any, d: int) -> Any:
    return None
