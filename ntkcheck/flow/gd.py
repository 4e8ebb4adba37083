"""Gradient descent with a step size, run exactly (THEORY.md §13): ``train.method: gd``.

The true network takes the configured steps one by one (no ODE),

    Δ_k = θ_{k+1} − θ_k = −ηγ J_kᵀ r_k      on L = ½‖r‖²,

one forward pass (``linearize(X, θ_k)``: f and the Jacobian's factors) and one
``vjp`` per step; J is never formed, and nothing of size K·P is kept. Beside it,
GD with the same step on the linearized network in closed form (§13, G5):

    s_k = (I − ηγ²K0)^k r0 = V diag(μ^k) Vᵀ r0,   μ = 1 − ηγ²λ,   K0 = V diag(λ) Vᵀ,
    θ̃_k − θ0 = −(1/γ) J0ᵀ V diag((1 − μ^k)/λ) Vᵀ r0   (→ ηγ²k where λ = 0).

G1 (per-step decrease and the rate), G2 (the time-resolved path bound and R_gd) and
G5 (‖r_k − s_k‖) are checked at every step; the checkpoints add the n×n measures
(σ_min(J_k), ‖J_k‖ from the Gram at θ_k: G3) and the arrays of the JSON.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..linalg import dense
from ..linalg.memory import require
from ..linalg.threads import blas_threads, threads_for
from ..models.protocol import Linearization
from ..models.registry import shrink_advice
from ..problem import Problem
from ..theory.gd import STATEMENTS, GdGuarantees, contraction
from . import GD_SIMULATION_ARRAYS
from .checks import ROUNDING, Check, not_applicable_checks
from .classes import CLASS_ARRAYS, ClassRule, points_text

#: ``progress(k, L_k)``: steps done and the loss ½‖r_k‖² (the flow's ``Progress`` type).
Progress = Callable[[int, float], None]

#: Unit roundoff of float64.
UNIT = 2.0**-53
#: Safety factor on the rounding model of one step (see ``step_noise``).
NOISE_SAFETY = 16.0
#: A run is stopped as diverged at the first loss above this multiple of L0 (or non-finite).
DIVERGENCE_FACTOR = 1e6
#: ``progress`` is called at most this often (seconds), and at the last step.
PROGRESS_SECONDS = 0.5


def checkpoint_steps(steps: int, points: int) -> np.ndarray:
    """``points`` distinct integer steps from 0 to K (all of 0..K when K < points).

    They are the quantiles of an equal mixture of a uniform and a logarithmic
    density on [0, K], ``F(k) = ½·k/K + ½·ln(1 + k)/ln(1 + K)``: half of them resolve
    the early transient (the modes of K0 with large λ decay within 1/(ηγ²λ_max)
    steps, the smallest within 1/(ηγ²λ_min)), half the exponential tail, which is
    straight on a log-loss plot against k. Rounded to integers, then made strictly
    increasing (each at least one above the previous, at most K minus the points
    still to come).
    """
    if steps < 0 or points < 1:
        raise ValueError(f"steps must be ≥ 0 and points ≥ 1, got {steps} and {points}")
    if steps + 1 <= points:
        return np.arange(steps + 1)
    if points == 1:
        return np.array([steps])
    u = np.linspace(0.0, 1.0, points)
    log_top = math.log1p(steps)
    lo, hi = np.zeros(points), np.full(points, float(steps))
    for _ in range(80):  # bisection on the increasing F
        mid = 0.5 * (lo + hi)
        low = 0.5 * mid / steps + 0.5 * np.log1p(mid) / log_top < u
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    target = np.rint(0.5 * (lo + hi)).astype(np.int64)
    out = np.empty(points, dtype=np.int64)
    prev = -1
    for i, k in enumerate(target):
        prev = int(min(max(int(k), prev + 1), steps - (points - 1 - i)))
        out[i] = prev
    out[0], out[-1] = 0, steps
    return out


def _geometric(mu: np.ndarray, k: int) -> np.ndarray:
    """Σ_{j<k} μ^j elementwise, = (1 − μ^k)/(1 − μ), without cancellation near μ = 1."""
    x = 1.0 - mu
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        near = np.abs(x) < 1e-3
        safe = np.where(near, 1.0, x)
        far = (1.0 - mu**k) / safe
        # μ = 1 − x with 0 ≤ x < 1e-3: 1 − μ^k = −expm1(k·log1p(−x))
        xs = np.where(near, x, 0.0)
        close = np.where(xs != 0.0, -np.expm1(k * np.log1p(-xs)) / np.where(xs != 0, xs, 1.0), k)
    return np.where(near, close, far)


@dataclass(frozen=True, eq=False)
class LinearizedGd:
    """GD with step η on the linearized network, in closed form through K0's eigenpairs
    (THEORY.md §13, G5): ``s_k = V diag(μ^k) Vᵀ r0``, μ = 1 − ηγ²λ (never iterated)."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    r0_coefficients: np.ndarray
    eta: float
    gamma: float

    @classmethod
    def from_gram(cls, K0: np.ndarray, r0: np.ndarray, eta: float, gamma: float) -> LinearizedGd:
        """``eigh`` once (NumPy's up to ``linalg.dense.NUMPY_MAX_N``, SciPy's beyond)."""
        if dense.by_numpy(K0.shape[0]):
            lam, V = np.linalg.eigh(K0, UPLO="U")
        else:
            from scipy.linalg import eigh

            lam, V = eigh(K0, lower=False, check_finite=False)
        lam = np.clip(lam, 0.0, None)
        return cls(lam, V, V.T @ r0, eta, gamma)

    @property
    def multipliers(self) -> np.ndarray:
        """μ = 1 − ηγ²λ: s_k's coefficient on each eigenvector is multiplied by μ per step."""
        return 1.0 - self.eta * self.gamma * self.gamma * self.eigenvalues

    def coefficients(self, k: int) -> np.ndarray:
        """Vᵀ s_k = μ^k ⊙ Vᵀ r0 (∞ where |μ| > 1 and k is large: GD diverges there)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.multipliers**k * self.r0_coefficients

    def residual(self, k: int) -> np.ndarray:
        """s_k = V (μ^k ⊙ Vᵀ r0)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.eigenvectors @ self.coefficients(k)

    def loss(self, k: int) -> float:
        """½‖s_k‖² (V is orthogonal)."""
        c = self.coefficients(k)
        with np.errstate(over="ignore", invalid="ignore"):
            return 0.5 * float(c @ c)

    def param_dist(self, k: int) -> float:
        """‖θ̃_k − θ0‖ = ηγ·(Σ λ·(G_k c0)²)^{1/2} with G_k = Σ_{j<k} μ^j, c0 = Vᵀr0
        (θ̃_k − θ0 = −ηγ J0ᵀ Σ_{j<k} s_j)."""
        w = _geometric(self.multipliers, k) * self.r0_coefficients
        with np.errstate(over="ignore", invalid="ignore"):
            return self.eta * self.gamma * math.sqrt(float(np.sum(self.eigenvalues * w * w)))


