"""Computing one task of a sweep: every γ of a point, wherever it runs.

``iter_task`` builds and measures the task's problem once (from the spec text and
the seed), then certifies (with ``measure="flow"`` also simulates) each γ; an
``Outcome`` is a point and its entry (a result or a one-line failure), with the
simulation in five numbers (``FlowSummary``). The backends run these functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ...choices import SweepMeasure
from ...io.loaded import LoadedSpec
from ..job import Measured, guarded, measure_spec, run_at
from ..result import CertifyResult, Entry, SpecFailure
from .plan import Options, Point, Task

if TYPE_CHECKING:
    from ...flow.gd import GdSimulation
    from ...flow.simulate import Simulation


@dataclass(frozen=True)
class FlowSummary:
    """A simulation in five numbers (THEORY.md §7): maxima over the checkpoints, the
    final loss and the time at which the loss reaches ``loss_tol``·L0 (None if never)."""

    kernel_change_max: float
    weight_change_max: float
    gap_max: float
    final_loss: float
    time_to_tol: float | None


@dataclass(frozen=True)
class Outcome:
    """A point and what became of it. ``lost``: the worker running it died (no row is
    stored for it, so a rerun computes it again)."""

    point: Point
    entry: Entry
    flow: FlowSummary | None = None
    lost: bool = False


def flow_summary(sim: Simulation | GdSimulation, loss0: float, loss_tol: float) -> FlowSummary:
    """Maxima of the laziness measures over the checkpoints, the final loss, and the first
    time the loss reaches ``loss_tol``·L0 (log-linear between the checkpoints around it;
    for gradient descent the step, THEORY.md §13)."""
    from ...flow.gd import GdSimulation  # loaded already when a GD simulation ran

    loss = sim.loss
    t = sim.step.astype(float) if isinstance(sim, GdSimulation) else sim.t
    target = loss_tol * loss0
    below = np.flatnonzero(loss <= target)
    when: float | None = None
    if below.size:
        k = int(below[0])
        when = float(t[k])
        if k > 0 and loss[k] > 0 and loss[k - 1] > target:
            lo, hi = math.log(loss[k - 1]), math.log(loss[k])
            when = float(t[k - 1] + (t[k] - t[k - 1]) * (math.log(target) - lo) / (hi - lo))

    def top(a: np.ndarray) -> float:
        return float(np.max(a)) if a.size else math.nan

    return FlowSummary(
        kernel_change_max=top(sim.kernel_change),
        weight_change_max=top(sim.weight_change),
        gap_max=top(sim.gap),
        final_loss=float(loss[-1]) if loss.size else math.nan,
        time_to_tol=when,
    )


def _certify_point(
    loaded: LoadedSpec, shared: Measured, options: Options
) -> tuple[CertifyResult, FlowSummary | None]:
    """One point's γ on its task's measurement (``loaded`` differs from the measured spec
    in γ only): what ``certify_spec`` (``simulate_spec``) computes, without advice."""
    flow = options.measure is SweepMeasure.flow
    hint = "sweep with --set simulate.horizon=1e-3 (a time) instead"
    at = replace(shared, loaded=loaded)  # the result is labelled by the point's own spec
    result, sim = run_at(
        at, loaded.spec.gamma, options.settings, simulate_flow=flow, horizon_hint=hint
    )
    if sim is None:
        return result, None
    if sim.status == "interrupted":
        # The integrator keeps the checkpoints reached for `simulate`'s report; a sweep
        # row must describe a finished flow (its final loss, its maxima), so a point cut
        # short is no row at all: the interrupt goes on up, and a rerun computes it.
        raise KeyboardInterrupt
    return result, flow_summary(sim, result.estimate.loss0, loaded.spec.simulate.loss_tol)


def compute_task(task: Task) -> list[Outcome]:
    """Every γ of one task (:func:`iter_task`), as a list."""
    return list(iter_task(task))


def iter_task(task: Task) -> Iterator[Outcome]:
    """Every γ of one task, each outcome as soon as it is finished: the problem is built
    and measured once, from the spec text and the seed, wherever this runs. Failures
    become ``SpecFailure`` entries; ``KeyboardInterrupt`` goes on up (the point being
    computed is not finished, and yields nothing)."""
    shared: Measured | Exception | None = None
    label = task.source.source
    for point in task.points:
        if point.error is not None:
            yield Outcome(point, SpecFailure(label, point.error))
            continue
        flow: list[FlowSummary | None] = [None]

        def job(point: Point = point, flow: list[FlowSummary | None] = flow) -> CertifyResult:
            nonlocal shared
            loaded = task.source.parse(dict(point.overrides))
            if shared is None:
                try:
                    shared = measure_spec(loaded, task.options.settings)
                except Exception as exc:  # every γ of the task fails alike
                    shared = exc
            if isinstance(shared, Exception):
                raise shared
            result, flow[0] = _certify_point(loaded, shared, task.options)
            return result

        entry = guarded(label, job, debug=task.options.debug)
        yield Outcome(point, entry, flow[0] if isinstance(entry, CertifyResult) else None)


def lost_outcomes(task: Task, exc: BaseException) -> list[Outcome]:
    """Every point of ``task`` as lost: the worker running it died with ``exc`` (no row is
    stored for a lost point, so a rerun computes it)."""
    message = f"{task.source.source}: the worker running this point died ({type(exc).__name__}"
    message += f": {exc}); rerun to compute it" if str(exc) else "); rerun to compute it"
    return [Outcome(p, SpecFailure(task.source.source, message), lost=True) for p in task.points]
