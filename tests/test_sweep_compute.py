"""``run.sweep.compute``: a simulation in five numbers, and lost points (direct tests)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from ntkcheck.run.result import SpecFailure
from ntkcheck.run.sweep import Options, Point, SpecSource, Task, flow_summary
from ntkcheck.run.sweep.compute import iter_task, lost_outcomes


def _sim(t, loss, kernel=(), weight=(), gap=()):
    return SimpleNamespace(
        t=np.asarray(t, float), loss=np.asarray(loss, float),
        kernel_change=np.asarray(kernel, float), weight_change=np.asarray(weight, float),
        gap=np.asarray(gap, float),
    )  # fmt: skip


def test_time_to_tol_interpolates_log_linearly():
    """For an exponential loss the log-linear interpolation is exact: L0·e^{−2t} reaches
    tol·L0 at t = −ln(tol)/2, between the checkpoints around it (rounding: 1e-14)."""
    t = np.linspace(0.0, 5.0, 11)
    loss0, tol = 3.0, 1e-3
    out = flow_summary(_sim(t, loss0 * np.exp(-2.0 * t), [0.1, 0.3, 0.2], [0.5], [1e-4, 2e-4]),
                       loss0, tol)  # fmt: skip
    assert out.time_to_tol == pytest.approx(-math.log(tol) / 2.0, rel=1e-14)
    assert (out.kernel_change_max, out.weight_change_max, out.gap_max) == (0.3, 0.5, 2e-4)
    assert out.final_loss == pytest.approx(loss0 * math.exp(-10.0), rel=1e-15)


def test_time_to_tol_at_the_ends():
    assert flow_summary(_sim([0, 1, 2], [1.0, 0.5, 0.2]), 1.0, 1e-3).time_to_tol is None
    assert flow_summary(_sim([0.5, 1], [1e-4, 1e-5]), 1.0, 1e-3).time_to_tol == 0.5
    # a checkpoint exactly at the target is the time
    assert flow_summary(_sim([0, 1, 2], [1.0, 1e-3, 1e-5]), 1.0, 1e-3).time_to_tol == 1.0
    empty = flow_summary(_sim([], []), 1.0, 1e-3)
    assert math.isnan(empty.final_loss) and math.isnan(empty.kernel_change_max)


def _task(errors):
    source = SpecSource.read(None)
    points = tuple(
        Point(k, (("seed", k),), (("seed", k),), k, 1.0, f"h{k}", error=e)
        for k, e in enumerate(errors)
    )
    return Task(source, points, Options())


def test_error_points_are_error_outcomes_without_computing():
    outcomes = list(iter_task(_task(["bad width", "bad gamma"])))
    assert [o.point.index for o in outcomes] == [0, 1]
    assert [o.entry.message for o in outcomes] == ["bad width", "bad gamma"]
    assert all(isinstance(o.entry, SpecFailure) and not o.lost for o in outcomes)


def test_lost_outcomes_name_the_cause_and_are_lost():
    task = _task([None, None])
    lost = lost_outcomes(task, MemoryError("out of memory"))
    assert [o.point for o in lost] == list(task.points) and all(o.lost for o in lost)
    assert lost[0].entry.message == (
        "<built-in example>: the worker running this point died "
        "(MemoryError: out of memory); rerun to compute it"
    )
    assert lost_outcomes(task, EOFError())[0].entry.message.endswith(
        "died (EOFError); rerun to compute it"
    )


def test_each_gamma_of_a_task_is_certify_at_that_gamma(monkeypatch):
    """One measurement for the task, then each point's γ: the result is ``certify_spec``
    of the point's own spec (no advice), labelled by the point's overrides."""
    from ntkcheck.report.document import result_dict
    from ntkcheck.run import job
    from ntkcheck.run.job import certify_spec
    from ntkcheck.run.settings import RunSettings
    from ntkcheck.run.sweep import plan_sweep, tasks
    from ntkcheck.run.sweep.plan import Axis

    source = SpecSource.read(None)
    small = {"data.n": 12, "data.d": 4, "model.width": 64}
    plan = plan_sweep(source, small, [Axis(("gamma",), ((0.5,), (1e3,)), "--grid gamma")])
    (task,) = tasks(plan, plan.points, Options())
    measured = []
    real = job.measure_spec
    monkeypatch.setattr(
        "ntkcheck.run.sweep.compute.measure_spec",
        lambda *a: measured.append(1) or real(*a),
    )
    outcomes = list(iter_task(task))
    assert len(measured) == 1
    for o in outcomes:
        expected = certify_spec(source.parse(dict(o.point.overrides)), RunSettings(advise=False))
        got, want = result_dict(o.entry), result_dict(expected)
        got.pop("timing"), want.pop("timing")
        assert got == want
        assert o.entry.overrides == {**small, "gamma": o.point.gamma}
    assert [o.entry.verdict.certified for o in outcomes] == [False, True]
