"""The verdict for one γ: certified, not certified or not applicable (THEORY.md §4, §8).

Everything here is a function of plain numbers; the measurements come from the
``run`` layer and the words from the ``report`` layer (``reason`` is a code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from .drift import Drift, DriftKind, LipschitzDrift
from .gamma_set import Interval, certified_gammas
from .guarantees import Guarantees, lecture_guarantees, path_guarantees
from .lecture import gamma_star, gamma_star_drift, lecture_lambda, radius_B, radius_R
from .path import path_gamma_star, path_gamma_star_drift, path_radius


class Status(StrEnum):
    """Outcome of a certification; failing to certify is a status, not an error.

    The CI gate adds one more outcome, ``error`` (a spec that could not be checked).
    """

    certified = "certified"
    not_certified = "not_certified"
    not_applicable = "not_applicable"


class Theorem(StrEnum):
    """Which theorem decides: the lecture's (§4) or the path-length theorem (§9)."""

    lecture = "lecture"
    path = "path"


class Reason(StrEnum):
    """Why a certificate is not applicable (empty when it is)."""

    none = ""
    no_drift_bound = "no_drift_bound"  # (H1): σ' not Lipschitz and no other drift bound
    not_full_rank = "not_full_rank"  # (H2): σ_min = 0


@dataclass(frozen=True)
class Quantities:
    """The measured numbers a theorem reads (THEORY.md §1): all at θ0, L0 at γ.

    ``sigma_min`` and ``sigma_max`` are the values the certificate may rely on:
    a lower and an upper bound when it is to be rigorous (THEORY.md §11).
    ``f0_sq = ‖f0‖²``, ``f0_dot_y = f0·y``, ``y_sq = ‖y‖²`` give L0(γ) = ½‖γf0 − y‖²
    for the exact γ set; ``loss_depends_on_gamma`` is False when f0 = 0 (symmetric
    init or centered model).
    """

    sigma_min: float
    sigma_max: float
    loss0: float
    f0_sq: float
    f0_dot_y: float
    y_sq: float
    full_rank: bool
    loss_depends_on_gamma: bool


@dataclass(frozen=True)
class Certificate:
    """The verdict of one theorem for one γ (JSON ``certificate`` and ``certificates.*``).

    ``radius_R`` is the theorem's path radius, ``radius_B`` the safe radius ρ*
    (B = σ_min/(2β) for a Lipschitz drift bound), ``lecture_lambda`` the
    lecture's Λ (with β_eff = σ_min/(2ρ*) when the drift bound is not Lipschitz).

    The fields and ``certified`` carry the JSON's names and values (∞ where it writes
    null). Not in the JSON: ``reason``, a code (why the theorem does not apply), and
    the two flags after it. Not here: JSON ``message``, the sentence ``report/`` makes
    of ``reason`` and the numbers (this layer has no words; from Python,
    ``ntkcheck.result_dict(result)`` is the JSON), and ``heuristic_gamma``, which is
    ``CertifyResult.problem.heuristic_gamma``.
    """

    theorem: Theorem
    gamma: float
    gamma_star: float
    margin: float
    status: Status
    rigorous: bool
    gamma_interval: tuple[Interval, ...]
    radius_R: float
    radius_B: float
    lecture_lambda: float
    guarantees: Guarantees | None
    reason: Reason = Reason.none
    loss_depends_on_gamma: bool = False
    drift_free: bool = False  # J does not depend on θ (β = 0): every γ > 0 is certified

    @property
    def certified(self) -> bool:
        return self.status is Status.certified


def not_applicable(
    theorem: Theorem, gamma: float, rigorous: bool, B: float, reason: Reason
) -> Certificate:
    """A hypothesis fails: γ* = ∞, no certified γ, no guarantees."""
    inf = math.inf
    return Certificate(
        theorem, gamma, inf, 0.0, Status.not_applicable, rigorous, (), inf, B, inf, None, reason
    )


def certify(
    theorem: Theorem | str, gamma: float, q: Quantities, drift: Drift, rigorous: bool
) -> Certificate:
    """Decide γ > γ* (⇔ R(γ) < ρ*) for ``theorem`` and, when certified, state C1–C5.

    Lecture (§4): R(γ) = (4σ_max + 2σ_min)‖r0‖/(γσ_min²); path (§9):
    R_p(γ) = 2‖r0‖/(γσ_min); both against ρ* = sup{ρ : h(ρ) ≤ σ_min/2} (§8).
    With h(ρ) = βρ the formulas are §4's and §9's literally.
    """
    theorem = Theorem(theorem)
    smin, smax, L0 = q.sigma_min, q.sigma_max, q.loss0
    rho = drift.safe_radius(0.5 * smin) if smin > 0 else 0.0
    if drift.kind is DriftKind.none or math.isnan(rho):
        return not_applicable(theorem, gamma, rigorous, 0.0, Reason.no_drift_bound)
    beta = drift.beta if isinstance(drift, LipschitzDrift) else None
    lipschitz = beta is not None
    if beta is not None and not math.isfinite(beta):
        return not_applicable(theorem, gamma, rigorous, 0.0, Reason.no_drift_bound)
    B = radius_B(beta, smin) if beta is not None else rho
    if not q.full_rank or not smin > 0.0:  # a σ_min bound of 0 proves no rank (H2)
        return not_applicable(theorem, gamma, rigorous, B, Reason.not_full_rank)
    beta_eff = beta if beta is not None else (0.0 if math.isinf(rho) else 0.5 * smin / rho)
    if theorem is Theorem.lecture:
        R = radius_R(gamma, smin, smax, L0)
        if beta is not None:
            g_star = gamma_star(beta, smin, smax, L0)
            p, c = smin * smin * smin, 4.0 * beta * (2.0 * smax + smin)
        else:
            g_star = gamma_star_drift(rho, smin, smax, L0)
            p, c = rho * smin * smin, 4.0 * smax + 2.0 * smin
    else:
        R = path_radius(gamma, smin, L0)
        if beta is not None:
            g_star = path_gamma_star(beta, smin, L0)
            p, c = smin * smin, 4.0 * beta
        else:
            g_star = path_gamma_star_drift(rho, smin, L0)
            p, c = rho * smin, 2.0
    intervals = (
        ((0.0, math.inf),)
        if math.isinf(rho)
        else certified_gammas(p, c, q.f0_sq, q.f0_dot_y, q.y_sq)
    )
    ok = gamma > g_star
    guarantees = None
    if ok:
        h_R = drift.h(R)
        if theorem is Theorem.lecture:
            guarantees = lecture_guarantees(
                gamma, smin, smax, L0, safe_radius=B, beta=beta, h_R=None if lipschitz else h_R
            )
        else:
            guarantees = path_guarantees(gamma, smin, smax, L0, safe_radius=B, h_R=h_R)
    return Certificate(
        theorem=theorem,
        gamma=gamma,
        gamma_star=g_star,
        margin=gamma / g_star if g_star > 0 else math.inf,
        status=Status.certified if ok else Status.not_certified,
        rigorous=rigorous,
        gamma_interval=intervals,
        radius_R=R,
        radius_B=B,
        lecture_lambda=lecture_lambda(beta_eff, smin, smax, L0),
        guarantees=guarantees,
        loss_depends_on_gamma=q.loss_depends_on_gamma,
        drift_free=beta == 0.0 or math.isinf(rho),
    )


def certify_both(
    gamma: float, q: Quantities, drift: Drift, rigorous: bool
) -> dict[Theorem, Certificate]:
    """Both theorems' certificates, lecture first."""
    return {t: certify(t, gamma, q, drift, rigorous) for t in Theorem}
