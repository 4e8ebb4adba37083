"""Where a sweep's tasks run: one small interface, one module per backend.

``serial`` (this process), ``processes`` (local worker processes) and ``dask`` (a
Dask distributed cluster) each implement :class:`Backend`; :func:`start_backend`
picks one and submits the work. ``sweep.outcomes.Outcomes`` drives it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ....linalg.threads import usable_cores
from ..compute import Outcome
from ..plan import Task


class Backend(Protocol):
    """Tasks submitted (when the backend is made), their outcomes as they finish.

    ``runs()`` gives the outcomes in completion order, a list at a time (a task's, or
    one point's); after an interrupt ``rest(grace)`` gives, for at most ``grace``
    seconds, those finished but not given yet; ``stop(kill)`` cancels what has not
    started and ends the backend (``kill``: after an interrupt, nothing still computing
    is waited for).
    """

    def runs(self) -> Iterator[list[Outcome]]: ...

    def rest(self, grace: float) -> Iterator[list[Outcome]]: ...

    def stop(self, kill: bool) -> None: ...


def start_backend(work: Sequence[Task], *, jobs: int, scheduler: str | None) -> Backend:
    """``work`` submitted to a Dask cluster (``scheduler``, its address), to ``jobs`` local
    worker processes, or to this process when ``jobs`` is 1 or there is one task.

    Every point runs with its task's ``options.threads`` BLAS threads; None keeps
    ntkcheck's own policy in this process, and means one per core share in workers.
    """
    threads = work[0].options.threads
    if scheduler is not None:
        from .dask import Dask

        return Dask(work, scheduler)
    if jobs <= 1 or len(work) == 1:
        from .serial import Serial

        return Serial(work, threads)
    from .processes import Processes

    share = threads or max(1, usable_cores() // jobs)
    return Processes(work, min(jobs, len(work)), share)
