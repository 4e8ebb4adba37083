"""Running a sweep's tasks: :func:`execute` starts a backend, :class:`Outcomes` gives
what it computes in completion order and stops it (closed early, after an interrupt)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from .backends import Backend, start_backend
from .compute import Outcome
from .plan import Task

#: Seconds the workers get, once asked to stop, to give the points they had finished.
STOP_GRACE = 3.0


class Outcomes(Iterator[Outcome]):
    """The outcomes of :func:`execute`, in completion order. ``close()`` (or leaving a
    ``with`` block) stops the work not yet started, even before the first outcome.

    After a ``KeyboardInterrupt`` in the loop, ``rest()`` gives the outcomes already
    finished (local workers are asked to stop and given ``grace`` seconds), then stops
    everything; a second ``KeyboardInterrupt`` inside it stops at once.
    """

    def __init__(self, runs: Iterator[list[Outcome]], backend: Backend | None = None) -> None:
        self._outcomes = itertools.chain.from_iterable(runs)
        self._runs = runs
        self._backend = backend
        self._interrupted = False

    def __next__(self) -> Outcome:
        try:
            return next(self._outcomes)
        except StopIteration:
            self.close()
            raise

    def rest(self, grace: float = STOP_GRACE) -> Iterator[Outcome]:
        """After an interrupt: every outcome finished but not given yet; then all stopped
        (and ``close()`` from now on kills what still runs)."""
        self._interrupted = True
        return self._rest(grace)

    def _rest(self, grace: float) -> Iterator[Outcome]:
        try:
            if self._backend is not None:
                for outcomes in self._backend.rest(grace):
                    yield from outcomes
        finally:
            self.close()

    def close(self) -> None:
        close = getattr(self._runs, "close", None)
        if close is not None:  # a generator: run its cleanup
            close()
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.stop(kill=self._interrupted)

    def __enter__(self) -> Outcomes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def execute(work: Sequence[Task], *, jobs: int = 1, scheduler: str | None = None) -> Outcomes:
    """Run ``work``: its outcomes in completion order (close them to stop early).

    ``scheduler``: a Dask distributed scheduler address; else ``jobs`` local worker
    processes (``backends.processes.start_method``), started by this call, or this
    process when ``jobs`` is 1 or there is one task (``backends.start_backend``).
    """
    if not work:
        return Outcomes(iter(()))
    backend = start_backend(work, jobs=jobs, scheduler=scheduler)
    return Outcomes(backend.runs(), backend)
