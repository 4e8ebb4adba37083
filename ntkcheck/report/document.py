"""The single JSON serializer: results → the documented key paths (∞ and NaN → null).

Every JSON that ntkcheck writes (``--format json``, sweeps) goes through here.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..flow import CLASS_ARRAYS, GD_SIMULATION_ARRAYS, SIMULATION_ARRAYS
from ..run.result import CertifyResult, Entry, SpecFailure
from ..theory.certificate import Certificate, Theorem
from ..theory.gd import GdCertificate
from .words import certificate_message, full_rank_reason, gd_message

if TYPE_CHECKING:
    from ..flow.gd import GdSimulation
    from ..flow.simulate import Simulation
    from ..run.sweep import Outcome, Plan

SCHEMA_VERSION = 2


def finite_or_none(obj: Any) -> Any:
    """Replace ±∞ and NaN by None recursively (JSON has no infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(v) for v in obj]
    return obj


def _checks(sim: Simulation | GdSimulation) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "applicable": c.applicable,
            "holds": c.holds,
            "worst_ratio": c.worst_ratio,
            "worst_t": c.worst_t,
            "estimate": c.estimate,
            "final_ratio": c.final_ratio,
            "statement": c.statement,
            "theorem": c.theorem,
        }
        for c in sim.checks
    ]


def _class_arrays(sim: Simulation | GdSimulation) -> dict[str, Any]:
    """``accuracy``, ``accuracy_linear``, ``agreement`` at the checkpoints: only with class
    labels (``flow.classes``)."""
    if sim.accuracy is None:
        return {}
    return {k: getattr(sim, k).tolist() for k in CLASS_ARRAYS}


def gd_simulation_dict(sim: GdSimulation) -> dict[str, Any]:
    """JSON ``simulation`` of gradient descent (THEORY.md §13): ``step`` (each checkpoint's
    step index) beside ``loss`` (½‖r_k‖²) and the other arrays, checks G1–G5 (``worst_t``
    is a step), the status and the step's constants."""
    return {
        "method": "gd",
        **{k: getattr(sim, k).tolist() for k in GD_SIMULATION_ARRAYS},
        **_class_arrays(sim),
        "checks": _checks(sim),
        "status": sim.status,
        "message": sim.message,
        "eta": sim.eta,
        "steps": sim.steps,
        "steps_done": sim.steps_done,
        "stability": sim.stability,
        "contraction": sim.contraction,
        "error_floor": sim.error_floor,
    }


def simulation_dict(sim: Simulation | GdSimulation) -> dict[str, Any]:
    """JSON ``simulation``: the arrays at the checkpoints, the checks and the run's counters."""
    from ..flow import gd  # numpy: loaded already, the simulation ran

    if isinstance(sim, gd.GdSimulation):
        return gd_simulation_dict(sim)
    return {
        **{k: getattr(sim, k).tolist() for k in SIMULATION_ARRAYS},
        **_class_arrays(sim),
        "beta_path": sim.beta_path,
        "checks": _checks(sim),
        "horizon": sim.horizon,
        "horizon_auto": sim.horizon_auto,
        "status": sim.status,
        "message": sim.message,
        "method": sim.method,
        "n_rhs": sim.n_rhs,
        "n_linear": sim.n_linear,
        "n_refactor": sim.n_refactor,
        "n_steps": sim.n_steps,
        "rtol": sim.rtol,
        "atol": sim.atol,
        "error_floor": sim.error_floor,
        "error_floor_theta": sim.error_floor_theta,
    }


def certificate_dict(r: CertifyResult, cert: Certificate) -> dict[str, Any]:
    """JSON ``certificate`` (the deciding theorem) and each of ``certificates``: same keys."""
    return {
        "theorem": cert.theorem.value,
        "gamma": cert.gamma,
        "gamma_star": cert.gamma_star,
        "margin": cert.margin,
        "certified": cert.certified,
        "rigorous": cert.rigorous,
        "status": cert.status.value,
        "gamma_interval": [list(iv) for iv in cert.gamma_interval],
        "radius_R": cert.radius_R,
        "radius_B": cert.radius_B,
        "message": certificate_message(cert, r.problem.activation, r.estimate),
        "lecture_lambda": cert.lecture_lambda,
        "heuristic_gamma": r.problem.heuristic_gamma,
        "guarantees": asdict(cert.guarantees) if cert.guarantees else None,
    }


