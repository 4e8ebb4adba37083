"""Reason codes and numbers → sentences: the only place that names spec keys or CLI flags.

The mathematics returns statuses, codes and numbers; the report and the JSON
``message`` fields say them in words through these functions.
"""

from __future__ import annotations

import math

from ..linalg.spectrum import EPS
from ..run.measure import FullRank
from ..theory.certificate import Certificate, Interval, Reason, Status

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


def full_rank_reason(fr: FullRank) -> str:
    """Why (H2) fails, and the fix; empty when it holds."""
    d = fr.data
    if fr.holds:
        return ""
    if fr.code == "underparametrized":
        return (
            f"P = {d['params']:,} parameters < n = {d['n']:,} points: J0 has more rows than "
            "columns, so σ_min = 0; increase model.width"
        )
    if fr.code == "repeated_inputs":
        return (
            f"inputs {d['i']} and {d['j']} are identical: J0 has two equal rows, so σ_min = 0; "
            "remove repeated points"
        )
    if fr.code == "zero_input":
        return f"input {d['i']} is zero: its row of J0 vanishes, so σ_min = 0; remove it"
    if fr.code == "zero_jacobian":
        return (
            "J0 = 0: σ'(⟨w_i, x_j⟩) vanishes for every neuron and input (saturated or "
            "flat activation); reduce model.init_std or rescale the data"
        )
    if fr.code == "numerical_rank":
        return (
            f"σ_min is below numerical precision (λ_min/λ_max = {d['ratio']:.1e} ≤ n·ε = "
            f"{d['n'] * EPS:.1e}): J0 is numerically rank-deficient (e.g. too few neurons, or an "
            "activation whose features span a small space such as identity with n > d)"
        )
    return f"σ_min = 0 ({fr.code})"


def _verdict(c: Certificate) -> str:
    gamma, g_star, margin = c.gamma, c.gamma_star, c.margin
    if c.certified:
        text = f"γ = {gamma:.4g} > γ* = {g_star:.4g} (margin {_fmt(margin)}×): training is lazy"
        if not c.rigorous:
            text += " — an estimate: β is the local β_loc at θ0, not a proven Lipschitz bound"
        return text
    return f"γ = {gamma:.4g} ≤ γ* = {g_star:.4g} (margin {margin:.3g}×): not certified"


def certificate_advice(c: Certificate) -> list[str]:
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
        advice.append(f"raise γ above {c.gamma_star:.4g} or widen the network")
    if c.drift_free:
        advice.append("β = 0 (J does not depend on θ), so B = ∞ and every γ > 0 is certified")
    return advice


def certificate_message(c: Certificate, activation: str, full_rank: FullRank) -> str:
    """The verdict in one line with its advice (JSON ``certificate.message``)."""
    if c.reason is Reason.no_drift_bound:
        return (
            f"(H1) fails: σ' of {activation or 'this activation'} is not Lipschitz "
            "(sup|σ''| = ∞), so β = ∞ and the theorem does not apply; use a smooth "
            "activation (gelu, silu, softplus, tanh) to certify"
        )
    if c.reason is Reason.not_full_rank:
        return f"(H2) fails: {full_rank_reason(full_rank)}"
    return "; ".join([_verdict(c), *certificate_advice(c)])
