"""``ntkcheck simulate``: the true and the linearized flow side by side (THEORY.md §5, §7).

At checkpoints ``t_k = T·k/(points−1)`` it measures, from the state θ_t:
loss, param_dist = ‖θ_t − θ0‖, σ_min(J_t) and ‖J_t‖ (from the Gram at θ_t),
kernel_change = ‖K_t − K0‖_F/‖K0‖_F, weight_change = ‖θ_t − θ0‖/‖θ0‖, the gap
‖r_t − r̃_t‖ to the linearized flow (closed form), and the effective β along the
path, max_t ‖J_t − J0‖_op/‖θ_t − θ0‖. Each conclusion C1–C5 is checked as
*bound vs measured* where the certificate makes it applicable. With C outputs the
residuals have m = n·C rows (THEORY.md §14); with class labels the training accuracy
of the network and of its linearization and their prediction agreement are measured
at each checkpoint too (``classes``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eigvalsh

from ..errors import EstimationError
from ..linalg.memory import require
from ..linalg.threads import blas_threads, threads_for
from ..models.registry import shrink_advice
from ..problem import Problem
from ..theory.guarantees import Guarantees
from ..theory.linear_flow import LinearizedFlow
from . import SIMULATION_ARRAYS
from .checks import Check, Floors, checks_for
from .classes import CLASS_ARRAYS, ClassRule, points_text
from .deviation import (
    Deviation,
    FlowResult,
    Progress,
    integrate,
    rounding_noise,
)

#: Safety factor on the accumulated local error tolerance (see ``_error_floor``).
FLOOR_SAFETY = 10.0
#: (rtol, atol_rel) of the first pass, and of the rerun that resolves small gaps.
DEFAULT_TOLERANCE = (1e-8, 1e-11)
TIGHT_TOLERANCE = (1e-10, 1e-13)
#: The tighter rerun is made only when the whole integration (first pass and rerun) is
#: predicted to stay within REFINE_BUDGET seconds, the rerun taking REFINE_COST × the first
#: pass (measured: 100× tighter tolerances cost 2–3× the evaluations); it is stopped at the
#: budget (the first pass is then reported).
REFINE_COST = 3.0
REFINE_BUDGET = 10.0
#: A run predicted to take longer than this (seconds) says so before it starts.
ANNOUNCE_SECONDS = 30.0


@dataclass(frozen=True, eq=False)
class Simulation:
    """Trajectories at the checkpoints and the checks (JSON ``simulation``)."""

    t: np.ndarray
    loss: np.ndarray
    loss_lin: np.ndarray
    param_dist: np.ndarray
    param_dist_lin: np.ndarray
    gap: np.ndarray
    sigma_min_t: np.ndarray
    jacobian_norm_t: np.ndarray
    kernel_change: np.ndarray
    weight_change: np.ndarray
    beta_path: float
    checks: tuple[Check, ...]
    horizon: float
    horizon_auto: bool
    status: str
    message: str
    n_rhs: int
    n_steps: int
    rtol: float
    atol: float
    error_floor: float
    error_floor_theta: float = 0.0  # the floor on ‖θ_t − θ0‖ (its own units)
    method: str = "expint"
    n_linear: int = 0  # products with J0 or J0ᵀ made by the exponential integrator
    n_refactor: int = 0  # eigendecompositions of the Gram at the current θ (re-linearizations)
    timing: dict[str, float] = field(default_factory=dict, compare=False)
    #: with class labels (``flow.classes``; else None): training accuracy of the network
    #: and of its linearization, and the fraction of points where their classes agree
    accuracy: np.ndarray | None = None
    accuracy_linear: np.ndarray | None = None
    agreement: np.ndarray | None = None

    @property
    def all_hold(self) -> bool:
        """No applicable check failed, and at least one was resolved (unresolved ones pass)."""
        applicable = [c for c in self.checks if c.applicable]
        return any(c.holds for c in applicable) and not any(c.holds is False for c in applicable)


#: ``auto`` integrates with the exponential integrator from this stiffness κ² = λ_max/λ_min.
STIFF_KAPPA2 = 25.0
#: … and, where no certificate holds, from this λ_max·τ_T (DOP853, held by stability at
#: h ≈ 5/λ_max, would need λ_max·τ_T/5 = 2,000 steps, 24,000 right-hand sides).
STIFF_HORIZON = 1e4


def choose_method(
    sigma_min: float, sigma_max: float, lazy: bool, stiffness: float = 0.0
) -> tuple[str, bool]:
    """(method, re-linearize): ``expint`` when the flow is stiff, else ``dop853``.

    ``stiffness`` = λ_max·τ_T, the horizon in units of the fastest time scale.
    DOP853 is held by stability: about 11·κ² steps to the auto horizon (measured: 153
    steps at κ² = 13.8, 359 at κ² = 50), each of 12 right-hand sides; the exponential
    integrator is held only by accuracy (61 steps at κ² = 50), each of 5 right-hand
    sides and 10 products with J0 or J0ᵀ, but as a 4th-order method it needs more
    steps than DOP853 at tight tolerances on a mildly stiff flow (485 vs 153 at
    κ² = 13.8, rtol 1e-10). Where no certificate holds the remainder is not small (the
    feature regime): DOP853 is cheaper per step there while the flow is not stiff (a
    narrow network: 7,598 right-hand sides in 1.8 s against 8,484 and 2.6 s), and
    ``expint`` re-linearizes (the kernel moves: ``Relinearizer``) where it is,
    ``stiffness ≥ STIFF_HORIZON`` (σ_min = 0 included: the rank-deficient example at
    ``--horizon 1e-3``, λ_max·τ_T = 3.1e5, took 901,634 right-hand sides with DOP853).
    """
    if lazy and sigma_min > 0 and (sigma_max / sigma_min) ** 2 >= STIFF_KAPPA2:
        return "expint", False
    if not lazy and stiffness >= STIFF_HORIZON:
        return "expint", True
    return "dop853", False


#: Predicted steps of ``expint``: EXPINT_STEPS[0] + EXPINT_STEPS[1]·ln(1 + λ_max·τ_T)
#: (measured: 59 steps at λ_max·τ_T = 1.9e3, the built-in example; 68 at 1.6e7, diabetes;
#: 17 at 3.1e5, rank-deficient at --horizon 1e-3), and the cost of one of its steps in
#: right-hand sides (5, and 10 products with J0 or J0ᵀ, each about half a right-hand side).
EXPINT_STEPS = (10.0, 6.0)
EXPINT_STEP_COST = 10.0


def predict_seconds(
    method: str, relinearize: bool, stiffness: float, points: int, t_rhs: float, t_gram: float
) -> tuple[float, int]:
    """(seconds, right-hand sides) that the first pass and the measures are predicted to take.

    ``t_rhs``: one right-hand side; ``t_gram``: forming K0 (each checkpoint's measures
    form two Grams and two spectra: measured about 2·t_gram; a re-linearizing step forms
    one Gram).
    DOP853: max(λ_max·τ_T/5, 100) steps of 12 right-hand sides (stability, see
    ``choose_method``).
    """
    if method == "expint":
        steps = EXPINT_STEPS[0] + EXPINT_STEPS[1] * math.log1p(max(stiffness, 0.0))
        seconds = steps * (EXPINT_STEP_COST * t_rhs + (t_gram if relinearize else 0.0))
        n_rhs = 5 * steps
    else:
        n_rhs = 12 * max(stiffness / 5.0, 100.0)
        seconds = n_rhs * t_rhs
    return seconds + 2 * points * t_gram, int(n_rhs)


def auto_horizon(gamma: float, sigma_min: float, loss_tol: float) -> float:
    """T with L0·exp(−½γ²σ_min²T) = loss_tol·L0 (the C1 bound), i.e. 2 ln(1/tol)/(γ²σ_min²)."""
    if sigma_min <= 0:
        raise EstimationError(
            "simulate.horizon: auto needs σ_min > 0 (the C1 bound does not decay); "
            "give a time, e.g. horizon: 1.0e-3"
        )
    return 2.0 * math.log(1.0 / loss_tol) / (gamma * gamma * sigma_min * sigma_min)


def _error_floor(
    flow: FlowResult, m: dict[str, np.ndarray], n_params: int, sigma_max: float, gamma: float
) -> Floors:
    """Error floors: the local error tolerances on the state e = γ(θ − θ̃) summed over
    the steps — rtol·max‖e‖ + each step's ℓ² atol (for ``expint``, raised to the
    step's rounding noise: ``FlowResult.atol_sum``) — (the flow of r is contractive,
    so errors do not grow), times a safety
    factor (DOP853's error estimate is asymptotic and the dense output at the
    checkpoints adds its own error; on the identity activation, where the gap is pure
    integration error, the gap reached 2.7× the unscaled sum). ‖r‖ is off by ‖J‖·δe
    (δr = J δe) and ‖θ − θ0‖ by δe/γ: each in its own units."""
    state = float(np.max(np.linalg.norm(flow.states, axis=1)))
    atol_sum = max(flow.atol_sum, max(flow.n_steps, 1) * flow.atol * math.sqrt(n_params))
    j_max = float(np.max(m["jacobian_norm_t"])) if len(m["t"]) else sigma_max
    err_e = FLOOR_SAFETY * (max(flow.n_steps, 1) * flow.rtol * state + atol_sum)
    return Floors(r=err_e * j_max, theta=err_e / gamma)


def laziness_measures(flow: Deviation, result: FlowResult, K0: np.ndarray) -> dict[str, np.ndarray]:
    """The measures of §5 and §7 at every checkpoint reached; with class labels also
    ``CLASS_ARRAYS`` (``flow.classes``)."""
    p, lin = flow.problem, flow.lin
    X, gamma = p.X, flow.gamma
    theta0_norm = float(np.linalg.norm(p.model.theta0))
    K0_norm = float(np.linalg.norm(K0))
    rule = ClassRule.of(p)
    keys = SIMULATION_ARRAYS + (CLASS_ARRAYS if rule is not None else ())
    out: dict[str, list[float]] = {k: [] for k in keys}
    beta_path = 0.0
    for tau, e in zip(result.tau, result.states, strict=True):
        v = flow.displacement(tau, e)
        L = p.model.linearize(X, p.model.theta0 + v / gamma)
        r = flow.residual(L.f)
        r_lin = lin.residual(tau)
        dist = float(np.linalg.norm(v)) / gamma
        K = L.gram()
        lam = eigvalsh(K, check_finite=False)
        dJ_norm = math.sqrt(
            max(float(eigvalsh(L.drift_gram(flow.lin0), check_finite=False)[-1]), 0.0)
        )
        if dist > 0:
            beta_path = max(beta_path, dJ_norm / dist)
        out["t"].append(tau / (gamma * gamma))
        out["loss"].append(0.5 * float(r @ r))
        out["loss_lin"].append(0.5 * float(r_lin @ r_lin))
        out["param_dist"].append(dist)
        out["param_dist_lin"].append(lin.param_dist(tau))
        out["gap"].append(float(np.linalg.norm(r - r_lin)))
        out["sigma_min_t"].append(math.sqrt(max(float(lam[0]), 0.0)))
        out["jacobian_norm_t"].append(math.sqrt(max(float(lam[-1]), 0.0)))
        out["kernel_change"].append(float(np.linalg.norm(K - K0)) / K0_norm if K0_norm else 0.0)
        out["weight_change"].append(dist / theta0_norm if theta0_norm else math.inf)
        if rule is not None:  # r̃(0) = r0 exactly (the closed form rounds it: ties at f ≡ 0)
            exact = flow.r0 if tau == 0.0 else r_lin
            for key, value in zip(CLASS_ARRAYS, rule.measures(r, exact), strict=True):
                out[key].append(value)
    arrays = {k: np.asarray(v) for k, v in out.items()}
    arrays["beta_path"] = np.asarray(beta_path)
    return arrays


def simulate(
    problem: Problem,
    gamma: float,
    *,
    sigma_min: float,
    sigma_max: float,
    guarantees: Mapping[str, Guarantees | None],
    rigorous: bool,
    theorem: str = "path",
    horizon: float | str = "auto",
    points: int = 50,
    loss_tol: float = 1e-8,
    rtol: float | None = None,
    atol_rel: float | None = None,
    progress: Progress | None = None,
    method: str = "auto",
    notice: Callable[[str], None] | None = None,
) -> Simulation:
    """Integrate the true flow, evaluate the linearized one, measure and check C1–C5.

    ``rtol`` applies to the deviation from the linearized flow (which is small);
    ``atol_rel`` is relative to the whole displacement ‖r0‖/σ_min. Left at None,
    the run starts at ``DEFAULT_TOLERANCE`` — the loss and ‖θ_t − θ0‖ to ~2e-8
    relative on the built-in example — and, when the linearization gap came out
    within 1000× of the error floor, a tighter pass can lower the floor 10×
    (``_tighter_helps``: not when the tolerance is at float64's rounding noise) and
    the whole integration is predicted to stay within ``REFINE_BUDGET`` seconds,
    repeats at ``TIGHT_TOLERANCE``, which resolves gaps down to float64's rounding
    of r (~1e-12·‖r0‖ on small problems); that pass is stopped at the budget (the
    first is then reported). ``notice`` receives one sentence before a run predicted
    to take over ``ANNOUNCE_SECONDS`` starts (``predict_seconds``).
    """
    model = problem.model
    size = points_text(problem)
    require(
        model.peak_bytes("simulate", problem.n),
        f"simulating {size} on a {model.info().head}",
        shrink_advice(model.info().family),
    )
    auto = horizon == "auto"
    T = auto_horizon(gamma, sigma_min, loss_tol) if auto else float(horizon)
    t_grid = T * np.arange(points) / (points - 1)
    tau = gamma * gamma * t_grid
    timing: dict[str, float] = {}
    start = time.perf_counter()
    rhs_threads = threads_for("rhs", problem.n * model.n_params)
    timing["threads"] = float(rhs_threads)
    lin0 = model.linearize(problem.X)
    t0 = time.perf_counter()
    K0 = lin0.gram()
    t_gram = time.perf_counter() - t0
    r0 = problem.residual0(gamma)
    flow = Deviation(problem, lin0, LinearizedFlow.from_gram(K0, r0, gamma))
    scale = float(np.linalg.norm(r0)) / sigma_min if sigma_min > 0 else 1.0
    theta0_norm = float(np.linalg.norm(model.theta0))
    lazy = any(g is not None for g in guarantees.values())
    stiffness = float(flow.lin.eigenvalues[-1]) * float(tau[-1]) if problem.rows else 0.0
    if method == "auto":
        method, relinearize = choose_method(sigma_min, sigma_max, lazy, stiffness)
    else:
        relinearize = method == "expint" and not lazy
    noise = rounding_noise(gamma, theta0_norm)
    timing["linearized"] = time.perf_counter() - start
    announced = False
    if notice is not None:
        zero, t_rhs, spent = np.zeros(model.n_params), math.inf, 0.0
        with blas_threads(rhs_threads):
            # the least of up to 6 calls (at most ~1 s of them): the first few are slow
            # (measured on diabetes: 12–35 ms for the first 8 calls, then 5 ms)
            for when in np.linspace(float(tau[1]), float(tau[-1]), 6):
                t0 = time.perf_counter()
                flow.rhs(float(when), zero)
                t_rhs = min(t_rhs, time.perf_counter() - t0)
                spent += time.perf_counter() - t0
                if spent > 1.0:
                    break
        seconds, n_rhs = predict_seconds(method, relinearize, stiffness, points, t_rhs, t_gram)
        if seconds > ANNOUNCE_SECONDS:
            announced = True
            notice(
                f"this simulation is predicted to take about {seconds:.0f} s ({method}, "
                f"≈{n_rhs:,} right-hand sides of {1e3 * t_rhs:.1f} ms, {points} checkpoints)"
            )
    watch = progress
    if notice is not None and not announced:
        watch = _pace_watch(notice, progress, float(tau[-1]), time.perf_counter())
    if rtol is None and atol_rel is None:
        levels = [DEFAULT_TOLERANCE, TIGHT_TOLERANCE]
    else:
        levels = [(rtol or DEFAULT_TOLERANCE[0], atol_rel or DEFAULT_TOLERANCE[1])]
    note = ""
    integrating = 0.0  # seconds spent integrating, all passes
    previous: tuple[FlowResult, dict[str, np.ndarray], Floors] | None = None
    for level, (rt, at) in enumerate(levels):
        t0 = time.perf_counter()
        deadline = None if level == 0 else t0 + (REFINE_BUDGET - integrating)
        with blas_threads(rhs_threads):
            result = integrate(
                flow,
                tau,
                scale=scale,
                noise=noise,
                rtol=rt,
                atol_rel=at,
                progress=watch if level == 0 else progress,
                method=method,
                relinearize=relinearize,
                deadline=deadline,
                K0=K0,
            )
        elapsed = time.perf_counter() - t0
        integrating += elapsed
        timing["integrate"] = integrating
        if result.status == "over_budget" and previous is not None:
            result, m, floors = previous
            note = (
                f"; the gap is within 1000× of the error floor; a tighter rerun was stopped, "
                f"as it would not finish within the {REFINE_BUDGET:.0f} s integration budget "
                f"({integrating:.1f} s spent)"
            )
            break
        t0 = time.perf_counter()
        with blas_threads(threads_for("eigen", problem.rows)):
            m = laziness_measures(flow, result, K0)
        timing["measure"] = timing.get("measure", 0.0) + time.perf_counter() - t0
        floors = _error_floor(result, m, model.n_params, sigma_max, gamma)
        gap_resolved = len(m["gap"]) < 2 or float(np.max(m["gap"][1:])) >= 1e3 * floors.r
        if level + 1 == len(levels) or not result.completed or gap_resolved:
            break
        if not _tighter_helps(result, levels[level + 1], scale, noise, model.n_params):
            note = (
                "; the gap is within 1000× of the error floor, which is float64's rounding "
                "noise here: a tighter rerun would not lower it"
            )
            break
        if integrating + REFINE_COST * elapsed > REFINE_BUDGET:
            note = (
                f"; the gap is within 1000× of the error floor; a tighter rerun "
                f"(≈{REFINE_COST * elapsed:.0f} s more) would take the integration past its "
                f"{REFINE_BUDGET:.0f} s budget ({integrating:.1f} s spent)"
            )
            break
        previous = (result, m, floors)
        note = f"; tightened to rtol {levels[level + 1][0]:g} to resolve the linearization gap"
    order = [theorem, *(t for t in guarantees if t != theorem)]  # the deciding theorem first
    checks = tuple(
        c
        for t in order
        for c in checks_for(
            m,
            guarantees[t],
            guarantees[t] is not None and result.completed,
            not rigorous,
            floors,
            theorem=t,
            gamma=gamma,
        )
    )
    return Simulation(
        **{k: m[k] for k in SIMULATION_ARRAYS},
        beta_path=float(m["beta_path"]),
        checks=checks,
        horizon=T,
        horizon_auto=auto,
        status=result.status,
        message=result.message + note,
        n_rhs=result.n_rhs,
        n_steps=result.n_steps,
        rtol=result.rtol,
        atol=result.atol,
        error_floor=floors.r,
        error_floor_theta=floors.theta,
        method=result.method,
        n_linear=result.n_linear,
        n_refactor=result.n_refactor,
        timing=timing,
        **{k: m[k] for k in CLASS_ARRAYS if k in m},
    )


#: … or, when the prediction was short, after this many seconds of integration if its
#: pace says the whole run will take over ANNOUNCE_SECONDS.
PACE_CHECK_SECONDS = 10.0


def _pace_watch(
    notice: Callable[[str], None], progress: Progress | None, tau_end: float, start: float
) -> Progress:
    """A progress callback that, once, after PACE_CHECK_SECONDS of integration, announces a
    run whose pace (τ reached per second, extrapolated linearly: an overestimate while the
    steps still grow) says it will take over ANNOUNCE_SECONDS; forwards to ``progress``."""
    done = [False]

    def watch(k: int, tau_now: float) -> None:
        if progress is not None:
            progress(k, tau_now)
        if done[0] or tau_now <= 0:
            return
        spent = time.perf_counter() - start
        if spent >= PACE_CHECK_SECONDS:
            done[0] = True
            total = spent * tau_end / tau_now
            if total > ANNOUNCE_SECONDS:
                notice(
                    f"slower than predicted: at its pace (τ = γ²t = {tau_now:.3g} of "
                    f"{tau_end:.3g} after {spent:.0f} s) the integration will take about "
                    f"{total:.0f} s"
                )

    return watch


def _tighter_helps(
    result: FlowResult, tighter: tuple[float, float], scale: float, noise: float, n_params: int
) -> bool:
    """Whether a rerun at ``tighter`` (rtol, atol_rel) would lower the error floor 10×.

    The floor sums each step's tolerance, rtol·‖e‖ + atol·√P (``_error_floor``); a
    step's atol never goes below the rounding noise (``noise``, and for ``expint`` the
    noise of its own estimate, in ``atol_sum``), which no tolerance lowers."""
    state = max((float(np.linalg.norm(e)) for e in result.states), default=0.0)
    steps = max(result.n_steps, 1)
    now = result.rtol * state + result.atol_sum / steps
    noise_part = max(result.atol_sum / steps - result.atol * math.sqrt(n_params), 0.0)
    atol_tight = max(tighter[1] * max(scale, np.finfo(float).tiny), noise)
    return now >= 10.0 * (tighter[0] * state + atol_tight + noise_part)
