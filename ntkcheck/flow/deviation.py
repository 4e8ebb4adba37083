"""Gradient flow of the true network, ``dθ/dt = −γ J_θᵀ r(θ)`` (THEORY.md §1).

In rescaled time ``τ = γ² t`` the scaled displacement ``v = γ(θ − θ0)`` obeys
``dv/dτ = −J_θᵀ r(θ)``. The linearized flow's displacement ``ṽ(τ) = −J0ᵀ u(τ)``
is known in closed form, so we integrate only the *deviation* ``e = v − ṽ``:

    de/dτ = −J_θᵀ r(θ) + J0ᵀ r̃(τ),    θ = θ0 + (ṽ(τ) + e)/γ.

In the lazy regime e is tiny, and the integrator's tolerances apply to it: the
linearization gap ‖r_t − r̃_t‖ is then measured to many digits instead of being
lost under the error of the full displacement (tolerances relative to
what moves). Each right-hand side is one forward and two backward
products, O(n·N·d); the Jacobian is never formed. SciPy's DOP853 (8th order,
adaptive) is stepped by hand and its dense output read at the checkpoints, so
an interruption or a divergence keeps every checkpoint reached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.integrate import DOP853
from scipy.linalg import eigh

from ..models.protocol import Linearization
from ..problem import Problem
from ..theory.linear_flow import LinearizedFlow
from .expint import LowRankLinearPart

Progress = Callable[[int, float], None]


class _Diverged(Exception):
    pass


@dataclass(frozen=True)
class FlowResult:
    """Deviations ``e_k = γ(θ_{t_k} − θ̃_{t_k})`` at the checkpoints reached, and counters."""

    tau: np.ndarray
    states: list[np.ndarray]
    n_rhs: int
    status: str  # "completed" | "diverged" | "interrupted" | "failed"
    message: str
    rtol: float
    atol: float
    n_steps: int = 0
    method: str = "expint"
    n_linear: int = 0  # products with J0 or J0ᵀ made by an exponential integrator
    n_refactor: int = 0  # Gram eigendecompositions at the current θ (re-linearizations)
    atol_sum: float = 0.0  # Σ over steps of the ℓ² absolute tolerance each step was held to

    @property
    def completed(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True, eq=False)
class Deviation:
    """The flow's coordinates: θ0, the linearization at θ0 and the linear flow.

    Owns the encoding ``θ = θ0 + (ṽ(τ) + e)/γ`` with ``ṽ(τ) = −J0ᵀ u(τ)``;
    consumers ask for θ (``theta``) or the displacement, never decode e.
    """

    problem: Problem
    lin0: Linearization
    lin: LinearizedFlow
    #: the last (τ, ṽ(τ), J0ᵀr̃(τ)): a step evaluates the same τ more than once (a stage
    #: at c = ½ twice, the step's end again as the next step's start)
    _last: list[tuple[float, np.ndarray, np.ndarray]] = field(
        default_factory=list, compare=False, repr=False
    )
    #: the last (τ, e, linearization at θ(τ, e))
    _state: list[tuple[float, np.ndarray, Linearization]] = field(
        default_factory=list, compare=False, repr=False
    )

    @property
    def gamma(self) -> float:
        """γ of this flow (the linear flow's): the problem holds none."""
        return self.lin.gamma

    @cached_property
    def r0(self) -> np.ndarray:
        """r(θ0), the certificate's (``Problem.residual0``)."""
        return self.problem.residual0(self.gamma)

    def residual(self, f: np.ndarray) -> np.ndarray:
        """``r(θ) = γ(f_θ(X) − f̂_θ0(X)) + r(θ0)``, f̂ computed by the same routine as f.

        Equal to ``γf_θ − y`` (or the centered form) in exact arithmetic; in floating
        point the common rounding of f and f̂ cancels, and r(θ0) is exactly the
        certificate's (a symmetric init's computed f_θ0 is rounding noise, ~1e-16·N,
        which γ = 1e8 would turn into a visible 1e-8 offset).
        """
        return self.gamma * (f - self.lin0.f) + self.r0

    def _parts(self, tau: float) -> tuple[np.ndarray, np.ndarray]:
        """``ṽ(τ) = −J0ᵀu(τ)`` and ``J0ᵀ r̃(τ)``, from one batched product with J0ᵀ."""
        if self._last and self._last[0][0] == tau:
            return self._last[0][1], self._last[0][2]
        both = self.lin0.vjp(
            np.stack([self.lin.displacement_weights(tau), self.lin.residual(tau)], axis=1)
        )
        self._last[:] = [(tau, -both[:, 0], both[:, 1])]
        return self._last[0][1], self._last[0][2]

    def displacement(self, tau: float, e: np.ndarray) -> np.ndarray:
        """``γ(θ − θ0) = ṽ(τ) + e`` (P,)."""
        return e + self._parts(tau)[0]

    def theta(self, tau: float, e: np.ndarray) -> np.ndarray:
        """θ at rescaled time τ for the deviation e."""
        return self.problem.model.theta0 + self.displacement(tau, e) / self.gamma

    def linearization(self, tau: float, e: np.ndarray) -> Linearization:
        """The model linearized at θ(τ, e); the last one is kept (``rhs`` and
        ``linear_part`` at the same point share it)."""
        last = self._state
        if last and last[0][0] == tau and np.array_equal(last[0][1], e):
            return last[0][2]
        p = self.problem
        state = p.model.linearize(p.X, self.theta(tau, e))
        self._state[:] = [(tau, e.copy(), state)]
        return state

    def rhs(self, tau: float, e: np.ndarray) -> np.ndarray:
        """``de/dτ = −J_θᵀ r(θ) + J0ᵀ r̃(τ)`` with θ = θ0 + (ṽ(τ) + e)/γ."""
        state = self.linearization(tau, e)
        return self._parts(tau)[1] - state.vjp(self.residual(state.f))

    def rhs_noise(
        self, rhs: Callable[[float, np.ndarray], np.ndarray], size: float
    ) -> tuple[float, float]:
        """(ρ, ν⊥): the rounding noise of the right-hand side, as ``ExpRK``'s ``noise`` models it.

        Rounding θ = θ0 + (ṽ + e)/γ and computing γf_θ perturb r by a vector ξ of about ρ
        per component, so F by −J_θᵀξ: ρ·σ_k along the k-th singular direction; the
        products themselves add ν⊥ (ℓ²) outside the range of J0ᵀ. One sample at τ = 0:
        ``F(0, δ) + A0 δ`` (‖δ‖ = ``size``, seeded) is that noise, since F(0, δ) = −A0δ
        in exact arithmetic and θ = θ0 + δ/γ moves θ by about an ulp. Its coordinates
        ``u = VᵀJ0(·) = λ ⊙ Vᵀξ`` give ρ² as the mean of ``(u_k/λ_k)²`` over the modes
        with λ_k > 0, and ν⊥² = ‖sample‖² − Σ_k u_k²/λ_k. One right-hand side, two
        products with J0, one with J0ᵀ.
        """
        lam, V = self.lin.eigenvalues, self.lin.eigenvectors
        keep = lam > 1e-12 * float(lam[-1]) if lam.size else lam > 0
        delta = np.random.default_rng(0).standard_normal(self.problem.model.n_params)
        delta *= size / float(np.linalg.norm(delta))
        sample = rhs(0.0, delta) + self.lin0.vjp(self.lin0.jvp(delta))
        u = (V.T @ self.lin0.jvp(sample))[keep]
        in_range = float(np.sum(u * u / lam[keep]))
        rho = math.sqrt(float(np.mean((u / lam[keep]) ** 2))) if np.any(keep) else 0.0
        return rho, math.sqrt(max(float(sample @ sample) - in_range, 0.0))


#: Re-linearize when a step of length h would see ``h·‖K_θ − K_n‖_F`` above this.
REFACTOR_DRIFT = 0.1


class Relinearizer:
    """The linear part ``−A_n = −J_nᵀJ_n`` of the exponential integrator, re-taken at the
    current θ_n when the kernel has moved (``ExpRK``'s ``relinearize``).

    With a frozen A the remainder ``N = F + A e`` contains ``−(A_θ − A)e``, treated
    explicitly: stable only while ``h·‖A_θ − A‖ ≲ 1``. At each step's start the Gram
    ``K_θ = J_θJ_θᵀ`` (the model's structured Gram, never J; n²·P/d) is compared with
    the one in use; when ``h·‖K_θ − K_n‖_F > REFACTOR_DRIFT`` it is eigendecomposed
    (n³) and ``A_θ`` becomes the linear part, applied by products with J_θ and J_θᵀ.
    Counts the eigendecompositions (``n_refactor``).
    """

    def __init__(self, flow: Deviation, K0: np.ndarray | None = None) -> None:
        self.flow = flow
        self.K = K0  # the Gram in use (None: K0, formed on first use)
        self.n_refactor = 0

    def __call__(self, tau: float, e: np.ndarray, h: float) -> LowRankLinearPart | None:
        if self.K is None:
            self.K = self.flow.lin0.gram()
        state = self.flow.linearization(tau, e)
        K = state.gram()
        if h * float(np.linalg.norm(K - self.K)) <= REFACTOR_DRIFT:
            return None
        lam, V = eigh(K, check_finite=False)
        self.K = K
        self.n_refactor += 1
        return LowRankLinearPart(state.jvp, state.vjp, np.clip(lam, 0.0, None), V)


#: Safety factor on the rounding-noise level of the deviation (see ``rounding_noise``).
NOISE_SAFETY = 2.0
EPS = float(np.finfo(np.float64).eps)


def rounding_noise(gamma: float, theta0_norm: float) -> float:
    """The ℓ² level of e = γ(θ − θ̃) below which a step's error estimate is rounding noise.

    θ = θ0 + (ṽ + e)/γ is rounded to ε‖θ0‖, so r = γf(θ) − y carries noise
    ≈ γσ_maxε‖θ0‖ and de/dτ ≈ γσ_max²ε‖θ0‖; a stable explicit step is h ≲ 1/σ_max²,
    so a step's error estimate carries ≈ γε‖θ0‖ of noise. It grows with γ while e
    itself shrinks like 1/γ: without this floor on the absolute tolerance the error
    control chases the noise and the step count grows with γ (125,863 steps at
    γ = 1e8 where γ = 3 took 46).
    """
    return NOISE_SAFETY * EPS * gamma * theta0_norm


METHODS = ("expint", "dop853")
#: A run with a deadline is stopped early once this share of its time is spent and its
#: pace says it cannot finish in time (see ``integrate``).
OVERRUN_AFTER = 0.25


def _solver(
    method: str,
    flow: Deviation,
    rhs: Callable[[float, np.ndarray], np.ndarray],
    t0: float,
    y0: np.ndarray,
    t1: float,
    rtol: float,
    atol: float,
    *,
    noise: tuple[float, float] = (0.0, 0.0),
    relinearize: Relinearizer | None = None,
) -> Any:
    """A SciPy-style stepper: ``step()``, ``t``, ``y``, ``status``, ``dense_output()``."""
    if method == "dop853":
        return DOP853(rhs, t0, y0, t1, rtol=rtol, atol=atol)
    if method != "expint":
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    from .expint import ExpRK

    linear = LowRankLinearPart(
        flow.lin0.jvp, flow.lin0.vjp, flow.lin.eigenvalues, flow.lin.eigenvectors
    )
    return ExpRK(
        rhs, linear, t0, y0, t1, rtol=rtol, atol=atol, full_rhs=True, noise=noise,
        relinearize=relinearize,
    )  # fmt: skip


def integrate(
    flow: Deviation,
    tau: np.ndarray,
    *,
    scale: float,
    noise: float = 0.0,
    rtol: float = 1e-10,
    atol_rel: float = 1e-11,
    progress: Progress | None = None,
    method: str = "expint",
    relinearize: bool = False,
    deadline: float | None = None,
    K0: np.ndarray | None = None,
) -> FlowResult:
    """Integrate the deviation e from the linearized flow; return e at each ``tau[k]``.

    ``noise`` is an ℓ² level of e below which float64 cannot resolve the flow (see
    ``rounding_noise``); the absolute tolerance never goes below it, so the steps
    do not chase rounding noise. ``scale`` is
    the size of the whole displacement (e.g. ‖r0‖/σ_min); the absolute tolerance
    per component is ``atol_rel · scale / √P`` (an ℓ² error of ``atol_rel·scale``).

    ``method``: ``expint`` (default) — the exponential Runge–Kutta pair RK43ZB with the
    frozen-kernel flow −J0ᵀJ0 as its exact linear part (``expint.py``), so its steps are
    bound by the accuracy of the small remainder, not by the stiffness κ²; its error
    control also knows the rounding noise of the right-hand side (``Deviation.rhs_noise``),
    which its long steps would otherwise chase; with ``relinearize`` the linear part is
    re-taken at the current θ when the kernel moves (``Relinearizer``); ``dop853`` —
    SciPy's explicit 8th-order method, for comparison.

    ``K0``: the Gram at θ0 when the caller holds it (the re-linearizer starts from it).
    ``progress(k, τ)`` is called at each checkpoint k reached and after each step (k the
    last checkpoint reached, τ the step's end). Past ``deadline`` (a
    ``time.perf_counter()`` value) the run stops with status ``over_budget``; so it does
    once a quarter of the time to the deadline is spent and the steps at the present
    step size and pace would not reach the horizon before it (the time is then not
    spent in vain: a pass held by noise stalls at small steps).
    """
    count = [0]
    n_steps = 0
    n_params = flow.problem.model.n_params
    atol = max(atol_rel * max(scale, np.finfo(float).tiny), noise) / math.sqrt(n_params)

    def rhs(t: float, e: np.ndarray) -> np.ndarray:
        count[0] += 1
        out = flow.rhs(t, e)
        if not np.all(np.isfinite(out)):
            raise _Diverged
        return out

    zero = np.zeros(n_params)
    noise_model = (0.0, 0.0)
    relin = None
    if method == "expint":
        noise_model = flow.rhs_noise(rhs, max(noise, atol * math.sqrt(n_params)))
        relin = Relinearizer(flow, K0) if relinearize else None
    solver = _solver(method, flow, rhs, float(tau[0]), zero, float(tau[-1]), rtol, atol,
                     noise=noise_model, relinearize=relin)  # fmt: skip
    states = [zero]
    status, message = "completed", "integrated to the horizon"
    started = time.perf_counter()
    try:
        while len(states) < len(tau):
            message_step = solver.step()
            if solver.status == "failed":
                status, message = "failed", f"the integrator stopped: {message_step}"
                break
            if not np.all(np.isfinite(solver.y)):
                raise _Diverged
            dense = None  # a dense output costs extra products: only when needed
            while len(states) < len(tau) and tau[len(states)] <= solver.t:
                k = len(states)
                if tau[k] == solver.t:
                    states.append(solver.y.copy())
                else:
                    if dense is None:
                        dense = solver.dense_output()
                    states.append(dense(tau[k]))
                if progress is not None:
                    progress(k, float(tau[k]))
            n_steps += 1
            if progress is not None:
                progress(len(states) - 1, float(solver.t))
            if deadline is not None and len(states) < len(tau):
                now = time.perf_counter()
                pace = (now - started) / n_steps  # seconds per step
                h = max(float(getattr(solver, "step_size", 0.0) or 0.0), np.finfo(float).tiny)
                late = now - started >= OVERRUN_AFTER * (deadline - started) and (
                    now + pace * (float(tau[-1]) - solver.t) / h > deadline
                )
                if now > deadline or late:
                    status = "over_budget"
                    message = f"stopped at τ = γ²t = {solver.t:.3g}: over budget"
                    break
    except _Diverged:
        status = "diverged"
        message = (
            f"the flow diverged (non-finite values) after τ = γ²t = {solver.t:.3g}; "
            "γ or the initialization is too large for float64"
        )
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
    return FlowResult(
        tau=np.asarray(tau[: len(states)]),
        states=states,
        n_rhs=count[0],
        status=status,
        message=message,
        rtol=rtol,
        atol=atol,
        n_steps=n_steps,
        method=method,
        n_linear=int(getattr(solver, "nlinear", 0)),
        n_refactor=relin.n_refactor if relin is not None else 0,
        atol_sum=float(getattr(solver, "atol_sum", n_steps * atol * math.sqrt(n_params))),
    )
