"""What a certificate promises for all t ≥ 0 (THEORY.md §5, §8, §9): C1–C5, written once.

The statements (``STATEMENTS``), the numbers (``Guarantees``) and the bound
curves over time (``bound_curves``) live here only; ``simulate`` checks them,
the report prints them and the plot draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .lecture import gap_D, gap_D_drift, radius_R
from .path import path_gap_D, path_radius

if TYPE_CHECKING:
    import numpy as np

_COMMON = {
    "C1": "L(θ_t) ≤ L0·exp(−½γ²σ_min²t)",
    "C4": "L̃(t) ≤ L0·exp(−2γ²σ_min²t) and ‖θ̃_t − θ0‖ ≤ √(2L0)/(γσ_min)",
}
#: C1–C5 of each theorem as the report and the JSON state them (THEORY.md §5, §8, §9).
STATEMENTS: dict[str, dict[str, str]] = {
    "lecture": {
        "C1": _COMMON["C1"],
        "C2": "‖θ_t − θ0‖ ≤ R(γ)",
        "C3": "σ_min(J_t) ≥ σ_min/2 and ‖J_t‖ ≤ σ_max + σ_min/2",
        "C4": _COMMON["C4"],
        "C5": "‖r_t − r̃_t‖ ≤ D(γ)·exp(−¼γ²σ_min²t)",
    },
    "path": {
        "C1": _COMMON["C1"],
        "C2": "‖θ_t − θ0‖ ≤ 2(‖r0‖ − ‖r_t‖)/(γσ_min) ≤ R_p(γ) = 2‖r0‖/(γσ_min)",
        "C3": "σ_min(J_t) ≥ σ_min/2 and ‖J_t‖ ≤ σ_max + h(R_p)",
        "C4": _COMMON["C4"],
        "C5": "‖r_t − r̃_t‖ ≤ (4/3)h(R_p)(2σ_max + h(R_p))‖r0‖/σ_min²·exp(−¼γ²σ_min²t)",
    },
}


@dataclass(frozen=True)
class Guarantees:
    """The numbers of C1–C5 (THEORY.md §5; §8–§9 for the path theorem).

    C1 ``L(θ_t) ≤ L0 e^{−loss_rate·t}``, loss_rate = ½γ²σ_min²;
    C2 ``‖θ_t − θ0‖ ≤ R < B`` (B: the safe radius ρ*); the path theorem also
       bounds it at every t by 2(‖r0‖ − ‖r_t‖)/(γσ_min) (``path_length``);
    C3 ``σ_min(J_t) ≥ sigma_min_lower = σ_min/2``,
       ``‖J_t‖ ≤ jacobian_norm_upper`` (σ_max + σ_min/2, or σ_max + h(R_p));
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
    path_length: bool = False


@dataclass(frozen=True, eq=False)
class BoundCurves:
    """The time-dependent bounds at times ``t``: C1 loss, C4 linearized loss, C5 gap."""

    loss: np.ndarray
    loss_lin: np.ndarray
    gap: np.ndarray


def bound_curves(g: Guarantees, t: np.ndarray | float) -> BoundCurves:
    """``L0 e^{−loss_rate t}``, ``L0 e^{−lin_loss_rate t}``, ``D e^{−gap_rate t}``."""
    import numpy as np  # the certificate itself needs no numpy

    t = np.asarray(t, dtype=float)
    return BoundCurves(
        loss=g.loss0 * np.exp(-g.loss_rate * t),
        loss_lin=g.loss0 * np.exp(-g.lin_loss_rate * t),
        gap=g.gap_D * np.exp(-g.gap_rate * t),
    )


def _common(gamma: float, sigma_min: float, loss0: float) -> dict[str, Any]:
    g2s2 = gamma * gamma * sigma_min * sigma_min  # products overflow to ∞; ** would raise
    return {
        "loss0": loss0,
        "loss_rate": 0.5 * g2s2,
        "sigma_min_lower": 0.5 * sigma_min,
        "lin_loss_rate": 2.0 * g2s2,
        "lin_radius": math.sqrt(2.0 * loss0) / (gamma * sigma_min),
        "gap_rate": 0.25 * g2s2,
    }


def lecture_guarantees(
    gamma: float,
    sigma_min: float,
    sigma_max: float,
    loss0: float,
    *,
    safe_radius: float,
    beta: float | None = None,
    h_R: float | None = None,
) -> Guarantees:
    """C1–C5 of the lecture's theorem (THEORY.md §4–§5): §5's formulas with β, or h(R) (§8)."""
    if beta is not None:
        D = gap_D(gamma, beta, sigma_min, sigma_max, loss0)
    else:
        assert h_R is not None
        D = gap_D_drift(h_R, sigma_min, sigma_max, loss0)
    return Guarantees(
        radius_R=radius_R(gamma, sigma_min, sigma_max, loss0),
        radius_B=safe_radius,
        jacobian_norm_upper=sigma_max + 0.5 * sigma_min,
        gap_D=D,
        **_common(gamma, sigma_min, loss0),
    )


def path_guarantees(
    gamma: float,
    sigma_min: float,
    sigma_max: float,
    loss0: float,
    *,
    safe_radius: float,
    h_R: float,
) -> Guarantees:
    """C1–C5 of the path-length theorem (THEORY.md §8–§9), h_R = h(R_p)."""
    return Guarantees(
        radius_R=path_radius(gamma, sigma_min, loss0),
        radius_B=safe_radius,
        jacobian_norm_upper=sigma_max + h_R,
        gap_D=path_gap_D(h_R, sigma_min, sigma_max, loss0),
        path_length=True,
        **_common(gamma, sigma_min, loss0),
    )