@dataclass
class _Part:
    """One inequality ``measured ≤ bound`` followed along the run (the streaming form of
    ``checks._ratio_check``): holds at a step when ``m ≤ b·(1 + ROUNDING) + floor``;
    the ratio m/b counts where b > 10·floor (resolved)."""

    worst: float = -math.inf
    worst_step: int | None = None
    last: float | None = None
    violated: bool = False
    first_violation: int | None = None

    def add(self, step: int, m: float, b: float, floor: float) -> None:
        if not m <= b * (1.0 + ROUNDING) + floor:  # NaN counts as a violation
            if not self.violated:
                self.first_violation = step
            self.violated = True
        if b > 10.0 * floor:
            ratio = m / b
            self.last = ratio
            if self.worst_step is None or ratio > self.worst:
                self.worst, self.worst_step = ratio, step


def _check(cid: str, parts: list[_Part], estimate: bool) -> Check:
    """C1–C5's ``Check`` for a G-check (``worst_t`` holds the step of the worst ratio)."""
    violated = any(p.violated for p in parts)
    resolved = [p for p in parts if p.worst_step is not None]
    if not resolved:
        return Check(cid, STATEMENTS[cid], True, False if violated else None, None, None,
                     estimate, None, "gd")  # fmt: skip
    top = max(resolved, key=lambda p: p.worst)
    final = max(p.last for p in resolved if p.last is not None)
    return Check(cid, STATEMENTS[cid], True, not violated, top.worst, float(top.worst_step or 0),
                 estimate, final, "gd")  # fmt: skip


