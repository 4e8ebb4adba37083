"""The simulate report: checks C1–C5 as bound vs measured, laziness measures, curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..run.result import CertifyResult
from ..theory.guarantees import bound_curves
from .lines import Line
from .words import THEOREM_NAME, num

if TYPE_CHECKING:
    from ..flow.checks import Check
    from ..flow.gd import GdSimulation
    from ..flow.simulate import Simulation
    from ..theory.gd import GdCertificate


METHOD_NAME = {"expint": "exponential RK43ZB", "dop853": "DOP853"}


def _curve_rows(sim: Simulation, r: CertifyResult, rows: int = 7) -> list[tuple[str, ...]]:
    import numpy as np

    g = r.certificate.guarantees
    header = ("t", "loss", "C1 bound", "loss_lin", "C4 bound", "gap", "C5 bound", "‖θ−θ0‖")
    out: list[tuple[str, ...]] = [header]
    k_all = np.unique(np.round(np.linspace(0, len(sim.t) - 1, rows)).astype(int))
    for k in k_all:
        t = sim.t[k]
        if g is not None:
            c = bound_curves(g, t)
            bounds = (float(c.loss), float(c.loss_lin), float(c.gap))
        else:
            bounds = (float("nan"),) * 3
        low_r = np.sqrt(2 * sim.loss[k]) < sim.error_floor
        low_gap = sim.gap[k] < sim.error_floor and k > 0
        out.append(
            (
                num(t),
                num(sim.loss[k]) + ("*" if low_r else " "),
                num(bounds[0]),
                num(sim.loss_lin[k]),
                num(bounds[1]),
                num(sim.gap[k]) + ("*" if low_gap else " "),
                num(bounds[2]),
                num(sim.param_dist[k]),
            )
        )
    return out


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def _check_line(c: Check, unit: str, floor: str) -> Line:
    """One check: holds / VIOLATED / unresolved, its worst ratio and where (``unit``: t or
    step), ``floor`` naming what limits the resolution."""
    tag = " (estimate)" if c.estimate else ""
    if c.holds is None:
        mark, kind = "unresolved", "check-ok"
        worst = f"its bound never rose above {floor}: not checked"
    else:
        mark = "holds" if c.holds else "VIOLATED"
        kind = "check-ok" if c.holds else "check-bad"
        where = f"{unit} {c.worst_t:,.0f}" if unit == "step" else f"{unit} = {num(c.worst_t)}"
        worst = (
            f"worst measured/bound {num(c.worst_ratio)} at {where}"
            if c.worst_ratio is not None and c.worst_t is not None
            else f"violated below the resolution of {floor}"
        )
    final = f", final {num(c.final_ratio)}" if c.final_ratio is not None else ""
    return Line("", f"  {c.id} {mark}{tag}: {c.statement} — {worst}{final}", kind)


def _percent(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def class_lines(sim: Simulation | GdSimulation, at: list[str]) -> list[Line]:
    """With class labels (``flow.classes``): the training accuracy of the network and of
    its linearization, first → last checkpoint, and their prediction agreement (last,
    and the least with where: ``at[k]`` names checkpoint k). Empty without labels."""
    if sim.accuracy is None or sim.accuracy_linear is None or sim.agreement is None:
        return []
    if not len(sim.accuracy):
        return []
    acc, lin, agree = sim.accuracy, sim.accuracy_linear, sim.agreement
    k = min(range(len(agree)), key=lambda i: (float(agree[i]), i))
    return [
        Line(
            "accuracy",
            f"training accuracy: network {_percent(float(acc[0]))} → {_percent(float(acc[-1]))}, "
            f"linearized {_percent(float(lin[0]))} → {_percent(float(lin[-1]))}; their predicted "
            f"classes agree on {_percent(float(agree[-1]))} of the points at the end "
            f"(least {_percent(float(agree[k]))} at {at[k]})",
        )
    ]


def gd_simulation_lines(sim: GdSimulation, gd: GdCertificate) -> list[Line]:
    """Gradient descent as configured (THEORY.md §13): the run, G1–G5, laziness, curves."""
    import numpy as np

    out = [
        Line(
            "simulation",
            f"gradient descent, {sim.steps_done:,} of {sim.steps:,} steps at η = {num(sim.eta)} "
            f"on ½‖r‖² (ηγ²σ_max² = {num(sim.stability)}), {len(sim.step)} checkpoints; "
            "one forward pass and one vjp per step, the linearized GD in closed form",
        ),
        Line("", f"rounding floor on ‖r_k‖ ≈ {num(sim.error_floor)}; {sim.message}"),
    ]
    head = "GD path-length theorem (THEORY.md §13) (deciding)"
    if not gd.certified or not any(c.applicable for c in sim.checks):
        why = (
            "the certificate does not hold, so no bound is promised"
            if not gd.certified
            else "the run did not complete"
        )
        out.append(Line("checks", f"{head}: not applicable: {why}"))
    else:
        out.append(Line("checks", f"{head}:"))
        out += [_check_line(c, "step", "the rounding floor") for c in sim.checks]
    out.append(
        Line(
            "laziness",
            f"max ‖K_k−K0‖_F/‖K0‖_F = {num(float(np.max(sim.kernel_change)))}, "
            f"max ‖θ_k−θ0‖/‖θ0‖ = {num(float(np.max(sim.weight_change)))}, "
            f"max ‖r_k − s_k‖ = {num(float(np.max(sim.gap)))}, "
            f"path length {num(float(sim.path_length[-1]))}",
        )
    )
    out.append(
        Line(
            "",
            f"min σ_min(J_k) = {num(float(np.min(sim.sigma_min_t)))}, "
            f"max ‖J_k‖ = {num(float(np.max(sim.jacobian_norm_t)))}",
        )
    )
    out += class_lines(sim, [f"step {int(k):,}" for k in sim.step])
    g = gd.guarantees
    header = ("step", "loss", "G1 bound", "loss_lin", "‖r−s‖", "G5 bound", "‖θ−θ0‖")
    rows: list[tuple[str, ...]] = [header]
    picks = np.unique(np.round(np.linspace(0, len(sim.step) - 1, 7)).astype(int))
    for i in picks:
        k = int(sim.step[i])
        rows.append(
            (
                f"{k:,}",
                num(float(sim.loss[i])),
                num(g.loss_bound(k)) if g is not None else "—",
                num(float(sim.loss_lin[i])),
                num(float(sim.gap[i])),
                num(g.deviation_bound(k)) if g is not None else "—",
                num(float(sim.param_dist[i])),
            )
        )
    table = _aligned(rows)
    out.append(Line("curves", table[0], "table"))
    out += [Line("", row, "table") for row in table[1:]]
    return out


def simulation_lines(r: CertifyResult) -> list[Line]:
    """Lines describing ``r.simulation`` (empty when there is none)."""
    sim = r.simulation
    if sim is None:
        return []
    import numpy as np  # only with a simulation (numpy is loaded then)

    from ..flow import gd

    if isinstance(sim, gd.GdSimulation):
        assert r.gd is not None
        return gd_simulation_lines(sim, r.gd)

    horizon = "auto: the C1 bound reaches loss_tol·L0" if sim.horizon_auto else "from the spec"
    out = [
        Line(
            "simulation",
            f"gradient flow to T = {num(sim.horizon)} ({horizon}), {len(sim.t)} points reached; "
            f"{METHOD_NAME.get(sim.method, sim.method)} rtol {sim.rtol:g}, {sim.n_rhs:,} "
            f"right-hand sides, {sim.n_steps:,} steps"
            + (f", {sim.n_linear:,} products with J0/J0ᵀ" if sim.n_linear else "")
            + (f", {sim.n_refactor:,} re-linearizations" if sim.n_refactor else ""),
        ),
        Line("", f"error floor on ‖r_t‖ ≈ {num(sim.error_floor)}; {sim.message}"),
    ]
    for k, (theorem, cert) in enumerate(r.certificates.items()):
        checks = [c for c in sim.checks if c.theorem == theorem.value]
        deciding = " (deciding)" if theorem is r.certificate.theorem else ""
        head = f"{THEOREM_NAME[theorem]}{deciding}"
        label = "checks" if k == 0 else ""
        if not cert.certified or not any(c.applicable for c in checks):
            why = (
                "the certificate does not hold, so no bound is promised"
                if not cert.certified
                else "the flow did not complete"
            )
            out.append(Line(label, f"{head}: not applicable: {why}"))
            continue
        out.append(Line(label, f"{head}:"))
        out += [_check_line(c, "t", "the integrator's error floor") for c in checks]
    out.append(
        Line(
            "laziness",
            f"max ‖K_t−K0‖_F/‖K0‖_F = {num(float(np.max(sim.kernel_change)))}, "
            f"max ‖θ_t−θ0‖/‖θ0‖ = {num(float(np.max(sim.weight_change)))}, "
            f"max gap ‖r_t−r̃_t‖ = {num(float(np.max(sim.gap)))}"
            + (" (below the error floor)" if np.max(sim.gap) < sim.error_floor else ""),
        )
    )
    out.append(
        Line(
            "",
            f"min σ_min(J_t) = {num(float(np.min(sim.sigma_min_t)))}, "
            f"max ‖J_t‖ = {num(float(np.max(sim.jacobian_norm_t)))}, "
            f"effective β along the path = {num(sim.beta_path)} "
            f"(certificate's β = {num(r.estimate.beta)})",
        )
    )
    out += class_lines(sim, [f"t = {num(float(t))}" for t in sim.t])
    rows = _aligned(_curve_rows(sim, r))
    out.append(Line("curves", rows[0], "table"))
    out += [Line("", row, "table") for row in rows[1:]]
    if any("*" in row for row in rows[1:]):
        out.append(
            Line("", f"* below the integrator's error floor ({num(sim.error_floor)} on ‖r_t‖)")
        )
    return out
