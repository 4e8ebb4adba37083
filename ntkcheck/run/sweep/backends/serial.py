"""The serial backend: every task in this process, each point given as soon as it is
finished (Ctrl-C interrupts the point being computed; every point before it has been
given)."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence

from ....linalg.threads import threads_capped
from ..compute import Outcome, iter_task
from ..plan import Task


class Serial:
    """This process, ``threads`` BLAS threads for the duration (None: ntkcheck's policy)."""

    def __init__(self, work: Sequence[Task], threads: int | None) -> None:
        self._runs = self._run(work, threads)

    @staticmethod
    def _run(work: Sequence[Task], threads: int | None) -> Generator[list[Outcome]]:
        with threads_capped(threads):
            for task in work:
                for outcome in iter_task(task):
                    yield [outcome]

    def runs(self) -> Iterator[list[Outcome]]:
        return self._runs

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        """Nothing: a point cut short here is not finished, and every earlier one was given."""
        return iter(())

    def stop(self, kill: bool) -> None:
        self._runs.close()  # leaves the thread cap's block
