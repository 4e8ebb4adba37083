"""Jacobian drift bounds and the safe radius (THEORY.md §8).

A drift bound is ``h(ρ) ≥ sup_{‖θ−θ0‖≤ρ} ‖J_θ − J0‖_op``, nondecreasing and
rigorous; the safe radius is ``ρ* = sup{ρ : h(ρ) ≤ σ_min/2}``. A model family
supplies one (``Model.drift``); the theorems read it only through ``h`` and
``safe_radius``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DriftKind(StrEnum):
    """Which drift bound a family supplies (JSON ``estimate.drift_bound``)."""

    lipschitz = "lipschitz"  # h(ρ) = βρ, J β-Lipschitz (THEORY.md §6, §8)
    ball_lipschitz = "ball_lipschitz"  # h(ρ) = β(ρ)ρ, β on the ball (§10, deep networks)
    flip_count = "flip_count"  # activation flips of a relu-like σ (§10)
    none = "none"  # no drift bound: nothing certifies

    @property
    def formula(self) -> str:
        """The bound as the report states it."""
        return _FORMULA[self]

    @property
    def label(self) -> str:
        """A short name: "ball-local Lipschitz", "activation-flip", …"""
        return _LABEL[self]


_FORMULA = {
    DriftKind.lipschitz: "h(ρ) = βρ",
    DriftKind.ball_lipschitz: "h(ρ) = β(ρ)·ρ with β(ρ) a Lipschitz constant of J on the ball",
    DriftKind.flip_count: "h(ρ) = s·c·√G(ρ²), G the greedy fill of activation flips",
    DriftKind.none: "no drift bound",
}
_LABEL = {
    DriftKind.lipschitz: "Lipschitz",
    DriftKind.ball_lipschitz: "ball-local Lipschitz",
    DriftKind.flip_count: "activation-flip",
    DriftKind.none: "no",
}


class Drift(Protocol):
    """``h(ρ)`` and its inverse at a target; ``kind`` names the bound in the JSON."""

    @property
    def kind(self) -> DriftKind: ...

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
    kind: DriftKind = DriftKind.lipschitz

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
    kind: DriftKind = DriftKind.none

    def h(self, rho: float) -> float:
        return math.inf

    def safe_radius(self, target: float) -> float:
        return 0.0

    def lipschitz(self, rho: float) -> float | None:
        return None

    def pair(self, rho: float) -> float:
        return math.inf