def gd_dict(r: CertifyResult, cert: GdCertificate) -> dict[str, Any]:
    """JSON ``certificates.gd`` (THEORY.md §13): the other certificates' keys and GD's own."""
    g = cert.guarantees
    return {
        "theorem": cert.theorem.value,
        "gamma": cert.gamma,
        "certified": cert.certified,
        "rigorous": cert.rigorous,
        "status": cert.status.value,
        "reason": cert.reason.value or None,
        "gamma_interval": [list(iv) for iv in cert.gamma_interval],
        "radius_R": cert.radius_R,
        "radius_B": cert.radius_B,
        "message": gd_message(cert, r.problem.activation, r.estimate, r.certificate),
        "lr": cert.lr,
        "loss": cert.loss,
        "eta": cert.eta,
        "steps": cert.steps,
        "stability": cert.stability,
        "a": cert.descent,
        "alpha": cert.alpha,
        "Sigma": cert.Sigma,
        "rate": cert.rate,
        "loss_bound": cert.loss_bound,
        "lr_max": cert.lr_max,
        "deviation_bound": cert.deviation_bound,
        "guarantees": None
        if g is None
        else {**{k: v for k, v in asdict(g).items() if k != "descent"}, "a": g.descent},
    }


def result_dict(r: CertifyResult) -> dict[str, Any]:
    """JSON for one result: ``spec``, ``name``, ``problem``, ``estimate``, ``certificate``, …"""
    est, m = r.estimate, r.estimate.measurement
    estimate_d: dict[str, Any] = {
        "sigma_min": est.sigma_min,
        "sigma_max": est.sigma_max,
        "sigma_min_lower": est.sigma_min_lower,
        "sigma_max_upper": est.sigma_max_upper,
        "sigma_bounds": {
            "method": m.bounds.method,
            "rigorous": m.bounds.rigorous,
            "gram_error": m.bounds.gram_error,
        },
        "loss0": est.loss0,
        "f0_norm": m.f0_norm,
        "beta": est.beta,
        "beta_method": m.beta_method,
        "beta_bound": est.beta_bound,
        "beta_bounds": dict(m.beta.bounds),
        "spectrum_method": est.spectrum.method,
        "spectrum": {
            "operator": est.spectrum.operator,
            "n_matvec": est.spectrum.n_matvec,
            "residual_min": est.spectrum.residual_min,
            "residual_max": est.spectrum.residual_max,
            "relative_error_bound": est.spectrum.relative_error_bound,
        },
        "condition_number": est.condition_number,
        "eig_min": est.spectrum.eig_min,
        "eig_max": est.spectrum.eig_max,
        "full_rank": m.full_rank.holds,
        "full_rank_reason": full_rank_reason(m.full_rank, m.family) or None,
        "lipschitz_derivative": m.beta.lipschitz_derivative,
        "drift_bound": m.drift.kind,
    }
    if m.beta_local is not None:
        estimate_d["beta_local"] = m.beta_local
        if m.beta_local_info is not None:
            estimate_d["beta_local_info"] = m.beta_local_info.to_dict()
    problem = r.problem.to_dict()
    certificates = {t.value: certificate_dict(r, c) for t, c in r.certificates.items()}
    if r.gd is not None:
        certificates["gd"] = gd_dict(r, r.gd)
    w = r.would_certify
    advice = (
        None
        if w is None
        # "width": the JSON key of a larger model that would certify (the README's contract)
        else {"gamma": w.gamma, "width": w.size, "lr": w.lr, "confirmed": w.confirmed}
    )
    out: dict[str, Any] = {
        "spec": r.spec,
        "name": r.name,
        "overrides": r.overrides,
        "problem": problem,
        "estimate": estimate_d,
        "certificate": {**certificates[r.verdict.theorem.value], "would_certify": advice},
        "certificates": certificates,
    }
    if r.simulation is not None:
        out["simulation"] = simulation_dict(r.simulation)
    out["timing"] = r.timing
    out["threads"] = dict(r.estimate.spectrum.threads)
    return finite_or_none(out)


def entry_dict(e: Entry) -> dict[str, Any]:
    """A result, or a failure as ``{"spec", "error", "line"}``."""
    if isinstance(e, SpecFailure):
        return {"spec": e.spec, "error": e.message, "line": e.line}
    return result_dict(e)


def document(entries: list[Entry]) -> dict[str, Any]:
    """The top-level JSON document: version, schema version, results."""
    return {
        "ntkcheck_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "results": [entry_dict(e) for e in entries],
    }


def validation_document(rows: list[tuple[str, str | None, int | None]]) -> dict[str, Any]:
    """``ntkcheck validate --format json``: one ``{spec, valid, error, line}`` per spec."""
    doc = [{"spec": s, "valid": m is None, "error": m, "line": ln} for s, m, ln in rows]
    return {"ntkcheck_version": __version__, "specs": doc}


# ------------------------------------------------------------------------------ sweeps

