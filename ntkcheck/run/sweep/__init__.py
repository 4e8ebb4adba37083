"""Sweeps: a grid of spec points × seeds, certified (or simulated) point by point.

- ``plan``: the points of the grid, resolved (``plan_sweep``, ``resolve_axes``), and
  the tasks that share a γ-free measurement (``tasks``);
- ``compute``: one task computed wherever it runs (``iter_task``, ``Outcome``);
- ``backends``: where the tasks run — this process, local worker processes or a Dask
  cluster — behind one interface (``backends.Backend``);
- ``outcomes``: ``execute`` starts a backend; its ``Outcomes`` come in completion
  order and, closed early or after an interrupt, stop what has not finished.
"""

from .compute import FlowSummary, Outcome, compute_task, flow_summary, iter_task
from .outcomes import STOP_GRACE, Outcomes, execute
from .plan import (
    Options,
    Plan,
    Point,
    SpecSource,
    Task,
    check_axes,
    plan_inputs,
    plan_sweep,
    resolve_axes,
    tasks,
)

__all__ = [
    "STOP_GRACE",
    "FlowSummary",
    "Options",
    "Outcome",
    "Outcomes",
    "Plan",
    "Point",
    "SpecSource",
    "Task",
    "check_axes",
    "compute_task",
    "execute",
    "flow_summary",
    "iter_task",
    "plan_inputs",
    "plan_sweep",
    "resolve_axes",
    "tasks",
]
