"""Reason codes and numbers → sentences: the only place that names spec keys or CLI flags.

The mathematics returns statuses, codes and numbers; the report and the JSON
``message`` fields say them in words through these functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..models.fields import FamilyWords
from ..models.registry import family_spec
from ..theory.certificate import Certificate, Interval, Reason, Status, Theorem
from ..theory.gd import GdCertificate, GdReason

if TYPE_CHECKING:
    from ..run.advice import WouldCertify
    from ..run.measure import Estimate, FullRank

EPS = 2.0**-52  # float64 machine epsilon (the rank tolerance n·ε·λ_max)

VERDICT = {
    Status.certified: "CERTIFIED",
    Status.not_certified: "NOT CERTIFIED",
    Status.not_applicable: "NOT APPLICABLE",
}


def num(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; ∞ for infinity."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    mag = abs(x)
    if 1e-3 <= mag < 1e5:
        decimals = max(0, digits - 1 - math.floor(math.log10(mag)))
        return f"{x:.{decimals}f}"
    return f"{x:.{digits - 1}e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def _fmt(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x:.4g}"


def describe_interval(intervals: tuple[Interval, ...]) -> str:
    """``(γ_lo, ∞)`` / ``(γ_lo, γ_hi)`` / ``∅`` as text."""
    if not intervals:
        return "∅"
    return " ∪ ".join(f"({_fmt(lo)}, {_fmt(hi)})" for lo, hi in intervals)


def family_words(family: str) -> FamilyWords:
    """How the advice names the model of ``family`` (its registry entry's words)."""
    return family_spec(family).words


def _rows(d: Mapping[str, Any]) -> str:
    """``n = 64 points`` (one output) or ``n·C = 5,000 rows (500 points × 10 outputs)``."""
    if "outputs" not in d:
        return f"n = {d['n']:,} points"
    return f"n·C = {d['n']:,} rows ({d['points']:,} points × {d['outputs']} outputs)"


def full_rank_reason(fr: FullRank, family: str) -> str:
    """Why (H2) fails, and the fix in the words of the model's ``family``; empty when it
    holds. With C > 1 outputs (``fr.data`` has ``outputs``) the Gram has m = n·C rows
    (THEORY.md §14) and the sentences say so; with one output they are unchanged."""
    d = fr.data
    if fr.holds:
        return ""
    several = "outputs" in d
    if fr.code == "underparametrized":
        what = (
            f"the Gram K0 ({d['n']:,} × {d['n']:,}) has more rows than parameters"
            if several
            else "J0 has more rows than columns"
        )
        return (
            f"P = {d['params']:,} parameters < {_rows(d)}: {what}, so σ_min = 0; "
            f"{family_words(family).underparametrized}"
        )
    if fr.code == "repeated_inputs":
        rows = (
            f"J0 has {d['outputs']} pairs of equal rows (one per output)"
            if several
            else "J0 has two equal rows"
        )
        return (
            f"inputs {d['i']} and {d['j']} are identical: {rows}, so σ_min = 0; "
            "remove repeated points"
        )
    if fr.code == "zero_input":
        rows = f"its {d['outputs']} rows of J0 vanish" if several else "its row of J0 vanishes"
        return f"input {d['i']} is zero: {rows}, so σ_min = 0; remove it"
    if fr.code == "readout_rank":
        return (
            f"the model's {d['outputs']} outputs are linearly dependent at every input "
            f"(its fixed output weights have rank {d['rank']} < C = {d['outputs']}): each "
            f"point's {d['outputs']} rows of J0 are dependent, so σ_min = 0; "
            f"{family_words(family).dependent_outputs}"
        )
    if fr.code == "zero_jacobian":
        return (
            f"J0 = 0: {family_words(family).saturated} (saturated or "
            "flat activation); reduce model.init_std or rescale the data"
        )
    if fr.code == "numerical_rank":
        size = "m·ε" if several else "n·ε"
        return (
            f"σ_min is below numerical precision (λ_min/λ_max = {d['ratio']:.1e} ≤ {size} = "
            f"{d['n'] * EPS:.1e}): J0 is numerically rank-deficient (e.g. "
            f"{family_words(family).too_few}, or an activation whose features span a small "
            "space such as identity with n > d)"
        )
    return f"σ_min = 0 ({fr.code})"


#: γ*'s symbol in the report, per theorem.
STAR = {Theorem.lecture: "γ*", Theorem.path: "γ*_p"}
THEOREM_NAME = {
    Theorem.lecture: "lecture's theorem (THEORY.md §4)",
    Theorem.path: "path-length theorem (THEORY.md §9)",
}


def unproved(est: Estimate) -> str:
    """Why a certificate is only an estimate (empty when it is rigorous)."""
    m = est.measurement
    why = []
    if m.beta_method == "local":
        why.append("β is the local β_loc at θ0, not a proven Lipschitz bound")
    if not m.bounds.rigorous:
        how = "Lanczos estimates" if m.bounds.method == "lanczos" else "eigenvalues"
        why.append(f"σ_min and σ_max are {how}, not proven bounds")
    return " and ".join(why)


def _verdict(c: Certificate, est: Estimate) -> str:
    gamma, g_star, margin, star = c.gamma, c.gamma_star, c.margin, STAR[c.theorem]
    if c.certified:
        text = f"γ = {gamma:.4g} > {star} = {g_star:.4g} (margin {_fmt(margin)}×): training is lazy"
        if not c.rigorous:
            text += f" — an estimate: {unproved(est) or 'a bound is not proven'}"
        return text
    return f"γ = {gamma:.4g} ≤ {star} = {g_star:.4g} (margin {margin:.3g}×): not certified"


def certificate_advice(c: Certificate, family: str) -> list[str]:
    """What to change (or know) beyond the verdict: the γ set's limits, how to certify."""
    intervals = c.gamma_interval
    advice: list[str] = []
    if c.status is Status.not_applicable:
        return advice
    if c.loss_depends_on_gamma:
        if not intervals:
            advice.append(
                "no output scale γ can be certified for this initialization (the initial "
                "output γ·f_θ0 grows as fast as γ): use `init: symmetric` or `centered: true`"
            )
        elif math.isfinite(intervals[-1][1]):
            advice.append(
                f"above γ = {intervals[-1][1]:.4g} the initial output γ·f_θ0 dominates the "
                "loss; `init: symmetric` or `centered: true` removes the upper limit"
            )
        elif not c.certified:
            advice.append(f"the certified set of γ is {describe_interval(intervals)}")
    elif not c.certified:
        if math.isinf(c.gamma_star):
            advice.append(
                "the drift bound exceeds σ_min/2 on every ball (ρ* = 0): no γ is certified; "
                + family_words(family).grow
            )
        else:
            advice.append(f"raise γ above {c.gamma_star:.4g} or {family_words(family).grow}")
    if c.drift_free:
        advice.append("β = 0 (J does not depend on θ), so B = ∞ and every γ > 0 is certified")
    return advice


def certificate_message(c: Certificate, activation: str, est: Estimate) -> str:
    """The verdict in one line with its advice (JSON ``certificate.message``)."""
    if c.reason is Reason.no_drift_bound:
        return (
            f"(H1) fails: σ' of {activation or 'this activation'} is not Lipschitz "
            "(sup|σ''| = ∞) and no drift bound is known for it in this architecture, so the "
            "theorem does not apply; use a smooth activation (gelu, silu, softplus, tanh) "
            f"({family_words(est.measurement.family).nonsmooth})"
        )
    if c.reason is Reason.not_full_rank:
        why = full_rank_reason(est.full_rank, est.measurement.family) or (
            "the rigorous lower bound on σ_min is 0 (its rounding bound exceeds λ_min(K0)); "
            "J0 is too close to rank-deficient to certify here"
        )
        return f"(H2) fails: {why}"
    return "; ".join([_verdict(c, est), *certificate_advice(c, est.measurement.family)])


#: What the report says beside a certificate from the activation-flip bound (THEORY.md §10).
FLIP_ASSUMPTION = (
    "relu-like σ: J is one selection of the Clarke Jacobian (σ'(0) by convention); the "
    "flip bound covers every selection, and the flow is taken to obey the chain rule "
    "along its path (Davis–Drusvyatskiy–Kakade–Lee)"
)


#: How the report names each ``train.loss`` (THEORY.md §13 "Loss conventions").
LOSS_NAMES = {
    "half_sum": "½‖r‖²",
    "sum": "MSELoss(reduction='sum')",
    "mse": "MSELoss",
    "half_mean": "½·mean",
}


def lr_text(c: GdCertificate) -> str:
    """``lr = 0.05 (MSELoss)`` — the learning rate in the user's units."""
    return f"lr = {c.lr:g} ({LOSS_NAMES[c.loss]})"


def gd_verdict(c: GdCertificate) -> str:
    """The GD verdict in the user's units (THEORY.md §13)."""
    if c.certified:
        assert c.loss_bound is not None
        ratio = c.loss_bound / c.guarantees.loss0 if c.guarantees and c.guarantees.loss0 else 0.0
        return (
            f"{lr_text(c)} certified up to lr_max = {num(c.lr_max)}; loss ≤ "
            f"{num(ratio, 2)}·L0 after {c.steps:,} steps"
        )
    return f"{lr_text(c)}, γ = {c.gamma:g}: not certified (lr_max = {num(c.lr_max)} at this γ)"


def gd_advice(c: GdCertificate, flow_certified: bool, family: str) -> str:
    """Why a GD certificate fails, and what would certify (THEORY.md §13); whether the
    flow certificate (the η → 0 limit of §9) holds at this γ, and the model's family."""
    interval = describe_interval(c.gamma_interval)
    lower = f"lower lr to below {num(c.lr_max)}" if c.lr_max > 0 else "lower lr"
    if c.reason is GdReason.unstable:
        return (
            f"the step may be past the stability limit: ηγ²σ_max² = {num(c.stability)} ≥ 2 "
            "(σ_max: its proven upper bound); past it gradient descent on the linearized "
            "network diverges and the true network may leave the lazy regime (the "
            f"catapult); nothing is certified; {lower}"
            + (f", or keep lr and take γ ∈ {interval}" if c.gamma_interval else "")
        )
    if c.reason is GdReason.too_small:
        if not c.gamma_interval:
            grow = family_words(family).grow
            if flow_certified:  # (G): GD's η → 0 limit is weaker than §9's (§13 remark vi)
                return f"no lr is certified at this γ, though gradient flow is: raise γ or {grow}"
            return f"no lr is certified at this γ, nor gradient flow: raise γ or {grow}"
        lo = c.gamma_interval[0][0]
        return f"γ is below the certified set {interval} at this lr: raise γ above {lo:.4g}"
    if c.reason is GdReason.too_large:
        hi = c.gamma_interval[0][1]
        return (
            f"γ is above the certified set {interval} at this lr (ηγ²Σ² grows like γ²): "
            f"{lower}, or take γ below {hi:.4g}; scaling lr as η̂/γ² keeps the step fixed"
        )
    if c.reason is GdReason.lr_too_large:
        return f"no γ is certified at this lr: {lower}"
    return ""


def gd_message(c: GdCertificate, activation: str, est: Estimate, flow: Certificate) -> str:
    """The GD certificate in one line with its advice (JSON ``certificates.gd.message``)."""
    if c.status is Status.not_applicable:
        return certificate_message(flow, activation, est)
    text = gd_verdict(c)
    if c.certified and not c.rigorous:
        text += f" — an estimate: {unproved(est) or 'a bound is not proven'}"
    advice = gd_advice(c, flow.certified, est.measurement.family)
    return f"{text}; {advice}" if advice else text


def would_certify_text(w: WouldCertify) -> str:
    """``γ = 726.9; or <size key> = 131,072 (certified there, not at 65,536); or lr …``."""
    parts = []
    if w.gamma is not None:
        parts.append(f"γ = {w.gamma:.4g} (the nearest end of the certified set)")
    if w.size is not None:
        failed = [x for x, ok in w.runs if not ok and x < w.size]
        below = max(failed, default=w.start)
        check = "predicted, unchecked"
        if w.confirmed:
            check = "certified there" + (f", not at {below:,}" if below is not None else "")
        parts.append(f"{w.size_key} = {w.size:,} (about; {check})")
    if w.lr is not None:
        parts.append(f"lr up to {num(w.lr)}")
    if not parts:
        return "nothing found with everything else fixed"
    return "each alone, everything else fixed: " + "; or ".join(parts)