def step_noise(
    gamma: float, jacobian: float, theta_norm: float, f_norms: float, r0: float
) -> float:
    """The rounding of one step in units of r (ℓ²): ``NOISE_SAFETY·u·(γ‖J‖‖θ‖ + γ(‖f_k‖ +
    ‖f_0‖) + ‖r0‖)``.

    r_k = γ(f_k − f̂_0) + r0: the forward pass is backward stable in θ (each weight
    perturbed by O(u) relative, hence ≲ γ‖J‖·u‖θ‖), the sums and activations add
    u·γ‖f‖, the shift u‖r0‖; θ_k + Δ_k is rounded to u‖θ‖ (the first term again);
    Δ_k = −ηγJ_kᵀ r_k carries that error on to r_{k+1} times ‖ηγ²K_k‖ < 2 (c1 < 2),
    which the safety factor covers with the summation lengths. Measured (two-layer
    tanh and relu, γ = 1e2–1e5): a converged run's ‖r_k‖ stalls at 0.008–0.02 of
    u·(…), so this floor is ~1000× the observed noise — an upper bound of the
    normwise model, not a fit; the checks are resolved down to ‖r_k‖ ≈ 1e-9–1e-6·‖r0‖.
    """
    return NOISE_SAFETY * UNIT * (gamma * jacobian * theta_norm + gamma * f_norms + r0)


@dataclass(frozen=True, eq=False)
class GdSimulation:
    """GD on the true network and on its linearization at the checkpoints, and G1–G5.

    Arrays (``GD_SIMULATION_ARRAYS``, one entry per checkpoint reached): ``step`` k,
    ``loss`` ½‖r_k‖², ``loss_lin`` ½‖s_k‖², ``param_dist`` ‖θ_k − θ0‖,
    ``param_dist_lin`` ‖θ̃_k − θ0‖, ``path_length`` Σ_{j<k}‖Δ_j‖, ``gap`` ‖r_k − s_k‖,
    ``sigma_min_t``/``jacobian_norm_t`` σ_min(J_k), ‖J_k‖ (from the Gram at θ_k),
    ``kernel_change`` ‖K_k − K0‖_F/‖K0‖_F, ``weight_change`` ‖θ_k − θ0‖/‖θ0‖; with class
    labels ``accuracy``, ``accuracy_linear`` (the network's and the linearized GD's
    training accuracy) and ``agreement`` (``flow.classes``), else None.
    ``status``: ``completed``, ``diverged`` (stopped at ``steps_done``: a non-finite
    loss or one above 1e6·L0) or ``interrupted``; ``stability`` = ηγ²σ_max² with the
    σ_max given, ``contraction`` = max(|1 − ηγ²σ_min²|, |ηγ²σ_max² − 1|) (> 1: the
    linearized GD diverges); ``error_floor`` the
    largest per-step rounding of r (``step_noise``).
    """

    step: np.ndarray
    loss: np.ndarray
    loss_lin: np.ndarray
    param_dist: np.ndarray
    param_dist_lin: np.ndarray
    path_length: np.ndarray
    gap: np.ndarray
    sigma_min_t: np.ndarray
    jacobian_norm_t: np.ndarray
    kernel_change: np.ndarray
    weight_change: np.ndarray
    checks: tuple[Check, ...]
    eta: float
    gamma: float
    steps: int
    steps_done: int
    status: str
    message: str
    stability: float
    contraction: float
    error_floor: float
    timing: dict[str, float] = field(default_factory=dict, compare=False)
    accuracy: np.ndarray | None = None
    accuracy_linear: np.ndarray | None = None
    agreement: np.ndarray | None = None

    @property
    def all_hold(self) -> bool:
        """No applicable check failed, and at least one was resolved (unresolved ones pass)."""
        applicable = [c for c in self.checks if c.applicable]
        return any(c.holds for c in applicable) and not any(c.holds is False for c in applicable)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"


