"""The checks of C1–C5 along a simulated path: bound vs measured (THEORY.md §5).

Each check is ``worst_ratio = max_t measured/bound`` where the bound is above
the integrator's error floor, and holds when ``measured ≤ bound·(1 + ROUNDING)
+ floor`` at every checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..theory.guarantees import STATEMENTS, Guarantees, bound_curves
from ..theory.path import path_bound_at

#: Relative slack for comparing a measured value with its bound (rounding only).
ROUNDING = 1e-9


@dataclass(frozen=True)
class Check:
    """One conclusion of THEORY.md §5: ``worst_ratio = max_t measured/bound`` (≤ 1 holds).

    ``holds`` is None when the check is not applicable, or when its bound never
    rose above the integrator's error floor (unresolved: nothing was checked).
    """

    id: str
    statement: str
    applicable: bool
    holds: bool | None
    worst_ratio: float | None
    worst_t: float | None
    estimate: bool = False  # certificate from a non-rigorous bound (local β, Lanczos σ's)
    final_ratio: float | None = None  # measured/bound at the last t above the floor: the slack
    theorem: str = "lecture"


def _ratio_check(
    cid: str,
    statement: str,
    t: np.ndarray,
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    estimate: bool,
    theorem: str,
) -> Check:
    """worst_ratio = max over t (and parts) of measured/bound, where bound is above the floor.

    A part holds at t if ``measured ≤ bound·(1 + ROUNDING) + floor`` (the
    integrator's error floor for that quantity). A violation beyond the floor
    fails the check; with none, the check holds if some bound rose above 10× its
    floor, and is unresolved (holds None) otherwise.
    """
    worst, worst_t, violated, final, resolved = 0.0, None, False, None, False
    for m, b, f in parts:
        violated |= not bool(np.all(m <= b * (1 + ROUNDING) + f))
        above = b > 10 * f
        if np.any(above):
            resolved = True
            ratios = np.where(above, m / np.where(above, b, 1.0), -np.inf)
            k = int(np.argmax(ratios))
            if worst_t is None or ratios[k] > worst:
                worst, worst_t = float(ratios[k]), float(t[k])
            last = float(ratios[np.flatnonzero(above)[-1]])
            final = last if final is None else max(final, last)
    if not resolved:
        return Check(cid, statement, True, False if violated else None, None, None, estimate,
                     None, theorem)  # fmt: skip
    return Check(cid, statement, True, not violated, worst, worst_t, estimate, final, theorem)


@dataclass(frozen=True)
class Floors:
    """What the integrator resolves: ‖r‖ to ``r`` and ‖θ − θ0‖ to ``theta`` (own units)."""

    r: float
    theta: float


def not_applicable_checks(
    theorem: str, estimate: bool, statements: Mapping[str, str] | None = None
) -> tuple[Check, ...]:
    """Every check of ``theorem`` (``statements``: its id → statement, default C1–C5 of
    ``STATEMENTS[theorem]``), none applicable: no certificate, or the run was cut short."""
    chosen = STATEMENTS[theorem] if statements is None else statements
    return tuple(
        Check(c, s, False, None, None, None, estimate, None, theorem) for c, s in chosen.items()
    )


def checks_for(
    sim: dict[str, np.ndarray],
    g: Guarantees | None,
    applicable: bool,
    estimate: bool,
    floors: Floors,
    *,
    theorem: str = "lecture",
    gamma: float = 1.0,
) -> tuple[Check, ...]:
    """C1–C5 (THEORY.md §5; §8–§9 for the path theorem) as bound vs measured along the path.

    Floors: ‖r‖ is known to ``floors.r``, so the loss to ‖r‖·δr + ½δr² and the
    gap to δr; ‖θ − θ0‖ to ``floors.theta``. σ(J_t) and the linearized
    quantities come from eigensolvers and the closed form, exact to rounding.
    The path theorem's C2 also checks the time-resolved bound
    2(‖r0‖ − ‖r_t‖)/(γσ_min), whose own error is 2δr/(γσ_min).
    """
    t = sim["t"]
    if g is None or not applicable:
        return not_applicable_checks(theorem, estimate)
    one, zero = np.ones_like(t), np.zeros_like(t)
    curves = bound_curves(g, t)
    fr = floors.r
    loss_floor = np.sqrt(2 * sim["loss"]) * fr + 0.5 * fr**2
    c2 = [(sim["param_dist"], g.radius_R * one, floors.theta * one)]
    if g.path_length:
        sigma_min = 2.0 * g.sigma_min_lower
        r_norm = np.sqrt(2.0 * sim["loss"])
        bound_t = np.asarray(path_bound_at(gamma, sigma_min, math.sqrt(2.0 * g.loss0), r_norm))
        floor_t = floors.theta + 2.0 * fr / (gamma * sigma_min)
        c2.append((sim["param_dist"], bound_t, floor_t * one))
    parts = {
        "C1": [(sim["loss"], curves.loss, loss_floor)],
        "C2": c2,
        "C3": [
            (g.sigma_min_lower * one, sim["sigma_min_t"], zero),
            (sim["jacobian_norm_t"], g.jacobian_norm_upper * one, zero),
        ],
        "C4": [
            (sim["loss_lin"], curves.loss_lin, zero),
            (sim["param_dist_lin"], g.lin_radius * one, zero),
        ],
        "C5": [(sim["gap"], curves.gap, fr * one)],
    }
    statements = STATEMENTS[theorem]
    return tuple(
        _ratio_check(cid, statements[cid], t, triples, estimate, theorem)
        for cid, triples in parts.items()
    )
