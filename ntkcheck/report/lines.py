"""The certify report as labelled lines: one source for the text, rich and markdown views.

Every number here is a THEORY.md quantity; the words come from ``words``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._version import __version__
from ..run.measure import Estimate
from ..run.result import CertifyResult
from ..theory.certificate import Status
from .words import (
    VERDICT,
    certificate_advice,
    certificate_message,
    describe_interval,
    full_rank_reason,
    num,
)


@dataclass(frozen=True)
class Line:
    """One row of the report: a short label (may be empty) and its text."""

    label: str
    text: str
    kind: str = ""  # "title", "verdict", "guarantee" — for styling only


#: How the report names the β bounds of ``BetaSummary.bounds``.
BOUND_LABELS = {"frobenius": "Frobenius", "operator": "operator", "lecture": "lecture ‖X‖_F²"}


def _spectrum_note(e: Estimate) -> str:
    sp = e.spectrum
    if sp.method == "dense":
        return "dense eigvalsh of K0 = J0 J0ᵀ"
    on = "K0" if sp.operator == "explicit" else "v ↦ J0(J0ᵀv), K0 never formed"
    return (
        f"Lanczos on {on}: {sp.n_matvec:,} products, relative error ≤ "
        f"{num(sp.relative_error_bound, 2)}"
    )


def report_lines(r: CertifyResult) -> list[Line]:
    """The lines of one certificate report."""
    p, e, c = r.problem, r.estimate, r.certificate
    origin = " (built-in example; `ntkcheck init` writes it)" if r.builtin else f" ({r.spec})"
    out = [Line("", f"ntkcheck {__version__} · {r.name}{origin}", "title")]
    if r.overrides:
        given = ", ".join(f"{k}={v}" for k, v in r.overrides.items())
        out.append(Line("overrides", f"{given} (from the command line)"))
    init = f"{p.init} init (f_θ0 ≡ 0)" if p.f0_zero else f"{p.init} init"
    if p.centered:
        init += ", centered (trains γ(f_θ − f_θ0))"
    out += [
        Line(
            "problem",
            f"{p.head}, n = {p.n:,} (P = {p.params:,}), {p.tail}",
        ),
        Line("", f"{init}, γ = {p.gamma:g}"),
        Line("data", p.data),
        Line(
            "spectrum",
            f"σ_min(J0) = {num(e.sigma_min)}   σ_max(J0) = {num(e.sigma_max)}   "
            f"κ = {num(e.condition_number)}   ({_spectrum_note(e)})",
        ),
    ]
    if not e.full_rank.holds:
        out.append(Line("", f"(H2) fails: {full_rank_reason(e.full_rank)}"))
    if p.f0_zero or p.centered:
        why = "f_θ0 ≡ 0" if p.f0_zero else "centered model"
        out.append(Line("loss", f"L0 = {num(e.loss0)} (= ½‖y‖², {why})"))
    else:
        out.append(
            Line("loss", f"L0 = {num(e.loss0)} (= ½‖γ f_θ0 − y‖², ‖f_θ0(X)‖ = {num(e.f0_norm)})")
        )
    m = e.measurement
    named = ", ".join(f"{BOUND_LABELS.get(k, k)} {num(v)}" for k, v in m.beta.bounds.items())
    bounds = f"{named}; sup|σ''| = {num(m.beta.lipschitz_derivative, 4)}"
    if math.isinf(e.beta):
        out.append(Line("β", f"∞  sup|σ''| = ∞ for {p.activation}: σ' is not Lipschitz"))
    elif m.beta_method == "local":
        out.append(Line("β", f"{num(e.beta)}  local estimate β_loc at θ0, not a bound ({bounds})"))
    else:
        out.append(Line("β", f"{num(e.beta)}  {m.beta_method}, {e.beta_bound} bound ({bounds})"))
    info = m.beta_local_info
    if info is not None:
        analytic = m.beta.beta
        ratio = f", {num(info.value / analytic)}× the analytic bound" if analytic > 0 else ""
        state = "converged" if info.converged else "NOT converged"
        out.append(
            Line(
                "",
                f"β_loc = {num(info.value)} (neuron {info.neuron}{ratio}; {info.restarts} starts, "
                f"{info.iterations} sweeps, {state}, spread of local maxima {num(info.spread)})",
            )
        )
    verdict = VERDICT[c.status]
    if c.status is Status.not_applicable:
        out.append(Line("verdict", verdict, "verdict"))
        out.append(Line("", certificate_message(c, p.activation, e.full_rank)))
        return out
    relation = ">" if c.certified else "≤"
    out.append(
        Line(
            "verdict",
            f"{verdict}   γ = {c.gamma:g} {relation} γ* = {num(c.gamma_star)}   "
            f"margin {num(c.margin)}×" + ("" if c.rigorous else "   (estimate: local β)"),
            "verdict",
        )
    )
    out.append(
        Line(
            "",
            f"γ* = 4√2·β·(2σ_max+σ_min)·√L0/σ_min³   (lecture's Λ = βσ_max√L0/σ_min³ = "
            f"{num(c.lecture_lambda)}; heuristic n^{{3/2}}/N = {num(p.heuristic_gamma)})",
        )
    )
    out.append(Line("γ set", f"certified for γ ∈ {describe_interval(c.gamma_interval)}"))
    advice = certificate_advice(c)
    if advice:
        out.append(Line("", "; ".join(advice)))
    g = c.guarantees
    if g is not None:
        out.append(Line("guarantees", "for all t ≥ 0 (THEORY.md §5)"))
        out += [
            Line("", f"C1 loss ≤ {num(g.loss0)}·exp(−{num(g.loss_rate)}·t)", "guarantee"),
            Line(
                "",
                f"C2 parameters move at most R = {num(g.radius_R)}, inside the ball "
                f"B = {num(g.radius_B)} where J stays well-conditioned",
                "guarantee",
            ),
            Line(
                "",
                f"C3 σ_min(J_t) ≥ {num(g.sigma_min_lower)}, ‖J_t‖ ≤ {num(g.jacobian_norm_upper)}",
                "guarantee",
            ),
            Line(
                "",
                f"C4 linearized model: loss ≤ {num(g.loss0)}·exp(−{num(g.lin_loss_rate)}·t), "
                f"moves at most {num(g.lin_radius)}",
                "guarantee",
            ),
            Line(
                "",
                f"C5 ‖γf_t − γf_t^lin‖ ≤ {num(g.gap_D)}·exp(−{num(g.gap_rate)}·t) "
                "on the training set",
                "guarantee",
            ),
        ]
    return out


def timing_line(r: CertifyResult) -> Line:
    """Wall time of the stages."""
    t = r.timing
    parts = ", ".join(f"{k} {v:.3g} s" for k, v in t.items() if k != "total")
    return Line("time", f"{t.get('total', 0.0):.3g} s ({parts})")