@dataclass
class _Checks:
    """The running parts of G1, G2, G3, G5 and the accumulated rounding they allow.

    Rounding floors (per unit; δ_k = ``step_noise`` at step k, ζ = max(λ, q_J) the
    contraction of a perturbation of r along the run, λ = rate^{1/2},
    q_J = max(|1 − ηγ²α²|, |ηγ²Σ² − 1|) < 1):

    - G1 decrease, ``(a/η)‖Δ_k‖² ≤ ‖r_k‖² − ‖r_{k+1}‖²`` (the difference formed as
      −⟨r_{k+1} − r_k, r_{k+1} + r_k⟩): ``2(‖r_k‖ + ‖r_{k+1}‖)δ + 2δ² +
      (a/η)((‖Δ_k‖ + ηγΣδ)² − ‖Δ_k‖²)`` — the residuals known to δ, the step computed
      from a residual off by δ;
    - G1 rate, ``L_k ≤ rate^k·L0``: ``‖r_k‖e_k + ½e_k²`` with e_k = ζe_{k−1} + δ_k (the
      errors of earlier steps contract at most by ζ), plus 4k·u·rate^k·L0 (the power);
    - G2, ``Σ_{j<k}‖Δ_j‖ ≤ 2(‖r0‖ − ‖r_k‖)/(aγα)`` and ``≤ R_gd``: Σ_{j≤k}
      (2/(aγα) + ηγΣ)·δ_j — each step's decrease of ‖r‖ known to δ (the proof sums
      them), each ‖Δ_j‖ to ηγΣδ;
    - G3 at checkpoints: σ(J_k)² are eigenvalues of the Gram formed and solved to
      ε_K = 4m·u·tr K_k (m = n·C rows), so σ to min(√ε_K, ε_K/σ̂);
    - G5, ``‖r_k − s_k‖``: e_k (as for the rate, with ζ ≥ q) plus ηγ²ε_0·‖r0‖·k·q^{k−1}
      (s_k is exact GD on a K0 off by ε_0 = the Gram's error bound + 4m·u·λ_max).
    """

    g: GdGuarantees
    r0: float
    eta: float
    gamma: float
    gram_error: float
    g1: list[_Part] = field(default_factory=lambda: [_Part(), _Part()])
    g2: list[_Part] = field(default_factory=lambda: [_Part(), _Part()])
    g3: list[_Part] = field(default_factory=lambda: [_Part(), _Part()])
    g5: list[_Part] = field(default_factory=lambda: [_Part()])
    acc: float = 0.0  # e_k
    path_noise: float = 0.0
    zeta: float = field(init=False)

    def __post_init__(self) -> None:
        g = self.g
        e2 = self.eta * self.gamma * self.gamma
        q_j = contraction(e2, g.alpha, g.Sigma)
        self.zeta = min(max(g.lam, q_j), 1.0)

    def at_step(self, k: int, r_norm: float, path: float, gap: float, noise: float) -> None:
        """G1's rate, G2 and G5 at step k (every step), with δ_k = ``noise``."""
        g = self.g
        self.acc = self.zeta * self.acc + noise
        e = self.acc
        bound = g.loss_bound(k)
        loss = 0.5 * r_norm * r_norm
        if k > 0:  # L_0 = L0 exactly: a ratio of 1 that says nothing
            self.g1[1].add(k, loss, bound, r_norm * e + 0.5 * e * e + 4.0 * k * UNIT * bound)
        self.path_noise += (2.0 / (g.descent * self.gamma * g.alpha) + self.eta * self.gamma
                            * g.Sigma) * noise  # fmt: skip
        self.g2[0].add(k, path, g.path_bound(self.r0, r_norm), self.path_noise)
        self.g2[1].add(k, path, g.radius_gd, self.path_noise)
        lin = self.eta * self.gamma**2 * self.gram_error * self.r0 * k * g.q ** max(k - 1, 0)
        self.g5[0].add(k, gap, g.deviation_bound(k), e + lin)

    def at_decrease(
        self, k: int, r_norm: float, r_next: float, decrease: float, delta: float, noise: float
    ) -> None:
        """G1's per-step decrease from step k to k + 1."""
        g = self.g
        slope = g.descent / self.eta
        d_err = self.eta * self.gamma * g.Sigma * noise
        floor = (2.0 * (r_norm + r_next) * noise + 2.0 * noise * noise
                 + slope * ((delta + d_err) ** 2 - delta * delta))  # fmt: skip
        self.g1[0].add(k, slope * delta * delta, decrease, floor)

    def at_checkpoint(self, k: int, sigma_min: float, sigma_max: float, eps: float) -> None:
        """G3 at a checkpoint: σ's from eigenvalues known to ``eps``."""
        g = self.g
        floor = min(math.sqrt(eps), eps / sigma_min) if sigma_min > 0 else math.sqrt(eps)
        self.g3[0].add(k, g.alpha, sigma_min, floor)
        self.g3[1].add(k, sigma_max, g.Sigma, min(math.sqrt(eps), eps / max(sigma_max, 1e-300)))

    def checks(self, estimate: bool) -> tuple[Check, ...]:
        return (
            _check("G1", self.g1, estimate),
            _check("G2", self.g2, estimate),
            _check("G3", self.g3, estimate),
            _check("G5", self.g5, estimate),
        )


