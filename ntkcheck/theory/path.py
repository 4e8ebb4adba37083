"""The path-length theorem (THEORY.md §9) and the drift-bound forms of §8.

While σ_min(J_θ) ≥ σ_min/2, ``d‖r‖/dt ≤ −(γσ_min/2)‖dθ/dt‖``, hence

    ‖θ_t − θ0‖ ≤ 2(‖r0‖ − ‖r_t‖)/(γσ_min) ≤ R_p(γ) = 2‖r0‖/(γσ_min),

certified ⇔ R_p(γ) < ρ*; with h(ρ) = βρ, ``γ*_p = 4√2·β·√L0/σ_min²``, and
``γ*/γ*_p = 2κ + 1``. C5 with a drift bound h (§8):
``D_p = (4/3)·h(R)(2σ_max + h(R))·‖r0‖/σ_min²``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SQRT2 = math.sqrt(2.0)


def path_radius(gamma: float, sigma_min: float, loss0: float) -> float:
    """R_p(γ) = 2‖r0‖/(γσ_min), ‖r0‖ = √(2L0) (THEORY.md §9)."""
    return 2.0 * math.sqrt(2.0 * loss0) / (gamma * sigma_min)


def path_gamma_star(beta: float, sigma_min: float, loss0: float) -> float:
    """γ*_p = 4√2·β·√L0/σ_min² (THEORY.md §9; h(ρ) = βρ)."""
    if beta == 0.0 or loss0 == 0.0:
        return 0.0
    return 4.0 * SQRT2 * beta * math.sqrt(loss0) / (sigma_min * sigma_min)


def path_gamma_star_drift(safe_radius: float, sigma_min: float, loss0: float) -> float:
    """γ*_p = 2‖r0‖/(σ_min ρ*) for a general drift bound (R_p(γ*_p) = ρ*, THEORY.md §8–§9)."""
    if loss0 == 0.0 or math.isinf(safe_radius):
        return 0.0
    if safe_radius <= 0.0:
        return math.inf
    return 2.0 * math.sqrt(2.0 * loss0) / (sigma_min * safe_radius)


def path_gap_D(h_R: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """D = (4/3)·h(R)(2σ_max + h(R))·‖r0‖/σ_min² (THEORY.md §8, C5)."""
    return (
        (4.0 / 3.0)
        * h_R
        * (2.0 * sigma_max + h_R)
        * math.sqrt(2.0 * loss0)
        / (sigma_min * sigma_min)
    )


def path_bound_at(
    gamma: float, sigma_min: float, r0_norm: float, r_norm: np.ndarray | float
) -> np.ndarray | float:
    """The time-resolved C2 bound 2(‖r0‖ − ‖r_t‖)/(γσ_min) (THEORY.md §9)."""
    return 2.0 * (r0_norm - r_norm) / (gamma * sigma_min)
