"""Memory plans: estimate before allocating, refuse with a clear message."""

from __future__ import annotations

import math
import os

from ..errors import EstimationError

FLOAT_BYTES = 8
#: Share of the available memory a plan may use (the rest is for the OS and Python).
USABLE_FRACTION = 0.8


def available_bytes() -> int:
    """Memory available to this process: ``MemAvailable`` (Linux), else physical memory.

    ``NTKCHECK_MEMORY_LIMIT`` (bytes, or with a K/M/G suffix) caps it, e.g. in CI.
    """
    limit = memory_limit()
    if limit is not None:
        return limit
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def memory_limit() -> int | None:
    """``NTKCHECK_MEMORY_LIMIT`` in bytes, None when unset (a bad value raises)."""
    text = os.environ.get("NTKCHECK_MEMORY_LIMIT", "").strip()
    return parse_bytes(text) if text else None


def parse_bytes(text: str) -> int:
    """``"4G"`` → 4·2³⁰ bytes; a plain number is bytes; a positive, finite size."""
    body = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(body[-1:], 1)
    digits = body[:-1] if factor != 1 else body
    try:
        value = float(digits) * factor
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1.0):
        raise EstimationError(
            f"NTKCHECK_MEMORY_LIMIT={text!r} is not a size; write a positive size, e.g. 4G or 512M"
        )
    return int(value)


def format_bytes(nbytes: float) -> str:
    """Human-readable size (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def fits(nbytes: float) -> bool:
    """True when ``nbytes`` fit in the usable share of the available memory."""
    return nbytes <= USABLE_FRACTION * available_bytes()


def require(nbytes: float, what: str, alternative: str) -> None:
    """Refuse (``EstimationError``) when ``nbytes`` will not fit in usable memory."""
    if not fits(nbytes):
        usable = USABLE_FRACTION * available_bytes()
        raise EstimationError(
            f"{what} needs about {format_bytes(nbytes)} but only {format_bytes(usable)} "
            f"is usable here; {alternative}"
        )
