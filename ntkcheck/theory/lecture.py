"""The lecture's theorem with explicit constants (THEORY.md §3–§5), as functions of numbers.

R(γ)  = (4σ_max + 2σ_min) √(2 L0) / (γ σ_min²)         parameter movement
B     = σ_min / (2β)                                    ball of Lemma 3 (§3)
Λ     = β σ_max √L0 / σ_min³                            lecture's quantity
γ*    = 4√2 · β · (2σ_max + σ_min) · √L0 / σ_min³       certified ⇔ γ > γ*
D(γ)  = (4/3) β R(γ) (2σ_max + σ_min/2) √(2L0) / σ_min²  linearization gap (C5)
"""

from __future__ import annotations

import math

SQRT2 = math.sqrt(2.0)


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


def gamma_star_drift(safe_radius: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """γ* with a general drift bound: R(γ*) = ρ*, i.e. (4σ_max + 2σ_min)√(2L0)/(σ_min² ρ*) (§8)."""
    if loss0 == 0.0 or math.isinf(safe_radius):
        return 0.0
    if safe_radius <= 0.0:
        return math.inf
    return (
        (4.0 * sigma_max + 2.0 * sigma_min)
        * math.sqrt(2.0 * loss0)
        / (sigma_min * sigma_min * safe_radius)
    )


def gap_D_drift(h_R: float, sigma_min: float, sigma_max: float, loss0: float) -> float:
    """D = (4/3) h(R) (2σ_max + σ_min/2) √(2L0)/σ_min²: §5's D with h(R) for βR (§8)."""
    return (
        (4.0 / 3.0)
        * h_R
        * (2.0 * sigma_max + 0.5 * sigma_min)
        * math.sqrt(2.0 * loss0)
        / (sigma_min * sigma_min)
    )
