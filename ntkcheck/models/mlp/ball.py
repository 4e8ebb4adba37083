"""The ball-local drift bound h(ρ) = β(ρ)·ρ of a deep network (THEORY.md §8, §10).

For ‖θ − θ0‖ ≤ ρ and every sample j, ``‖∇²_θ f(x_j; θ)‖_op ≤ B_j(ρ)`` with
``B_j(ρ) = ρ_Perron(M_j(ρ))``, M_j the L × L nonnegative matrix of
docs/theory-mlp.md §4, built layer by layer from per-sample upper bounds at θ0
(``Theta0``: ‖h_k‖, ‖g_k‖_∞, ‖δ_k‖, ‖σ'(z_k)‖_∞), their growth over the ball
(each at most ρ times a Lipschitz bound), the proved ‖W_k⁰‖_op + ρ, sup|σ'| and
sup|σ''|. Then ``β(ρ) = (Σ_j B_j(ρ)²)^{1/2}`` and

    ‖J_θ − J0‖_op ≤ ‖J_θ − J0‖_F ≤ ρ β(ρ) =: h(ρ).

The per-neuron structure sits in ‖g_k‖_∞ (THEORY.md §10's warning): replacing it
by ‖g_k‖₂ (:meth:`BallBound.beta` with ``linf=False``) gives the ℓ2-chain bound,
rigorous too but without the 1/√width decay of the Hessian.

C outputs (THEORY.md §14, docs/theory-mlp.md §9): the same recursion, fed by
``Theta0``'s sups over unit output weights q (max_i ‖g_k[i, :]‖, ‖δ_k‖_op), bounds
``sup_q sup_ball ‖∇²_θ(qᵀf)(x_j)‖_op`` ≥ the drift rate of point j's C × P block of J
in operator norm, so ``β(ρ) = (Σ_j B_j(ρ)²)^{1/2}`` over the n points bounds the
m-row Jacobian's drift (``‖A‖²_op ≤ Σ_j ‖A_j‖²_op`` for row blocks A_j); h, the
Lipschitz form and the pair bound 2h are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...theory.drift import DriftKind
from .rounding import ActivationConstants, LayerConstants
from .theta0 import Theta0

#: Relative outward rounding of β(ρ): the recursions are sums and products of
#: nonnegative numbers, O(L²) operations per sample (≪ 2⁻³⁰ relative).
_OUT = 1.0 + 2.0**-30
#: Relative tolerance of the safe-radius bisection.
RADIUS_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class BallBound:
    """β(ρ) from the θ0 bounds and the layer constants (docs/theory-mlp.md §4)."""

    theta0: Theta0
    layers: tuple[LayerConstants, ...]
    activation: ActivationConstants
    s: float
    bias: bool
    trained: tuple[bool, ...]

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def vanishes(self) -> bool:
        """β ≡ 0: σ'' = 0 and no product of two trained layers (a model linear in θ)."""
        return self.activation.lip == 0.0 and not any(self.trained[1:])

    def hessian_bounds(self, rho: float, *, linf: bool = True) -> np.ndarray:
        """B_j(ρ) ≥ sup over the ball of ‖∇²_θ f(x_j; θ)‖_op, per sample (n,); with C
        outputs of ‖∇²_θ (qᵀf)(x_j; θ)‖_op, also over unit q ∈ R^C."""
        t0, ac, lc = self.theta0, self.activation, self.layers
        L = self.depth
        n = t0.h.shape[1]
        D2 = ac.lip
        omega = [c.omega + (rho if self.trained[k] else 0.0) for k, c in enumerate(lc)]
        alpha = [c.alpha for c in lc]
        bias = 1.0 if self.bias else 0.0
        # forward: tangent coefficients τ_k (‖ż_k‖ ≤ ⟨τ_k, m⟩ for a unit direction with
        # per-layer budgets m) and sup|σ'(z_k)| on the ball
        tau: list[np.ndarray] = []
        d1: list[np.ndarray] = []
        for k in range(L - 1):
            if k == 0:
                eta = t0.h[0]
                t = np.zeros((n, L))
            else:
                eta = t0.h[k] + rho * d1[k - 1] * np.linalg.norm(tau[k - 1], axis=1)
                t = (omega[k] * alpha[k] * d1[k - 1])[:, None] * tau[k - 1]
            t[:, k] += np.sqrt((alpha[k] * eta) ** 2 + bias)
            tau.append(t)
            grow = D2 * rho * np.linalg.norm(t, axis=1) if D2 > 0.0 else 0.0
            d1.append(np.minimum(ac.sup_prime, t0.prime[k] + grow))
        # backward: ‖g_k‖_∞ ≤ G_k, ‖δ_k‖ ≤ Δ_k on the ball; λ_k the Lipschitz
        # coefficients of δ_k, κ_k those of g_k
        g0 = t0.g if linf else t0.g2
        G: list[np.ndarray] = [np.zeros(n)] * (L - 1)
        Delta: list[np.ndarray] = [np.zeros(n)] * (L - 1) + [np.full(n, abs(self.s))]
        lam_next = np.zeros((n, L))
        for k in range(L - 2, -1, -1):
            kappa = (alpha[k + 1] * omega[k + 1]) * lam_next
            if self.trained[k + 1]:
                kappa[:, k + 1] += alpha[k + 1] * Delta[k + 1]
            G[k] = g0[k] + rho * np.linalg.norm(kappa, axis=1)
            lam = d1[k][:, None] * kappa + (D2 * G[k])[:, None] * tau[k]
            Delta[k] = t0.delta[k] + rho * np.linalg.norm(lam, axis=1)
            lam_next = lam
        # the bilinear form |uᵀ∇²f v| ≤ m_uᵀ M m_v
        M = np.zeros((n, L, L))
        for k in range(1, L):
            if not self.trained[k]:
                continue
            c = (alpha[k] * Delta[k] * d1[k - 1])[:, None] * tau[k - 1]
            M[:, k, :] += c
            M[:, :, k] += c
        if D2 > 0.0:
            for k in range(L - 1):
                M += (D2 * G[k])[:, None, None] * (tau[k][:, :, None] * tau[k][:, None, :])
        return perron_upper(M)

    def beta(self, rho: float, *, linf: bool = True) -> float:
        """β(ρ) = (Σ_j B_j(ρ)²)^{1/2}, rounded up."""
        B = self.hessian_bounds(rho, linf=linf)
        return float(np.sqrt(B @ B)) * _OUT


def perron_upper(M: np.ndarray) -> np.ndarray:
    """Upper bounds on the Perron root of each nonnegative M[j] (L × L).

    Collatz–Wielandt: ρ(M) ≤ max_i (M v)_i / v_i for any v > 0; v is the computed
    top eigenvector (absolute values, floored at 1e-12 of its maximum). All
    entries are nonnegative, so (M v)_i is computed to γ_L relative. Capped by
    ‖M‖_F (always valid).
    """
    if M.shape[0] == 0:
        return np.zeros(0)
    L = M.shape[1]
    frob = np.sqrt(np.einsum("jab,jab->j", M, M))
    _, V = np.linalg.eigh(M)
    v = np.abs(V[:, :, -1])
    v = np.maximum(v, 1e-12 * np.max(v, axis=1, keepdims=True))
    cw = np.max(np.einsum("jab,jb->ja", M, v) / v, axis=1) * (1.0 + 4.0 * (L + 2) * 2.0**-53)
    return np.minimum(np.nan_to_num(cw, nan=np.inf), frob * (1.0 + 2.0**-40))


@dataclass(frozen=True, eq=False)
class BallDrift:
    """``h(ρ) = β(ρ)·ρ`` (THEORY.md §8) with the rigorous ball-local β of a deep network."""

    bound: BallBound
    rigorous: bool = True
    kind: DriftKind = DriftKind.ball_lipschitz
    _radii: dict[float, float] = field(default_factory=dict, compare=False, repr=False)

    def h(self, rho: float) -> float:
        if rho <= 0.0 or self.bound.vanishes:
            return 0.0
        return rho * self.bound.beta(rho) * _OUT

    def lipschitz(self, rho: float) -> float | None:
        """β(ρ) rounded up: J is β(ρ)-Lipschitz on the ball (THEORY.md §10, §13 (L))."""
        if self.bound.vanishes:
            return 0.0
        return self.bound.beta(max(rho, 0.0)) * _OUT

    def pair(self, rho: float) -> float:
        return 2.0 * self.h(rho)

    def safe_radius(self, target: float) -> float:
        """ρ* = sup{ρ : h(ρ) ≤ target}, from below to relative ``RADIUS_RTOL``; cached
        per target (both theorems, and every γ of a sweep, ask for the same ρ*)."""
        radius = self._radii.get(target)
        if radius is None:
            radius = self._radii[target] = self._safe_radius(target)
        return radius

    def _safe_radius(self, target: float) -> float:
        """h increases, so ρ* ≤ hi = target/β(0) and lo = target/β(hi) has h(lo) ≤
        target. Brent's method finds the crossing in the bracket [lo, hi] (about ten
        evaluations of h where bisection took forty); the answer is moved below it by
        ``RADIUS_RTOL`` and checked, h(ρ) ≤ target, with a bisection from below when
        the check fails (h has kinks where a bound saturates)."""
        if not target > 0.0:
            return 0.0
        if self.bound.vanishes:
            return math.inf
        beta0 = self.bound.beta(0.0)
        if beta0 > 0.0:
            hi = target / beta0
        else:  # β(0) = 0 (e.g. zero weights): double until h passes the target
            hi = 1.0
            while self.h(hi) <= target:
                hi *= 2.0
                if hi > 1e300:
                    return math.inf
        h_hi = self.h(hi)
        if h_hi <= target:
            return hi
        lo = target / (h_hi / hi)  # target / (β(hi)·(1 + rounding)): h(lo) ≤ target
        if self.h(lo) > target:  # only through rounding: the whole bracket
            lo = 0.0
        from scipy.optimize import brentq

        root = brentq(lambda rho: self.h(rho) - target, lo, hi, xtol=1e-300, rtol=RADIUS_RTOL / 4)
        below = max(lo, root * (1.0 - RADIUS_RTOL))
        if self.h(below) <= target:
            return below
        hi = below
        while hi - lo > RADIUS_RTOL * hi:
            mid = 0.5 * (lo + hi)
            if self.h(mid) <= target:
                lo = mid
            else:
                hi = mid
        return lo
