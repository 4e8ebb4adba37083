"""The certificate of THEORY.md §4 and the guarantees C1–C5 of §5.

All formulas are the contract's, literally:

    R(γ)  = (4σ_max + 2σ_min) √(2 L0) / (γ σ_min²)         parameter movement
    B     = σ_min / (2β)                                    ball of Lemma 3 (§3)
    Λ     = β σ_max √L0 / σ_min³                            lecture's quantity
    γ*    = 4√2 · β · (2σ_max + σ_min) · √L0 / σ_min³       certified ⇔ γ > γ*
    D(γ)  = (4/3) β R(γ) (2σ_max + σ_min/2) √(2L0) / σ_min²  linearization gap (C5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from .estimate import Estimate

Interval = tuple[float, float]
SQRT2 = math.sqrt(2.0)


class Status(StrEnum):
    """Outcome of a certification; failing to certify is a status, not an error."""

    certified = "certified"
    not_certified = "not_certified"
    not_applicable = "not_applicable"


def gamma_star(beta: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """γ* = 4√2 · β · (2σ_max + σ_min) · √L0 / σ_min³ (THEORY.md §4)."""
    if beta == 0.0 or loss0 == 0.0:
        return 0.0
    return (
        4.0
        * SQRT2
        * beta
        * (2.0 * sigma_max + sigma_min)
        * math.sqrt(loss0)
        / (sigma_min * sigma_min * sigma_min)
    )


def radius_R(gamma: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """R(γ) = (4σ_max + 2σ_min) √(2 L0) / (γ σ_min²) (THEORY.md §4)."""
    return (
        (4.0 * sigma_max + 2.0 * sigma_min)
        * math.sqrt(2.0 * loss0)
        / (gamma * sigma_min * sigma_min)
    )


def radius_B(beta: float, sigma_min: float) -> float:
    """B = σ_min / (2β) (THEORY.md §3); ∞ when β = 0."""
    return math.inf if beta == 0.0 else sigma_min / (2.0 * beta)


def lecture_lambda(beta: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """Λ = β σ_max √L0 / σ_min³ (THEORY.md §4; γ* ≤ 12√2 Λ)."""
    if beta == 0.0 or loss0 == 0.0:
        return 0.0
    return beta * sigma_max * math.sqrt(loss0) / (sigma_min * sigma_min * sigma_min)


def gap_D(gamma: float, beta: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """D(γ) = (4/3) β R(γ) (2σ_max + σ_min/2) √(2L0) / σ_min² (THEORY.md §5, C5)."""
    R = radius_R(gamma, sigma_min, sigma_max, loss0)
    return (
        (4.0 / 3.0)
        * beta
        * R
        * (2.0 * sigma_max + 0.5 * sigma_min)
        * math.sqrt(2.0 * loss0)
        / (sigma_min * sigma_min)
    )


def certified_gammas(
    beta: float, sigma_min: float, sigma_max: float, f0_sq: float, f0_dot_y: float, y_sq: float
) -> tuple[Interval, ...]:
    """The exact set of γ > 0 with ``γ σ_min³ > c ‖γ f0 − y‖``, c = 4β(2σ_max + σ_min).

    This is γ > γ*(γ) with L0(γ) = ½‖γ f0 − y‖² (THEORY.md §4). Squaring (both
    sides ≥ 0) gives q(γ) = Aγ² + Bγ + C > 0 with A = σ_min⁶ − c²‖f0‖²,
    B = 2c² f0·y, C = −c²‖y‖² ≤ 0 = q(0)'s sign; hence the set is (γ_lo, ∞),
    a bounded interval (γ_lo, γ_hi), or empty. Intervals are open; ∞ is ``math.inf``.
    """
    if not (math.isfinite(beta) and sigma_min > 0):
        return ()
    c = 4.0 * beta * (2.0 * sigma_max + sigma_min)
    if c == 0.0:
        return ((0.0, math.inf),)
    s3 = sigma_min * sigma_min * sigma_min
    A = s3 * s3 - c * c * f0_sq
    B = 2.0 * c * c * f0_dot_y
    C = -c * c * y_sq
    if A == 0.0:
        return ((max(0.0, -C / B), math.inf),) if B > 0 else ()
    disc = B * B - 4.0 * A * C
    if disc < 0:
        return ()  # then A < 0 and q < 0 everywhere
    # Stable roots: q_ = −½(B + sign(B)√disc), roots q_/A and C/q_.
    q_ = -0.5 * (B + math.copysign(math.sqrt(disc), B))
    roots = sorted([q_ / A, C / q_ if q_ != 0.0 else -B / A])
    lo, hi = roots
    if A > 0:  # q > 0 outside [lo, hi]; lo ≤ 0 since C ≤ 0
        return ((max(hi, 0.0), math.inf),)
    # A < 0: q > 0 strictly between the roots; need hi > 0
    if hi <= 0.0 or hi <= lo:
        return ()
    return ((max(lo, 0.0), hi),)


@dataclass(frozen=True)
class Guarantees:
    """What a certificate promises for all t ≥ 0 (THEORY.md §5), as numbers.

    C1 ``L(θ_t) ≤ L0 e^{−loss_rate·t}``, loss_rate = ½γ²σ_min²;
    C2 ``‖θ_t − θ0‖ ≤ R < B``;
    C3 ``σ_min(J_t) ≥ sigma_min_lower = σ_min/2``,
       ``‖J_t‖ ≤ jacobian_norm_upper = σ_max + σ_min/2``;
    C4 ``L̃(t) ≤ L0 e^{−lin_loss_rate·t}``, lin_loss_rate = 2γ²σ_min²,
       ``‖θ̃_t − θ0‖ ≤ lin_radius = √(2L0)/(γσ_min)``;
    C5 ``‖r_t − r̃_t‖ ≤ D e^{−gap_rate·t}``, gap_rate = ¼γ²σ_min².
    """

    loss0: float
    loss_rate: float
    radius_R: float
    radius_B: float
    sigma_min_lower: float
    jacobian_norm_upper: float
    lin_loss_rate: float
    lin_radius: float
    gap_D: float
    gap_rate: float


def guarantees(gamma: float, est: Estimate) -> Guarantees:
    """The numbers of C1–C5 for γ and the estimate (meaningful when certified)."""
    smin, smax, L0, beta = est.sigma_min, est.sigma_max, est.loss0, est.beta
    g2s2 = gamma * gamma * smin * smin  # products overflow to ∞; ** would raise
    return Guarantees(
        loss0=L0,
        loss_rate=0.5 * g2s2,
        radius_R=radius_R(gamma, smin, smax, L0),
        radius_B=radius_B(beta, smin),
        sigma_min_lower=0.5 * smin,
        jacobian_norm_upper=smax + 0.5 * smin,
        lin_loss_rate=2.0 * g2s2,
        lin_radius=math.sqrt(2.0 * L0) / (gamma * smin),
        gap_D=gap_D(gamma, beta, smin, smax, L0),
        gap_rate=0.25 * g2s2,
    )


@dataclass(frozen=True)
class Certificate:
    """The verdict of THEORY.md §4 for one γ (DESIGN.md ``certificate``)."""

    gamma: float
    gamma_star: float
    margin: float
    status: Status
    rigorous: bool
    gamma_interval: tuple[Interval, ...]
    radius_R: float
    radius_B: float
    lecture_lambda: float
    message: str
    guarantees: Guarantees | None

    @property
    def certified(self) -> bool:
        return self.status is Status.certified


def _fmt(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x:.4g}"


def describe_interval(intervals: tuple[Interval, ...]) -> str:
    """``(γ_lo, ∞)`` / ``(γ_lo, γ_hi)`` / ``∅`` as text."""
    if not intervals:
        return "∅"
    return " ∪ ".join(f"({_fmt(lo)}, {_fmt(hi)})" for lo, hi in intervals)


def _not_applicable(gamma: float, rigorous: bool, B: float, message: str) -> Certificate:
    """A hypothesis fails: γ* = ∞, no certified γ, no guarantees."""
    inf = math.inf
    return Certificate(
        gamma, inf, 0.0, Status.not_applicable, rigorous, (), inf, B, inf, message, None
    )


def certify(
    gamma: float, est: Estimate, *, activation: str = "", centered_or_zero: bool = True
) -> Certificate:
    """Decide ``γ > γ*`` (⇔ ``R(γ) < B``) and, when certified, state C1–C5.

    ``centered_or_zero`` tells whether L0 is independent of γ (f_θ0 ≡ 0 or a
    centered model); it only shapes the advice in ``message``.
    """
    rigorous = est.beta_method == "analytic"
    if not math.isfinite(est.beta):
        return _not_applicable(
            gamma,
            rigorous,
            0.0,
            f"(H1) fails: σ' of {activation or 'this activation'} is not Lipschitz "
            "(sup|σ''| = ∞), so β = ∞ and the theorem does not apply; use a smooth "
            "activation (gelu, silu, softplus, tanh) to certify",
        )
    if not est.full_rank.holds:
        return _not_applicable(
            gamma,
            rigorous,
            radius_B(est.beta, est.sigma_min),
            f"(H2) fails: {est.full_rank.reason}",
        )
    smin, smax, L0, beta = est.sigma_min, est.sigma_max, est.loss0, est.beta
    g_star = gamma_star(beta, smin, smax, L0)
    intervals = certified_gammas(
        beta, smin, smax, est.f0_norm * est.f0_norm, est.f0_dot_y, est.y_norm * est.y_norm
    )
    R, B = radius_R(gamma, smin, smax, L0), radius_B(beta, smin)
    ok = gamma > g_star
    margin = gamma / g_star if g_star > 0 else math.inf
    where = f"the certified set of γ is {describe_interval(intervals)}"
    if ok:
        message = f"γ = {gamma:.4g} > γ* = {g_star:.4g} (margin {_fmt(margin)}×): training is lazy"
        if not rigorous:
            message += " — an estimate: β is the local β_loc at θ0, not a proven Lipschitz bound"
    else:
        message = f"γ = {gamma:.4g} ≤ γ* = {g_star:.4g} (margin {margin:.3g}×): not certified"
    if not centered_or_zero:
        if not intervals:
            message += (
                "; no output scale γ can be certified for this initialization (the initial "
                "output γ·f_θ0 grows as fast as γ): use `init: symmetric` or `centered: true`"
            )
        elif math.isfinite(intervals[-1][1]):
            message += (
                f"; above γ = {intervals[-1][1]:.4g} the initial output γ·f_θ0 dominates the "
                "loss; `init: symmetric` or `centered: true` removes the upper limit"
            )
        elif not ok:
            message += f"; {where}"
    elif not ok:
        message += f"; raise γ above {g_star:.4g} or widen the network"
    if beta == 0.0:
        message += "; β = 0 (J does not depend on θ), so B = ∞ and every γ > 0 is certified"
    return Certificate(
        gamma=gamma,
        gamma_star=g_star,
        margin=margin,
        status=Status.certified if ok else Status.not_certified,
        rigorous=rigorous,
        gamma_interval=intervals,
        radius_R=R,
        radius_B=B,
        lecture_lambda=lecture_lambda(beta, smin, smax, L0),
        message=message,
        guarantees=guarantees(gamma, est) if ok else None,
    )
