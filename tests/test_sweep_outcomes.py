"""``run.sweep.outcomes``: ``Outcomes`` gives a backend's outcomes in completion order and
stops it — at the end, when closed early, and after an interrupt (``rest``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ntkcheck.run.sweep import STOP_GRACE, Outcomes, execute


class FakeBackend:
    """A backend whose runs are given lists; it records how it was stopped."""

    def __init__(self, runs: list[list[str]], rest: list[list[str]] = ()) -> None:
        self._runs, self._rest = runs, list(rest)
        self.stops: list[bool] = []
        self.graces: list[float] = []
        self.closed_runs = False

    def runs(self) -> Iterator[list[str]]:
        try:
            yield from self._runs
        finally:
            self.closed_runs = True

    def rest(self, grace: float) -> Iterator[list[str]]:
        self.graces.append(grace)
        yield from self._rest

    def stop(self, kill: bool) -> None:
        self.stops.append(kill)


def _outcomes(backend: FakeBackend) -> Outcomes:
    return Outcomes(backend.runs(), backend)  # type: ignore[arg-type]


def test_every_outcome_in_order_then_the_backend_stops_once():
    backend = FakeBackend([["a", "b"], [], ["c"]])
    outcomes = _outcomes(backend)
    assert list(outcomes) == ["a", "b", "c"]
    assert backend.stops == [False] and backend.closed_runs
    outcomes.close()  # closing again does nothing more
    assert backend.stops == [False]


def test_closing_early_stops_the_backend_without_killing():
    backend = FakeBackend([["a"], ["b"]])
    with _outcomes(backend) as outcomes:
        assert next(outcomes) == "a"
    assert backend.stops == [False] and backend.closed_runs


def test_closing_before_the_first_outcome_stops_the_backend():
    backend = FakeBackend([["a"]])
    _outcomes(backend).close()
    assert backend.stops == [False]


def test_after_an_interrupt_rest_gives_the_finished_then_kills():
    backend = FakeBackend([["a"], ["b"]], rest=[["x", "y"], ["z"]])
    outcomes = _outcomes(backend)
    assert next(outcomes) == "a"
    assert list(outcomes.rest()) == ["x", "y", "z"]
    assert backend.graces == [STOP_GRACE]
    assert backend.stops == [True]  # stopped once, killing what still runs


def test_rest_closed_early_still_stops():
    backend = FakeBackend([["a"]], rest=[["x"], ["y"]])
    outcomes = _outcomes(backend)
    rest = outcomes.rest(grace=0.5)
    assert next(rest) == "x"
    rest.close()
    assert backend.graces == [0.5] and backend.stops == [True]


def test_no_work_starts_no_backend():
    outcomes = execute([])
    with pytest.raises(StopIteration):
        next(outcomes)
    assert list(outcomes.rest()) == []
