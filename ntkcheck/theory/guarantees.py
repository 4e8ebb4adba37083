"""What a certificate promises for all t ≥ 0 (THEORY.md §5, §8): C1–C5, written once.

The statements (``STATEMENTS``), the numbers (``Guarantees``) and the bound
curves over time (``bound_curves``) live here only; ``simulate`` checks them,
the report prints them and the plot draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .lecture import gap_D, radius_B, radius_R

#: C1–C5 as the report and the JSON state them (THEORY.md §5).
STATEMENTS = {
    "C1": "L(θ_t) ≤ L0·exp(−½γ²σ_min²t)",
    "C2": "‖θ_t − θ0‖ ≤ R(γ)",
    "C3": "σ_min(J_t) ≥ σ_min/2 and ‖J_t‖ ≤ σ_max + σ_min/2",
    "C4": "L̃(t) ≤ L0·exp(−2γ²σ_min²t) and ‖θ̃_t − θ0‖ ≤ √(2L0)/(γσ_min)",
    "C5": "‖r_t − r̃_t‖ ≤ D(γ)·exp(−¼γ²σ_min²t)",
}


@dataclass(frozen=True)
class Guarantees:
    """The numbers of C1–C5 (THEORY.md §5).

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


@dataclass(frozen=True, eq=False)
class BoundCurves:
    """The time-dependent bounds at times ``t``: C1 loss, C4 linearized loss, C5 gap."""

    loss: np.ndarray
    loss_lin: np.ndarray
    gap: np.ndarray


def bound_curves(g: Guarantees, t: np.ndarray | float) -> BoundCurves:
    """``L0 e^{−loss_rate t}``, ``L0 e^{−lin_loss_rate t}``, ``D e^{−gap_rate t}``."""
    t = np.asarray(t, dtype=float)
    return BoundCurves(
        loss=g.loss0 * np.exp(-g.loss_rate * t),
        loss_lin=g.loss0 * np.exp(-g.lin_loss_rate * t),
        gap=g.gap_D * np.exp(-g.gap_rate * t),
    )


def lecture_guarantees(
    gamma: float, beta: float, sigma_min: float, sigma_max: float, loss0: float
) -> Guarantees:
    """C1–C5 of the lecture's theorem (THEORY.md §4–§5) for γ (meaningful when certified)."""
    g2s2 = gamma * gamma * sigma_min * sigma_min  # products overflow to ∞; ** would raise
    return Guarantees(
        loss0=loss0,
        loss_rate=0.5 * g2s2,
        radius_R=radius_R(gamma, sigma_min, sigma_max, loss0),
        radius_B=radius_B(beta, sigma_min),
        sigma_min_lower=0.5 * sigma_min,
        jacobian_norm_upper=sigma_max + 0.5 * sigma_min,
        lin_loss_rate=2.0 * g2s2,
        lin_radius=math.sqrt(2.0 * loss0) / (gamma * sigma_min),
        gap_D=gap_D(gamma, beta, sigma_min, sigma_max, loss0),
        gap_rate=0.25 * g2s2,
    )
