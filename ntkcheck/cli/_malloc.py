"""Keep freed work arrays in the process instead of returning them to the OS.

The hot loops (Gram blocks, gradient-flow right-hand sides) allocate and free
arrays of a few MiB many times. glibc hands such blocks back to the kernel and
maps them again, so every call pays one page fault per 4 KiB — measured here as
a 5× slowdown of a 64 × 4096 tanh-and-derivative pass in a virtual machine.
Raising glibc's mmap and trim thresholds makes the blocks reusable. Called by
the CLI only (a library should not change its host's allocator); harmless and
a no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling on 64-bit systems
TRIM_THRESHOLD = 1 << 30


def tune_malloc() -> bool:
    """Raise glibc's mmap/trim thresholds; True when applied."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
    return mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