@dataclass(frozen=True, eq=False)
class _Origin:
    """What the checkpoints compare with: θ0, K0 and the linearized GD."""

    theta0: np.ndarray
    theta0_norm: float
    K0: np.ndarray
    K0_fro: float
    linear: LinearizedGd
    rule: ClassRule | None = None

    def measure(
        self,
        out: dict[str, list[float]],
        k: int,
        state: Linearization,
        theta: np.ndarray,
        r: np.ndarray,
        path: float,
    ) -> tuple[float, float, float]:
        """Append step k's measures to ``out``; return σ_min(J_k), ‖J_k‖ and the error
        ε_K = 4m·u·tr K_k of the Gram's eigenvalues (G3's floor; m = n·C rows)."""
        n = r.shape[0]
        with blas_threads(threads_for("eigen", n)):
            K = state.gram()
            ev = dense.eigvalsh(K)
        s_min = math.sqrt(max(float(ev[0]), 0.0)) if n else 0.0
        s_max = math.sqrt(max(float(ev[-1]), 0.0)) if n else 0.0
        dist = float(np.linalg.norm(theta - self.theta0))
        r_norm = _norm(r)
        lin = self.linear
        s_k = lin.residual(k)
        row = {
            "step": k,
            "loss": 0.5 * r_norm * r_norm,
            "loss_lin": lin.loss(k),
            "param_dist": dist,
            "param_dist_lin": lin.param_dist(k),
            "path_length": path,
            "gap": _norm(r - s_k),
            "sigma_min_t": s_min,
            "jacobian_norm_t": s_max,
            "kernel_change": float(np.linalg.norm(K - self.K0)) / self.K0_fro
            if self.K0_fro
            else 0.0,
            "weight_change": dist / self.theta0_norm if self.theta0_norm else math.inf,
        }
        if self.rule is not None:  # s_0 = r_0 = r0 exactly (the closed form rounds it)
            row.update(zip(CLASS_ARRAYS, self.rule.measures(r, r if k == 0 else s_k), strict=True))
        for key in out:
            out[key].append(row[key])
        return s_min, s_max, 4.0 * n * UNIT * float(np.sum(np.maximum(ev, 0.0)))


