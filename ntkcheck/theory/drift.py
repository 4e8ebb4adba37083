"""Jacobian drift bounds and the safe radius (THEORY.md §8).

A drift bound is ``h(ρ) ≥ sup_{‖θ−θ0‖≤ρ} ‖J_θ − J0‖_op``, nondecreasing and
rigorous; the safe radius is ``ρ* = sup{ρ : h(ρ) ≤ σ_min/2}``. A model family
supplies one (``Model.drift``); the theorems read it only through ``h`` and
``safe_radius``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class Drift(Protocol):
    """``h(ρ)`` and its inverse at a target; ``kind`` names the bound in the JSON."""

    @property
    def kind(self) -> str: ...

    @property
    def rigorous(self) -> bool: ...

    def h(self, rho: float) -> float: ...

    def safe_radius(self, target: float) -> float: ...

    def lipschitz(self, rho: float) -> float | None:
        """β(ρ): a Lipschitz constant of J on the ball of radius ρ (THEORY.md §13 (L)), or
        None when J is not Lipschitz there."""
        ...

    def pair(self, rho: float) -> float:
        """h_pair(ρ) ≥ sup ‖J_θ − J_θ'‖ over θ, θ' in the ball (THEORY.md §13 (G)); 2h(ρ)
        always holds."""
        ...


@dataclass(frozen=True)
class LipschitzDrift:
    """``h(ρ) = β ρ`` (THEORY.md §6/§8): ``ρ* = target/β`` (∞ when β = 0)."""

    beta: float
    rigorous: bool = True
    kind: str = "lipschitz"

    def h(self, rho: float) -> float:
        return 0.0 if self.beta == 0.0 or rho == 0.0 else self.beta * rho

    def safe_radius(self, target: float) -> float:
        if self.beta == 0.0:
            return math.inf
        return 0.0 if not math.isfinite(self.beta) else target / self.beta

    def lipschitz(self, rho: float) -> float | None:
        return self.beta

    def pair(self, rho: float) -> float:
        return 2.0 * self.h(rho)


@dataclass(frozen=True)
class NoDrift:
    """No drift bound exists (e.g. σ' not Lipschitz and no flip count): nothing certifies."""

    reason: str = ""
    rigorous: bool = True
    kind: str = "none"

    def h(self, rho: float) -> float:
        return math.inf

    def safe_radius(self, target: float) -> float:
        return 0.0

    def lipschitz(self, rho: float) -> float | None:
        return None

    def pair(self, rho: float) -> float:
        return math.inf