#: A sweep row's keys after the grid's (docs/sweep.md): the problem's outputs C (THEORY.md
#: §14), the deciding theorem's status, both theorems' γ* and margins, the measurement at θ0.
SWEEP_KEYS = (
    "seed", "outputs", "status", "gamma", "gamma_star.lecture", "gamma_star.path", "margin.lecture",
    "margin.path", "sigma_min", "sigma_max", "beta", "loss0",
)  # fmt: skip
#: With ``--measure flow``: the simulation in five numbers (``run.sweep.FlowSummary``).
SWEEP_FLOW_KEYS = (
    "flow.kernel_change_max", "flow.weight_change_max", "flow.gap_max", "flow.final_loss",
    "flow.time_to_tol",
)  # fmt: skip
#: With ``train.method: gd`` (THEORY.md §13; null for gradient-flow points).
SWEEP_GD_KEYS = ("gd.certified", "gd.lr_max", "gd.stability", "gd.rate", "gd.loss_bound")
SWEEP_TIMING = ("problem", "estimate", "certify")
#: Row keys that are text or integers (every other non-grid key is a float or null).
_TEXT_KEYS = {
    "outputs": "int", "status": "str", "error": "str", "spec_hash": "str",
    "ntkcheck_version": "str", "gd.certified": "bool",
}  # fmt: skip


def sweep_columns(grid_keys: tuple[str, ...], flow: bool, gd: bool = False) -> tuple[str, ...]:
    """The keys of every row, in order: the grid's keys (but seed and γ, which have
    their own places), the results, ``error``, ``timing.*``, the identity."""
    grid = tuple(k for k in grid_keys if k not in ("seed", "gamma"))
    timing = (*SWEEP_TIMING, *(("simulate",) if flow else ()), "total")
    return (
        *grid,
        *SWEEP_KEYS,
        *(SWEEP_GD_KEYS if gd else ()),
        *(SWEEP_FLOW_KEYS if flow else ()),
        "error",
        *(f"timing.{t}" for t in timing),
        "spec_hash",
        "ntkcheck_version",
    )


def _kind_of_values(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    return "str" if all(isinstance(v, str) for v in values) else "any"


def sweep_column_types(plan: Plan, flow: bool) -> dict[str, str]:
    """Each column's type (``int``, ``float``, ``str``, ``bool``, or ``any`` for a grid
    key of mixed values): what a rows file stores and reads back."""
    grid = {}
    for axis in plan.axes:
        for i, key in enumerate(axis.keys):
            grid[key] = _kind_of_values([v[i] for v in axis.values])
    types = {}
    for col in sweep_columns(plan.grid_keys, flow, plan.gd):
        if col in grid and col not in ("seed", "gamma"):
            types[col] = grid[col]
        else:
            types[col] = "int" if col == "seed" else _TEXT_KEYS.get(col, "float")
    return types


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def sweep_row(
    outcome: Outcome, grid_keys: tuple[str, ...], flow: bool, gd: bool = False
) -> dict[str, Any]:
    """One flat row of a sweep (docs/sweep.md): ∞ and NaN are null; ``gd.*`` when ``gd``."""
    p, e = outcome.point, outcome.entry
    row: dict[str, Any] = dict.fromkeys(sweep_columns(grid_keys, flow, gd))
    row.update((k, v) for k, v in p.values if k not in ("seed", "gamma"))
    row.update(seed=p.seed, gamma=p.gamma, spec_hash=p.spec_hash, ntkcheck_version=__version__)
    if isinstance(e, SpecFailure):
        row.update(status="error", error=_one_line(e.message))
        return row
    lec, path = e.certificates[Theorem.lecture], e.certificates[Theorem.path]
    est = e.estimate
    row.update(
        {
            "outputs": e.problem.outputs,
            "status": e.status.value,
            "gamma": e.certificate.gamma,
            "gamma_star.lecture": lec.gamma_star,
            "gamma_star.path": path.gamma_star,
            "margin.lecture": lec.margin,
            "margin.path": path.margin,
            "sigma_min": est.sigma_min,
            "sigma_max": est.sigma_max,
            "beta": est.beta,
            "loss0": est.loss0,
        }
    )
    if gd and e.gd is not None:  # gd.X is the certificate's attribute X
        row.update({key: getattr(e.gd, key.removeprefix("gd.")) for key in SWEEP_GD_KEYS})
    if flow and outcome.flow is not None:
        row.update({f"flow.{k}": v for k, v in asdict(outcome.flow).items()})
    for key, value in e.timing.items():
        if f"timing.{key}" in row:
            row[f"timing.{key}"] = value
    return finite_or_none(row)


def sweep_document(
    rows: list[dict[str, Any]], fits: list[Any], thresholds: list[Any]
) -> dict[str, Any]:
    """``ntkcheck sweep --format json``: the rows (in grid order), the fits, the lazy thresholds."""
    return finite_or_none(
        {
            "rows": rows,
            "fits": [asdict(f) for f in fits],
            "lazy_thresholds": [asdict(t) for t in thresholds],
        }
    )
