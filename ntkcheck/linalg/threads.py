"""BLAS/LAPACK threads that fit the machine (issue: shared CI runners, laptops).

Two OpenBLAS thread pools on a busy core spin against each other: a 1024×1024
``eigh`` took 1.7 s with two threads beside a competing process and 0.12 s with
one. The policy:

- never more threads than *usable* cores: the CPU affinity mask
  (``os.sched_getaffinity``) and the cgroup CPU quota (``cpu.max`` / v1
  ``cpu.cfs_quota_us``), whichever is smaller;
- one thread for small dense eigensolvers and factorizations (n ≤ ``SMALL_N``) and
  for the small products inside simulate's right-hand side;
- all usable cores for the large Gram products;
- ``NTKCHECK_THREADS=k`` overrides the count for every operation.

threadpoolctl sets the limit on every BLAS loaded (NumPy's and SciPy's OpenBLAS).
A sweep's workers are capped for good (``limit_blas_threads``, once per worker
process) and a sweep run in this process for its duration (``threads_capped``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

#: Dense eigensolvers and factorizations up to this n run on one thread.
SMALL_N = 2048
#: Caps every BLAS/LAPACK operation of ntkcheck (``NTKCHECK_THREADS``), and the
#: OpenMP/BLAS pools of libraries loaded later.
THREAD_VARIABLES = (
    "NTKCHECK_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _cgroup_quota() -> float | None:
    """CPUs allowed by the cgroup quota (v2 ``cpu.max``, v1 ``cfs_quota_us``), or None."""
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


@cache
def usable_cores() -> int:
    """Cores this process may use: affinity mask ∧ cgroup quota (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def thread_override() -> int | None:
    """``NTKCHECK_THREADS``, None when unset (a bad value raises)."""
    text = os.environ.get("NTKCHECK_THREADS", "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        from ..errors import NtkcheckError

        raise NtkcheckError(
            f"NTKCHECK_THREADS={text!r} is not a number of threads; write a whole number "
            "≥ 1, e.g. 1 or 2"
        )
    return value


#: simulate's right-hand side runs on one thread up to this many n·P values.
SMALL_RHS = 1 << 24
#: Gram products of fewer flops than this (≈ n²·N) run on one thread: a sweep's
#: (256, 32, 4096) point took 193 ms with two threads beside a busy core, 20 ms with one.
SMALL_GRAM = 1 << 30


def threads_for(task: str, size: int = 0) -> int:
    """The thread count for ``task``: ``gram`` (BLAS-3 products of ≈ size flops), ``eigen``
    (dense eigensolver or Cholesky of a size×size matrix) or ``rhs`` (simulate's
    products, size = n·P)."""
    override = thread_override()
    if override is not None:
        return min(override, usable_cores())
    if task == "gram":
        return usable_cores() if size == 0 or size > SMALL_GRAM else 1
    if task == "eigen":
        return 1 if size <= SMALL_N else usable_cores()
    return 1 if size <= SMALL_RHS else usable_cores()


def _controller() -> Any:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (≈10 ms to make; a forked
    worker inherits it). SciPy's OpenBLAS is loaded late (only problems beyond
    ``linalg.dense.NUMPY_MAX_N`` use it), so the view is made again once it is."""
    return _controller_with("scipy.linalg" in sys.modules)


@cache
def _controller_with(scipy_loaded: bool) -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def warm_controller() -> None:
    """Survey the loaded libraries now (before forking workers that will cap them)."""
    _controller()


def cap_threads(count: int) -> None:
    """Limit every loaded BLAS/OpenMP library to ``count`` threads for good (a worker)."""
    _controller().limit(limits=count)


@contextmanager
def blas_threads(count: int) -> Iterator[int]:
    """Limit every loaded BLAS to ``count`` threads inside the block; yields ``count``."""
    with _controller().limit(limits=count, user_api="blas"):
        yield count


@cache
def limit_blas_threads(threads: int) -> None:
    """Cap this process's BLAS at ``threads`` for good (a sweep's worker; once per process).

    ``NTKCHECK_THREADS`` caps every operation that ntkcheck sizes itself
    (:func:`threads_for`), threadpoolctl the loaded BLAS libraries for the rest, the
    ``OMP_NUM_THREADS`` family libraries loaded later. BLAS results depend on the
    thread count in the last bits, so every point of a sweep runs with the same count,
    whichever backend runs it.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    cap_threads(threads)


@contextmanager
def threads_capped(threads: int | None) -> Iterator[None]:
    """:func:`limit_blas_threads` for the duration of a block, in this process (None: as
    is); the environment and the libraries' limits are restored after it."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
