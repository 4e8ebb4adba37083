"""The linearized network's gradient flow in closed form (THEORY.md §1) — never integrated.

With ``K0 = V diag(λ) Vᵀ``, ``r0 = r(θ0)`` and rescaled time ``τ = γ² t``:

    r̃(τ)          = V diag(e^{−λ_k τ}) Vᵀ r0
    ‖θ̃(τ) − θ0‖²  = (1/γ²) cᵀ diag(λ) c,   c = diag((1 − e^{−λ_k τ})/λ_k) Vᵀ r0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh


@dataclass(frozen=True, eq=False)
class LinearizedFlow:
    """The eigendecomposition of K0 and ``Vᵀ r0``: everything the closed form needs."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    r0_coefficients: np.ndarray
    gamma: float

    @classmethod
    def from_gram(cls, K0: np.ndarray, r0: np.ndarray, gamma: float) -> LinearizedFlow:
        lam, V = eigh(K0, check_finite=False)
        return cls(np.clip(lam, 0.0, None), V, V.T @ r0, gamma)

    def residual(self, tau: float) -> np.ndarray:
        """r̃(τ) = V diag(e^{−λτ}) Vᵀ r0."""
        return self.eigenvectors @ (np.exp(-self.eigenvalues * tau) * self.r0_coefficients)

    def coefficients(self, tau: float) -> np.ndarray:
        """c(τ) = diag((1 − e^{−λ_k τ})/λ_k) Vᵀ r0 (→ τ·(Vᵀr0)_k where λ_k = 0)."""
        lam = self.eigenvalues
        safe = np.where(lam > 0, lam, 1.0)
        gain = np.where(lam > 0, -np.expm1(-lam * tau) / safe, tau)
        return gain * self.r0_coefficients

    def displacement_weights(self, tau: float) -> np.ndarray:
        """u(τ) = V c(τ), so that γ(θ̃(τ) − θ0) = −J0ᵀ u(τ) (THEORY.md §1)."""
        return self.eigenvectors @ self.coefficients(tau)

    def param_dist(self, tau: float) -> float:
        """‖θ̃(τ) − θ0‖ = (1/γ) √(cᵀ diag(λ) c)."""
        c = self.coefficients(tau)
        return float(np.sqrt(np.sum(self.eigenvalues * c * c))) / self.gamma
