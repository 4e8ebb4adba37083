"""The certify report as labelled lines: one source for the text, rich and markdown views.

Every number here is a THEORY.md quantity; the words come from ``words``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._version import __version__
from ..run.result import CertifyResult
from ..theory.certificate import Certificate, Status, Theorem
from ..theory.drift import DriftKind
from ..theory.gd import GdCertificate
from .words import (
    FLIP_ASSUMPTION,
    LOSS_NAMES,
    STAR,
    THEOREM_NAME,
    VERDICT,
    certificate_advice,
    certificate_message,
    describe_interval,
    family_words,
    full_rank_reason,
    gd_advice,
    gd_verdict,
    lr_text,
    num,
    unproved,
    would_certify_text,
)

if TYPE_CHECKING:
    from ..run.measure import Estimate, Measurement


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


def _bounds_note(e: Estimate) -> str:
    """σ_min_lower and σ_max_upper: what the certificate relies on (THEORY.md §11)."""
    b = e.measurement.bounds
    how = {
        "dense": "eigenvalues ∓ the rounding bounds of forming K0 and of syevr",
        "dense+cholesky": "λ_min's bound proved by a Cholesky factorization of K0 − τI",
        "cholesky": "Lanczos values proved by Cholesky factorizations of K0 ∓ τI",
        "lanczos": "Lanczos estimates, not proven: the certificate is an estimate",
        "unproved": "the eigenvalues, not proven (the model gives no bound on the rounding "
        "of K0): the certificate is an estimate",
    }[b.method]
    lo, hi = num(b.sigma_min_lower, 6), num(b.sigma_max_upper, 6)
    text = f"certificate uses σ_min ≥ {lo}, σ_max ≤ {hi} ({how})"
    gap = (e.sigma_min - b.sigma_min_lower) / e.sigma_min if e.sigma_min > 0 else 0.0
    if b.rigorous and gap > 1e-6:
        text += f"; K0 is ill-conditioned: the bound is {num(gap, 2)} below σ_min (relative)"
    return text


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
            f"{p.head}, n = {p.n:,} (P = {p.params:,}), {p.tail}"
            if p.outputs == 1
            else f"{p.head}, n = {p.n:,} points × C = {p.outputs} outputs "
            f"(m = {p.rows:,} rows; P = {p.params:,}), {p.tail}",
        ),
        Line("", f"{init}, γ = {p.gamma:g}"),
        Line("data", p.data),
        Line(
            "spectrum",
            f"σ_min(J0) = {num(e.sigma_min)}   σ_max(J0) = {num(e.sigma_max)}   "
            f"κ = {num(e.condition_number)}   ({_spectrum_note(e)})",
        ),
    ]
    out.append(Line("", _bounds_note(e)))
    if not e.full_rank.holds:
        out.append(Line("", f"(H2) fails: {full_rank_reason(e.full_rank, e.measurement.family)}"))
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
        why = f"∞  sup|σ''| = ∞ for {p.activation}: σ' is not Lipschitz"
        if m.drift.kind is DriftKind.flip_count:
            why += "; the drift bound counts activation flips instead (THEORY.md §10)"
        out.append(Line("β", why))
    elif m.beta_method == "local":
        # a model given as code has no analytic bound to list beside it (THEORY.md §10)
        known = f" ({bounds})" if m.beta.bounds else ""
        out.append(Line("β", f"{num(e.beta)}  local estimate β_loc at θ0, not a bound{known}"))
    else:
        out.append(Line("β", f"{num(e.beta)}  {m.beta_method}, {e.beta_bound} bound ({bounds})"))
    info = m.beta_local_info
    if info is not None:
        analytic = m.beta.beta
        finite = 0 < analytic < math.inf
        ratio = f", {num(info.value / analytic)}× the analytic bound" if finite else ""
        rho = r.certificates.get(Theorem.path, c).radius_B
        if m.drift.kind is DriftKind.ball_lipschitz and 0 < rho < math.inf and info.value > 0:
            beta_rho = 0.5 * e.sigma_min_lower / rho  # the rigorous β on the ball of radius ρ*
            ratio += f"; β(ρ*) = {num(beta_rho)} = {num(beta_rho / info.value)}× β_loc"
        state = "converged" if info.converged else "NOT converged"
        where = info.where
        out.append(
            Line(
                "",
                f"β_loc = {num(info.value)} ({where}{ratio}; {info.restarts} starts, "
                f"{info.iterations} sweeps, {state}, spread of local maxima {num(info.spread)})",
            )
        )
    lecture = r.certificates.get(Theorem.lecture, c)
    verdict = VERDICT[c.status]
    if r.gd is not None:
        out += gd_lines(r.gd, e, c.certified)
    if c.status is Status.not_applicable:
        if r.gd is None:
            out.append(Line("verdict", verdict, "verdict"))
        out.append(Line("", certificate_message(c, p.activation, e)))
        return out
    relation = ">" if c.certified else "≤"
    tag = "" if c.rigorous else "   (estimate: " + (unproved(e) or "not proven") + ")"
    label, kind = ("flow", "") if r.gd is not None else ("verdict", "verdict")
    limit = " (gradient flow, the η → 0 limit)" if r.gd is not None else ""
    out.append(
        Line(
            label,
            f"{verdict}   γ = {c.gamma:g} {relation} {STAR[c.theorem]} = {num(c.gamma_star)}   "
            f"margin {num(c.margin)}×   by the {THEOREM_NAME[c.theorem]}{limit}{tag}",
            kind,
        )
    )
    out.append(Line("", _formula(c, m.drift.kind)))
    heuristic = family_words(m.family).heuristic
    if c.theorem is not Theorem.lecture:
        state = "certified" if lecture.certified else "not certified"
        out.append(
            Line(
                "lecture",
                f"γ* = {num(lecture.gamma_star)}, margin {num(lecture.margin)}×: {state}   "
                f"(γ*/γ*_p = {num(_ratio(lecture.gamma_star, c.gamma_star))}; {_lam(m)} = "
                f"{num(c.lecture_lambda)}; heuristic {heuristic} = {num(p.heuristic_gamma)})",
            )
        )
    else:
        out.append(
            Line(
                "",
                f"(lecture's {_lam(m)} = {num(c.lecture_lambda)}; heuristic "
                f"{heuristic} = {num(p.heuristic_gamma)})",
            )
        )
    out.append(Line("γ set", f"certified for γ ∈ {describe_interval(c.gamma_interval)}"))
    advice = certificate_advice(c, m.family)
    if advice:
        out.append(Line("", "; ".join(advice)))
    if r.would_certify is not None:
        out.append(Line("to certify", would_certify_text(r.would_certify)))
    if m.drift.kind is DriftKind.flip_count:
        out.append(Line("", FLIP_ASSUMPTION))
    g = c.guarantees
    if g is not None:
        section = "§8–§9" if g.path_length else "§5"
        out.append(Line("guarantees", f"for all t ≥ 0 (THEORY.md {section})"))
        c2 = (
            f"C2 parameters move at most 2(‖r0‖ − ‖r_t‖)/(γσ_min) ≤ R = {num(g.radius_R)}, "
            if g.path_length
            else f"C2 parameters move at most R = {num(g.radius_R)}, "
        )
        out += [
            Line("", f"C1 loss ≤ {num(g.loss0)}·exp(−{num(g.loss_rate)}·t)", "guarantee"),
            Line(
                "",
                c2 + f"inside the ball B = {num(g.radius_B)} where J stays well-conditioned",
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


def gd_lines(c: GdCertificate, e: Estimate, flow_certified: bool) -> list[Line]:
    """The GD certificate (THEORY.md §13): verdict in the user's units, the step's
    constants, the certified γ set at this lr and G1–G5 when certified."""
    tag = "" if c.rigorous else "   (estimate: " + (unproved(e) or "not proven") + ")"
    if c.status is Status.not_applicable:  # the flow certificate's lines say why
        return [Line("verdict", f"{VERDICT[c.status]}   {lr_text(c)}", "verdict")]
    out = [
        Line(
            "verdict",
            f"{VERDICT[c.status]}   {gd_verdict(c)}   by the GD path-length theorem "
            f"(THEORY.md §13){tag}",
            "verdict",
        )
    ]
    out.append(
        Line(
            "gd",
            f"η = {num(c.eta)} on ½‖r‖² ({LOSS_NAMES[c.loss]}: η = c·lr), {c.steps:,} steps; "
            f"stability ηγ²σ_max² = {num(c.stability)} (< 2 needed)",
        )
    )
    if c.certified:
        out.append(
            Line(
                "",
                f"ball ρ = {num(c.radius_R)} (smallest ρ with R_gd(ρ) = 2‖r0‖/(aγα) ≤ ρ; ρ* = "
                f"{num(c.radius_B)}): a = {num(c.descent)}, α = {num(c.alpha)}, Σ = "
                f"{num(c.Sigma)}, rate 1 − aηγ²α² = {num(c.rate, 6)} per step",
            )
        )
    else:
        out.append(Line("", gd_advice(c, flow_certified, e.measurement.family)))
    out.append(Line("γ set", f"at this lr certified for γ ∈ {describe_interval(c.gamma_interval)}"))
    g = c.guarantees
    if g is not None:
        out += [
            Line("guarantees", "for every step k ≥ 0 (THEORY.md §13)"),
            Line(
                "",
                f"G1 ‖r_(k+1)‖² ≤ ‖r_k‖² − (a/η)‖Δ_k‖², so loss ≤ {num(g.loss0)}·"
                f"{num(g.rate, 6)}^k ({num(c.loss_bound)} after {c.steps:,} steps)",
                "guarantee",
            ),
            Line(
                "",
                f"G2 parameters move at most 2(‖r0‖ − ‖r_k‖)/(aγα) ≤ R_gd = {num(g.radius_gd)}",
                "guarantee",
            ),
            Line(
                "", f"G3 σ_min(J_k) ≥ α = {num(g.alpha)}, ‖J_k‖ ≤ Σ = {num(g.Sigma)}", "guarantee"
            ),
            Line(
                "",
                f"G5 ‖r_k − s_k‖ ≤ {num(c.deviation_bound)} at step {c.steps:,} against GD on "
                f"the linearized network (q = {num(g.q, 6)}, λ = {num(g.lam, 6)})",
                "guarantee",
            ),
        ]
    return out


def _lam(m: Measurement) -> str:
    if m.drift.kind is DriftKind.lipschitz:
        return "Λ = βσ_max√L0/σ_min³"
    return "Λ = βσ_max√L0/σ_min³ with β = σ_min/(2ρ*)"


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


def _formula(c: Certificate, drift: DriftKind) -> str:
    """The certificate's γ* as a formula (THEORY.md §4, §8, §9)."""
    if drift is DriftKind.lipschitz:
        if c.theorem is Theorem.path:
            return "γ*_p = 4√2·β·√L0/σ_min² = γ*/(2κ+1)   (R_p = 2‖r0‖/(γσ_min) < B = σ_min/(2β))"
        return "γ* = 4√2·β·(2σ_max+σ_min)·√L0/σ_min³"
    name = drift.label
    radius = (
        "R_p = 2‖r0‖/(γσ_min)" if c.theorem is Theorem.path else "R = (4σ_max+2σ_min)‖r0‖/(γσ_min²)"
    )
    return (
        f"{STAR[c.theorem]}: {radius} < ρ* = {num(c.radius_B)}, the radius where the "
        f"{name} drift bound h(ρ) reaches σ_min/2 (THEORY.md §8, §10)"
    )


def timing_line(r: CertifyResult) -> Line:
    """Wall time of the stages."""
    t = r.timing
    parts = ", ".join(f"{k} {v:.3g} s" for k, v in t.items() if k != "total")
    threads = dict(r.estimate.spectrum.threads)
    if r.simulation is not None and "threads" in r.simulation.timing:
        threads["simulate"] = int(r.simulation.timing["threads"])
    names = {"gram": "Gram", "eigen": "eigensolver", "simulate": "simulate"}
    used = ", ".join(f"{names.get(k, k)} {v}" for k, v in threads.items())
    tail = f"; BLAS threads: {used}" if used else ""
    return Line("time", f"{t.get('total', 0.0):.3g} s ({parts}){tail}")
