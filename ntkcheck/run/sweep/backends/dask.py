"""The Dask backend: a Dask distributed cluster runs the tasks (``--scheduler``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from ....errors import NtkcheckError
from ....linalg.threads import limit_blas_threads
from ..compute import Outcome, compute_task, lost_outcomes
from ..plan import Task


def _dask_task(task: Task) -> list[Outcome]:
    """A task on a Dask worker: the worker's BLAS threads capped, then ``compute_task``."""
    limit_blas_threads(task.options.threads or 1)
    return compute_task(task)


class Dask:
    """A Dask distributed cluster: every task submitted at once; stopping cancels them and
    closes the client (a task already running on a worker thread runs to its end there)."""

    def __init__(self, work: Sequence[Task], address: str) -> None:
        try:
            import distributed
        except ImportError:
            raise NtkcheckError(
                '--scheduler needs Dask, an optional extra: pip install "ntkcheck[dask]"'
            ) from None
        self.distributed = distributed
        try:
            self.client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise NtkcheckError(f"--scheduler {address}: cannot connect ({exc})") from None
        self.futures: list[Any] = []
        self.given: set[Any] = set()
        try:
            self.futures = [self.client.submit(_dask_task, task, pure=False) for task in work]
        except BaseException:  # Ctrl-C while submitting: cancel what went, close the client
            self.stop(kill=True)
            raise
        self.owner = {f.key: task for f, task in zip(self.futures, work, strict=True)}

    def runs(self) -> Iterator[list[Outcome]]:
        for future in self.distributed.as_completed(self.futures):
            self.given.add(future.key)
            try:
                yield future.result()
            except Exception as exc:  # KilledWorker, a lost connection
                yield lost_outcomes(self.owner[future.key], exc)

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        """The tasks finished on the cluster whose results have not been given yet."""
        for future in self.futures:
            if future.key in self.given or future.status != "finished":
                continue
            self.given.add(future.key)
            try:
                yield future.result(timeout=grace)
            except Exception:  # not fetched in time: computed again on resume
                continue

    def stop(self, kill: bool) -> None:
        with contextlib.suppress(Exception):  # a client already closed, a lost connection
            self.client.cancel(self.futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=2 if kill else None)
