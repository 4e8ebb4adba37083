"""The local worker-process backend (``concurrent.futures``).

``fork`` on Linux, else ``spawn`` (:func:`start_method`); every worker's BLAS
threads are capped (``linalg.threads.limit_blas_threads``). Ctrl-C and SIGTERM are
the parent's: it asks its workers to stop with ``STOP_SIGNAL`` (a worker interrupts
the point it computes and hands in the points of its task it had finished), then
kills what still runs after the grace.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Sequence

from ....errors import NtkcheckError
from ....linalg.threads import limit_blas_threads, warm_controller
from ..compute import Outcome, iter_task, lost_outcomes
from ..plan import Task

#: How the parent asks a local worker to stop the point it computes (after Ctrl-C; None
#: where there is no SIGUSR1: the workers are then killed at once).
STOP_SIGNAL: int | None = getattr(signal, "SIGUSR1", None)
#: How what still runs after the grace is ended.
KILL_SIGNAL: int = getattr(signal, "SIGKILL", signal.SIGTERM)

#: A worker's stop state: ``asked`` once the parent asked it to stop (``STOP_SIGNAL``),
#: ``computing`` while it computes a task's points.
_STOP = {"asked": False, "computing": False}


def _stop_asked(signum: int, frame: object) -> None:
    """In a worker, the parent's ``STOP_SIGNAL``: interrupt the point being computed (once;
    a task that has not started yet returns at once)."""
    if not _STOP["asked"]:
        _STOP["asked"] = True
        if _STOP["computing"]:
            raise KeyboardInterrupt


def _init_worker(threads: int) -> None:
    """Process-pool initializer: Ctrl-C and SIGTERM are the parent's to handle (a terminal
    sends Ctrl-C to the whole process group; the parent asks its workers to stop with
    ``STOP_SIGNAL``, and kills the ones that do not); BLAS threads capped (threadpoolctl
    for the loaded libraries, the environment for any loaded later)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, if forked
    if STOP_SIGNAL is not None:
        signal.signal(STOP_SIGNAL, _stop_asked)
    _STOP.update(asked=False, computing=False)
    limit_blas_threads(threads)


def _worker_task(task: Task) -> list[Outcome]:
    """A task in a local worker: the points finished before the parent asked it to stop
    (all of them when it does not)."""
    out: list[Outcome] = []
    if _STOP["asked"]:
        return out
    _STOP["computing"] = True
    try:
        for outcome in iter_task(task):
            out.append(outcome)
    except KeyboardInterrupt:
        pass  # stopped: the point being computed is not finished, the others are
    finally:
        _STOP["computing"] = False
    return out


def _warm_up(task: Task) -> None:
    """Import the task's model family and survey the BLAS libraries before forking."""
    from ....models.registry import family

    point = task.points[0]
    if point.error is None:
        with contextlib.suppress(NtkcheckError):  # the point will report it
            family(task.source.parse(dict(point.overrides)).spec.model.architecture)
    warm_controller()


def start_method() -> str:
    """``fork`` on Linux: a worker inherits the imported NumPy and ntkcheck instead of
    importing them again (about half a second per worker, more than most points take);
    ``spawn`` elsewhere (macOS's system libraries are not fork-safe)."""
    import multiprocessing
    import sys

    forkable = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if forkable else "spawn"


class Processes:
    """Local worker processes (``concurrent.futures``), every task submitted at once (a
    forked pool starts all its workers at the first submission: before the caller starts
    any thread of its own, e.g. a progress bar's)."""

    def __init__(self, work: Sequence[Task], jobs: int, threads: int) -> None:
        import multiprocessing
        import sys
        from concurrent.futures import Future, ProcessPoolExecutor

        method = start_method()
        if method == "fork":  # what every worker would load on its first point, loaded once
            _warm_up(work[0])
        for stream in (sys.stdout, sys.stderr):  # a forked worker must not repeat output
            stream.flush()
        self.pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(threads,),
        )
        self.futures: dict[Future[list[Outcome]], Task] = {}
        self.given: set[Future[list[Outcome]]] = set()
        try:
            for task in work:
                self.futures[self.pool.submit(_worker_task, task)] = task
        except BaseException:  # Ctrl-C while the workers start: none is left behind
            self.stop(kill=True)
            raise

    def runs(self) -> Iterator[list[Outcome]]:
        from concurrent.futures import as_completed

        for future in as_completed(self.futures):
            self.given.add(future)
            try:
                yield future.result()
            except Exception as exc:  # a worker died (out of memory, killed)
                yield lost_outcomes(self.futures[future], exc)

    def _signal(self, signum: int) -> None:
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signum)

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        """Ask every worker to stop (``STOP_SIGNAL``: the point it computes is interrupted
        within one right-hand side or one BLAS call), then give, for ``grace`` seconds, the
        points the workers had finished."""
        from concurrent.futures import TimeoutError, as_completed

        for future in self.futures:
            future.cancel()
        if STOP_SIGNAL is None:
            grace = 0.0  # only what has finished already
        else:
            self._signal(STOP_SIGNAL)
        left = [f for f in self.futures if f not in self.given and not f.cancelled()]
        with contextlib.suppress(TimeoutError):
            for future in as_completed(left, timeout=grace):
                self.given.add(future)
                try:
                    yield future.result()
                except BaseException:  # stopped or died: nothing finished to give
                    continue

    def stop(self, kill: bool) -> None:
        # Cancel here, not only through shutdown(cancel_futures=True): the pool's manager
        # thread cancels through a weak reference to the pool, which may be gone by then.
        for future in self.futures:
            future.cancel()
        if kill:
            # After an interrupt nothing still computing is waited for, nor is the pool's
            # manager thread joined: an interrupt may have left one of its locks held.
            self._signal(KILL_SIGNAL)
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            # The workers finish the points in hand and exit; joined here, not in the
            # interpreter's exit (where a Ctrl-C would print a threading traceback).
            self.pool.shutdown(wait=True, cancel_futures=True)
