"""The checks of C1–C5 along a simulated path: bound vs measured (THEORY.md §5).

Each check is ``worst_ratio = max_t measured/bound`` where the bound is above
the integrator's error floor, and holds when ``measured ≤ bound·(1 + ROUNDING)
+ floor`` at every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..theory.guarantees import STATEMENTS, Guarantees, bound_curves

#: Relative slack for comparing a measured value with its bound (rounding only).
ROUNDING = 1e-9


@dataclass(frozen=True)
class Check:
    """One conclusion of THEORY.md §5: ``worst_ratio = max_t measured/bound`` (≤ 1 holds)."""

    id: str
    statement: str
    applicable: bool
    holds: bool | None
    worst_ratio: float | None
    worst_t: float | None
    estimate: bool = False  # certificate from a local (non-rigorous) β
    final_ratio: float | None = None  # measured/bound at the last t above the floor: the slack


def _ratio_check(
    cid: str,
    statement: str,
    t: np.ndarray,
    measured: list[np.ndarray],
    bound: list[np.ndarray],
    floor: list[np.ndarray],
    applicable: bool,
    estimate: bool,
) -> Check:
    """worst_ratio = max over t (and parts) of measured/bound, where bound is above the floor.

    A part holds at t if ``measured ≤ bound·(1 + ROUNDING) + floor`` (the
    integrator's error floor for that quantity).
    """
    if not applicable:
        return Check(cid, statement, False, None, None, None, estimate)
    worst, worst_t, holds, final = 0.0, None, True, None
    for m, b, f in zip(measured, bound, floor, strict=True):
        holds &= bool(np.all(m <= b * (1 + ROUNDING) + f))
        above = b > 10 * f
        if np.any(above):
            ratios = np.where(above, m / np.where(above, b, 1.0), -np.inf)
            k = int(np.argmax(ratios))
            if ratios[k] > worst:
                worst, worst_t = float(ratios[k]), float(t[k])
            last = float(ratios[np.flatnonzero(above)[-1]])
            final = last if final is None else max(final, last)
    return Check(cid, statement, True, holds, worst, worst_t, estimate, final)


def checks_for(
    sim: dict[str, np.ndarray],
    g: Guarantees | None,
    applicable: bool,
    estimate: bool,
    floor_r: float,
) -> tuple[Check, ...]:
    """C1–C5 of THEORY.md §5 as bound vs measured along the path.

    Floors: ‖r‖ is known to ``floor_r``, so the loss to ‖r‖·floor_r + ½floor_r²,
    ‖θ − θ0‖ to floor_r/‖J‖ and the gap to floor_r. σ(J_t) and the linearized
    quantities come from eigensolvers and the closed form, exact to rounding.
    """
    t = sim["t"]
    if g is None or not applicable:
        return tuple(Check(c, s, False, None, None, None, estimate) for c, s in STATEMENTS.items())
    one, zero = np.ones_like(t), np.zeros_like(t)
    curves = bound_curves(g, t)
    loss_floor = np.sqrt(2 * sim["loss"]) * floor_r + 0.5 * floor_r**2
    parts = {
        "C1": [(sim["loss"], curves.loss, loss_floor)],
        "C2": [(sim["param_dist"], g.radius_R * one, floor_r / g.jacobian_norm_upper * one)],
        "C3": [
            (g.sigma_min_lower * one, sim["sigma_min_t"], zero),
            (sim["jacobian_norm_t"], g.jacobian_norm_upper * one, zero),
        ],
        "C4": [
            (sim["loss_lin"], curves.loss_lin, zero),
            (sim["param_dist_lin"], g.lin_radius * one, zero),
        ],
        "C5": [(sim["gap"], curves.gap, floor_r * one)],
    }
    checks = []
    for cid, triples in parts.items():
        measured, bound, floor = ([part[i] for part in triples] for i in range(3))
        checks.append(_ratio_check(cid, STATEMENTS[cid], t, measured, bound, floor, True, estimate))
    return tuple(checks)
