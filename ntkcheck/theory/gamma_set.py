"""The exact set of certified output scales when L0 depends on γ (THEORY.md §4, §9)."""

from __future__ import annotations

import math

Interval = tuple[float, float]


def certified_gammas(
    p: float, c: float, f0_sq: float, f0_dot_y: float, y_sq: float
) -> tuple[Interval, ...]:
    """The exact set of γ > 0 with ``p·γ > c·‖γ f0 − y‖`` (p > 0, c ≥ 0).

    Lecture (THEORY.md §4): p = σ_min³, c = 4β(2σ_max + σ_min); path theorem
    (§9): p = σ_min², c = 4β; with a drift bound h and safe radius ρ* (§8):
    p = ρ*·σ_min², c = 4σ_max + 2σ_min (lecture) or p = ρ*·σ_min, c = 2 (path).
    Squaring (both sides ≥ 0) gives q(γ) = Aγ² + Bγ + C > 0 with
    A = p² − c²‖f0‖², B = 2c² f0·y, C = −c²‖y‖² ≤ 0; hence the set is
    (γ_lo, ∞), a bounded interval (γ_lo, γ_hi), or empty. Intervals are open;
    ∞ is ``math.inf``. Not finite inputs or p ≤ 0 give the empty set.
    """
    if not (math.isfinite(c) and math.isfinite(p) and p > 0):
        return ()
    if c == 0.0:
        return ((0.0, math.inf),)
    A = p * p - c * c * f0_sq
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