def simulate_gd(
    problem: Problem,
    gamma: float,
    *,
    eta: float,
    steps: int,
    points: int,
    sigma_min: float,
    sigma_max: float,
    guarantees: GdGuarantees | None,
    rigorous: bool,
    progress: Progress | None = None,
) -> GdSimulation:
    """Run K = ``steps`` steps of GD with step ``eta`` on ½‖r‖² (THEORY.md §13), the true
    network exactly and the linearized one in closed form; measure at ``points``
    checkpoints (``checkpoint_steps``) and check G1–G5 against ``guarantees`` (None: the
    run still happens, the checks are not applicable).

    ``eta`` is the step on ½‖r‖² (the certificate's, ``loss_factor``·lr); ``sigma_min``,
    ``sigma_max`` the pipeline's σ's of J0: ``stability`` = ηγ²σ_max², ``contraction`` =
    max(|1 − ηγ²σ_min²|, |ηγ²σ_max² − 1|) (the linearized GD's factor per step, §13's
    q), and σ_max bounds ‖J‖ in the rounding floor where no certificate gives Σ. The residual
    is ``r = γ(f_θ − f̂_θ0) + r0`` with f̂_θ0 from the same routine as f_θ (as the flow's
    ``Deviation.residual``): equal to ``problem.residual`` in exact arithmetic, and
    exactly ``problem.residual0(γ)`` at θ0, where s_0 starts.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    if not (eta > 0.0 and math.isfinite(eta)):
        raise ValueError(f"eta must be positive and finite, got {eta}")
    model, X = problem.model, problem.X
    n, m, P = problem.n, problem.rows, model.n_params
    require(
        model.peak_bytes("simulate", n),
        f"simulating GD on {points_text(problem)} on a {model.info().head}",
        shrink_advice(model.info().family),
    )
    timing: dict[str, float] = {}
    start = time.perf_counter()
    theta0 = np.asarray(model.theta0, dtype=np.float64)
    theta = theta0.copy()
    theta0_norm = float(np.linalg.norm(theta0))
    r0 = problem.residual0(gamma)
    r0_norm = float(np.linalg.norm(r0))
    loss0 = 0.5 * r0_norm * r0_norm
    with blas_threads(threads_for("gram", model.gram_flops(n))):
        K0 = model.gram(X)
    with blas_threads(threads_for("eigen", m)):
        linear = LinearizedGd.from_gram(K0, r0, eta, gamma)
    lam_max = float(linear.eigenvalues[-1]) if m else 0.0
    gram_error = model.gram_error(X, float(np.trace(K0))).value + 4.0 * m * UNIT * lam_max
    stability = eta * gamma * gamma * sigma_max * sigma_max
    e2 = eta * gamma * gamma
    q = contraction(e2, sigma_min, sigma_max)
    jacobian = max(sigma_max, guarantees.Sigma if guarantees is not None else 0.0)
    rule = ClassRule.of(problem)
    at0 = _Origin(theta0, theta0_norm, K0, float(np.linalg.norm(K0)), linear, rule)
    timing["linearized"] = time.perf_counter() - start

    marks = checkpoint_steps(steps, points)
    keys = GD_SIMULATION_ARRAYS + (CLASS_ARRAYS if rule is not None else ())
    out: dict[str, list[float]] = {k: [] for k in keys}
    checks = None
    if guarantees is not None:
        checks = _Checks(guarantees, r0_norm, eta, gamma, gram_error)
    status, message = "completed", f"ran {steps:,} steps"
    t_checkpoints = 0.0
    rhs_threads = threads_for("rhs", n * P)
    timing["threads"] = float(rhs_threads)
    t_loop = time.perf_counter()
    last_call = t_loop
    path = 0.0
    k = 0
    noise_max = 0.0
    with blas_threads(rhs_threads):
        state = model.linearize(X, theta)
        f_hat0 = state.f
        f0_norm = float(np.linalg.norm(f_hat0))
        r = r0.copy()
        r_norm = r0_norm
        f_norm = f0_norm
        try:
            i = 0
            while True:
                noise = step_noise(gamma, jacobian, theta0_norm + path, f_norm + f0_norm, r0_norm)
                noise_max = max(noise_max, noise)
                if i < len(marks) and marks[i] == k:
                    t0 = time.perf_counter()
                    s_min, s_max, eps = at0.measure(out, k, state, theta, r, path)
                    if checks is not None:
                        checks.at_checkpoint(k, s_min, s_max, eps)
                    i += 1
                    t_checkpoints += time.perf_counter() - t0
                if checks is not None:
                    gap = _norm(r - linear.residual(k))
                    checks.at_step(k, r_norm, path, gap, noise)
                if k == steps:
                    break
                # one step: Δ_k = −ηγ J_kᵀ r_k (the linearization is dropped before θ moves)
                delta = state.vjp(r)
                delta *= -eta * gamma
                state = None  # type: ignore[assignment]
                delta_norm = _norm(delta)
                theta += delta
                path += delta_norm
                state = model.linearize(X, theta)
                r_next = gamma * (state.f - f_hat0) + r0
                r_next_norm = _norm(r_next)
                loss_next = 0.5 * r_next_norm * r_next_norm
                if checks is not None:
                    decrease = -float((r_next - r) @ (r_next + r))
                    checks.at_decrease(k, r_norm, r_next_norm, decrease, delta_norm, noise)
                k += 1
                r, r_norm = r_next, r_next_norm
                f_norm = _norm(state.f)
                if not math.isfinite(loss_next) or loss_next > DIVERGENCE_FACTOR * loss0:
                    status = "diverged"
                    message = _diverged_message(k, loss_next, loss0, stability)
                    break
                now = time.perf_counter()
                if progress is not None and (now - last_call >= PROGRESS_SECONDS or k == steps):
                    progress(k, loss_next)
                    last_call = now
        except KeyboardInterrupt:
            status, message = "interrupted", f"interrupted by the user after {k:,} steps"
    timing["steps"] = time.perf_counter() - t_loop - t_checkpoints
    timing["checkpoints"] = t_checkpoints
    if status == "completed" and steps:
        message = (
            f"ran {steps:,} steps: loss {out['loss'][-1] / loss0 if loss0 else 0.0:.3g}·L0 "
            f"(linearized {out['loss_lin'][-1] / loss0 if loss0 else 0.0:.3g}·L0)"
        )
    estimate = not rigorous
    if checks is None or status == "interrupted":
        made = not_applicable_checks("gd", estimate, STATEMENTS)
    else:
        made = checks.checks(estimate)
    arrays = {
        key: np.asarray(v, dtype=np.int64 if key == "step" else np.float64)
        for key, v in out.items()
    }
    return GdSimulation(
        **arrays,
        checks=made,
        eta=eta,
        gamma=gamma,
        steps=steps,
        steps_done=k,
        status=status,
        message=message,
        stability=stability,
        contraction=q,
        error_floor=noise_max,
        timing=timing,
    )


def _norm(v: np.ndarray) -> float:
    """‖v‖ (∞ past float64's range: a diverging run is measured, not warned about)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(v))


def _diverged_message(k: int, loss: float, loss0: float, stability: float) -> str:
    grown = "is not finite" if not math.isfinite(loss) else f"grew to {loss / loss0:.3g}·L0"
    why = (
        f"ηγ²σ_max² = {stability:.3g} ≥ 2: past the stability limit"
        if stability >= 2.0
        else f"ηγ²σ_max² = {stability:.3g}: the network left the lazy regime"
    )
    return f"GD diverged at step {k:,}: the loss {grown} ({why})"


__all__ = [
    "DIVERGENCE_FACTOR",
    "GdSimulation",
    "LinearizedGd",
    "checkpoint_steps",
    "simulate_gd",
    "step_noise",
]
