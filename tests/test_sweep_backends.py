"""``run.sweep.backends``: which backend runs the work, and the serial backend's part of
the interface (the process and Dask backends run real workers in test_sweep.py and
test_interrupt.py)."""

from __future__ import annotations

import os
from typing import ClassVar

from ntkcheck.run.sweep import Options, Point, SpecSource, Task, execute
from ntkcheck.run.sweep.backends import processes, start_backend
from ntkcheck.run.sweep.backends.serial import Serial


def _work(tasks: int, threads: int | None = None) -> list[Task]:
    source = SpecSource.read(None)
    return [
        Task(source, (Point(k, (), (("seed", k),), k, 1.0, f"h{k}", error=f"e{k}"),),
             Options(threads=threads))
        for k in range(tasks)
    ]  # fmt: skip


class _Recorder:
    made: ClassVar[list[tuple[int, int]]] = []

    def __init__(self, work, jobs, threads):
        _Recorder.made.append((jobs, threads))


def test_the_backend_is_chosen_by_jobs_and_tasks(monkeypatch):
    monkeypatch.setattr(processes, "Processes", _Recorder)
    monkeypatch.setattr("ntkcheck.run.sweep.backends.usable_cores", lambda: 4)
    assert isinstance(start_backend(_work(3), jobs=1, scheduler=None), Serial)
    assert isinstance(start_backend(_work(1), jobs=4, scheduler=None), Serial)
    _Recorder.made.clear()
    start_backend(_work(3), jobs=8, scheduler=None)  # no more workers than tasks
    start_backend(_work(5), jobs=2, scheduler=None)  # 4 cores / 2 workers: 2 threads each
    start_backend(_work(5, threads=1), jobs=2, scheduler=None)
    assert _Recorder.made == [(3, 1), (2, 2), (2, 1)]


def test_the_serial_backend_gives_each_point_and_restores_the_threads(monkeypatch):
    monkeypatch.delenv("NTKCHECK_THREADS", raising=False)
    backend = Serial(_work(3), threads=1)
    runs = backend.runs()
    first = next(runs)
    assert [o.entry.message for o in first] == ["e0"]
    assert os.environ["NTKCHECK_THREADS"] == "1"  # inside the run: capped
    assert list(backend.rest(3.0)) == []  # nothing finished and not given
    backend.stop(kill=True)
    assert "NTKCHECK_THREADS" not in os.environ  # stopped: restored
    assert list(runs) == []  # nothing more after stop


def test_execute_gives_every_outcome_then_closes():
    with execute(_work(3), jobs=1) as outcomes:
        assert [o.point.index for o in outcomes] == [0, 1, 2]
    assert list(execute([], jobs=2)) == []
