"""The verdict for one γ: certified, not certified or not applicable (THEORY.md §4, §8).

Everything here is a function of plain numbers; the measurements come from the
``run`` layer and the words from the ``report`` layer (``reason`` is a code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from .gamma_set import Interval, certified_gammas
from .guarantees import Guarantees, lecture_guarantees
from .lecture import gamma_star, lecture_lambda, radius_B, radius_R


class Status(StrEnum):
    """Outcome of a certification; failing to certify is a status, not an error.

    The CI gate adds one more outcome, ``error`` (a spec that could not be checked).
    """

    certified = "certified"
    not_certified = "not_certified"
    not_applicable = "not_applicable"


class Reason(StrEnum):
    """Why a certificate is not applicable (empty when it is)."""

    none = ""
    no_drift_bound = "no_drift_bound"  # (H1): σ' not Lipschitz and no other drift bound
    not_full_rank = "not_full_rank"  # (H2): σ_min = 0


@dataclass(frozen=True)
class Quantities:
    """The measured numbers a theorem reads (THEORY.md §1): all at θ0, L0 at γ.

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
    """The verdict of THEORY.md §4 for one γ (JSON ``certificate``)."""

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


def not_applicable(gamma: float, rigorous: bool, B: float, reason: Reason) -> Certificate:
    """A hypothesis fails: γ* = ∞, no certified γ, no guarantees."""
    inf = math.inf
    return Certificate(
        gamma, inf, 0.0, Status.not_applicable, rigorous, (), inf, B, inf, None, reason
    )


def lecture_certificate(gamma: float, q: Quantities, beta: float, rigorous: bool) -> Certificate:
    """Decide ``γ > γ*`` (⇔ ``R(γ) < B``, THEORY.md §4) and, when certified, state C1–C5."""
    if not math.isfinite(beta):
        return not_applicable(gamma, rigorous, 0.0, Reason.no_drift_bound)
    if not q.full_rank:
        return not_applicable(gamma, rigorous, radius_B(beta, q.sigma_min), Reason.not_full_rank)
    smin, smax, L0 = q.sigma_min, q.sigma_max, q.loss0
    g_star = gamma_star(beta, smin, smax, L0)
    c = 4.0 * beta * (2.0 * smax + smin)
    intervals = certified_gammas(smin * smin * smin, c, q.f0_sq, q.f0_dot_y, q.y_sq)
    ok = gamma > g_star
    return Certificate(
        gamma=gamma,
        gamma_star=g_star,
        margin=gamma / g_star if g_star > 0 else math.inf,
        status=Status.certified if ok else Status.not_certified,
        rigorous=rigorous,
        gamma_interval=intervals,
        radius_R=radius_R(gamma, smin, smax, L0),
        radius_B=radius_B(beta, smin),
        lecture_lambda=lecture_lambda(beta, smin, smax, L0),
        guarantees=lecture_guarantees(gamma, beta, smin, smax, L0) if ok else None,
        loss_depends_on_gamma=q.loss_depends_on_gamma,
        drift_free=beta == 0.0,
    )
