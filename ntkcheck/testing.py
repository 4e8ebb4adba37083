"""The model conformance suite, in the spirit of sklearn's ``check_estimator``.

Every family must pass it (``tests/test_conformance.py`` runs it on the cases each
family's ``conformance`` module gives, one pytest id per check). On a small problem
it checks, against computations that share no code with the family's structured
paths — each check a named function in ``CHECKS``, chosen by the model's
capabilities (:func:`capabilities`: a smooth or relu-like activation, a drift bound,
a rigorous Gram):

- ``forward_matches_linearization``: ``forward`` and ``linearize(...).f`` agree;
- ``jvp_vjp_adjoint``: ⟨J v, r⟩ = ⟨v, Jᵀ r⟩; batched products equal their columns;
- ``gram_vs_finite_differences`` (smooth): ``gram()`` and the linearization's Gram
  equal a dense J Jᵀ whose columns are central finite differences of ``forward``
  (O(h²) truncation);
- ``gram_vs_jvp_columns``: the same against J Jᵀ from the model's own jvp columns
  (the only Gram reference where σ' jumps and differences may straddle a kink);
- ``gram_is_symmetric``; ``gram_operator_matches_gram`` (cached and not);
- ``drift_gram_vs_finite_differences`` (smooth): the Gram of a Jacobian difference;
- ``drift_bound_dominates_ascent`` (a drift bound): h(ρ) ≥ ‖J_θ − J0‖_op on random
  points of the ball and on points found by projected ascent (THEORY.md §11);
- ``gram_error_is_proved`` (rigorous Gram) or ``gram_error_is_labelled`` (not);
- ``pickle_round_trip``; ``gram_flops_counts_entries``;
- ``memory_plan_bounds_gram_peak``: the ``gram`` plan bounds the peak traced while
  forming K0.

``check_model`` runs every check that applies and returns what they measured.
"""

from __future__ import annotations

import functools
import importlib
import math
import pickle
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .models.activations import get_activation
from .models.protocol import Model
from .models.registry import FAMILIES
from .theory.drift import DriftKind


@dataclass(frozen=True)
class Conformance:
    """What ``check_model`` measured: the worst relative errors and the drift slack."""

    adjoint_error: float
    gram_error: float
    operator_error: float
    drift_gram_error: float
    drift_ratio: float  # max measured ‖J_θ − J0‖ / h(ρ) over the search (≤ 1 passes)
    peak_ratio: float  # traced peak / planned peak (≤ 1 passes)


@dataclass(frozen=True)
class Capabilities:
    """What a model at its inputs allows the suite to check.

    ``smooth``: σ' is Lipschitz, so finite differences of ``forward`` converge (else
    the activation is relu-like: J is piecewise constant); ``drift_bound``: the model
    supplies a finite drift bound h(ρ); ``rigorous_gram``: its Gram's rounding is proved.
    """

    smooth: bool
    drift_bound: bool
    rigorous_gram: bool

    @property
    def relu_like(self) -> bool:
        return not self.smooth


def capabilities(model: Model, X: np.ndarray) -> Capabilities:
    """The model's capabilities, read from the model: the activation's smoothness (by its
    name in the activation table; a family whose σ is not in the table is smooth when its
    drift bound is a Lipschitz one), its drift bound's kind, its Gram error's flag."""
    drift = model.drift(X)
    try:
        smooth = get_activation(model.info().activation).smooth
    except KeyError:
        smooth = drift.kind in (DriftKind.lipschitz, DriftKind.ball_lipschitz)
    trace = float(np.trace(model.gram(X)))
    return Capabilities(
        smooth=smooth,
        drift_bound=drift.kind is not DriftKind.none,
        rigorous_gram=model.gram_error(X, trace).rigorous,
    )


@dataclass
class Case:
    """A model at inputs ``X`` and the suite's settings; what several checks share (the
    reference Jacobians) is computed once.

    ``fd_tol`` bounds the finite-difference Jacobian's relative error (central
    differences with step h: truncation ≈ h²·|f'''|/6, rounding ≈ ε·|f|/h; at
    h = 1e-5 both are below 1e-8 for O(1) inputs and weights, so 1e-6 leaves
    two decades of margin).
    """

    model: Model
    X: np.ndarray
    radii: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    seed: int = 0
    fd_step: float = 1e-5
    fd_tol: float = 1e-6
    restarts: int = 8
    ascent_steps: int = 20
    smooth: bool | None = None  # None: as ``capabilities`` reads it from the model
    caps: Capabilities = field(init=False)

    def __post_init__(self) -> None:
        caps = capabilities(self.model, self.X)
        if self.smooth is not None:
            caps = Capabilities(self.smooth, caps.drift_bound, caps.rigorous_gram)
        self.caps = caps

    def rng(self) -> np.random.Generator:
        """A fresh generator for one check (each check draws its own vectors)."""
        return np.random.default_rng(self.seed)

    @property
    def rows(self) -> int:
        """m = n·C, the rows of J and of the Gram (THEORY.md §14)."""
        return self.X.shape[0] * self.model.outputs

    @cached_property
    def fd_jacobian(self) -> np.ndarray:
        """Dense J at θ0 by central differences of ``forward``."""
        return _fd_jacobian(self.model, self.X, self.model.theta0.copy(), self.fd_step)

    @cached_property
    def jvp_jacobian(self) -> np.ndarray:
        """Dense J at θ0 from the linearization's jvp of each unit vector."""
        P = self.model.n_params
        lin = self.model.linearize(self.X)
        return np.stack([lin.jvp(np.eye(P)[k]) for k in range(P)], axis=1)


def _fd_jacobian(model: Model, X: np.ndarray, theta: np.ndarray, h: float) -> np.ndarray:
    """Dense J (m × P, m = n·C) by central differences of ``forward``: error
    O(h²‖∂³f‖) + O(ε/h)."""
    P = theta.size
    J = np.empty((X.shape[0] * model.outputs, P))
    for k in range(P):
        e = np.zeros(P)
        e[k] = h
        J[:, k] = (model.forward(X, theta + e) - model.forward(X, theta - e)) / (2.0 * h)
    return J


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b))) / scale


# ------------------------------------------------------------------------------ checks


def check_forward_matches_linearization(case: Case) -> float:
    """``linearize(X).f`` equals ``forward(X)`` (relative 1e-12); ``forward(X, θ0)`` is
    ``forward(X)`` bit for bit."""
    model, X = case.model, case.X
    f = model.forward(X)
    lin = model.linearize(X)
    err = _rel(lin.f, f)
    assert np.allclose(lin.f, f, rtol=1e-12, atol=1e-14 * max(1.0, float(np.abs(f).max()))), (
        "linearize(X).f differs from forward(X)"
    )
    assert np.array_equal(model.forward(X, model.theta0.copy()), f), (
        "forward(X, theta0) differs from forward(X)"
    )
    return err


def check_jvp_vjp_adjoint(case: Case) -> float:
    """⟨J v, r⟩ = ⟨v, Jᵀ r⟩ to 1e-12 relative; a batched vjp (jvp) equals its columns."""
    rng = case.rng()
    n, P = case.rows, case.model.n_params
    lin = case.model.linearize(case.X)
    v, r = rng.standard_normal((P,)), rng.standard_normal((n,))
    jv, jtr = lin.jvp(v), lin.vjp(r)
    scale = max(float(np.linalg.norm(jv) * np.linalg.norm(r)), 1e-300)
    adj = abs(float(jv @ r) - float(v @ jtr)) / scale
    R = rng.standard_normal((n, 3))
    batched = lin.vjp(R)
    assert batched.shape == (P, 3), f"vjp of an (n, 3) block has shape {batched.shape}"
    for c in range(3):
        assert np.allclose(batched[:, c], lin.vjp(R[:, c]), rtol=1e-12, atol=1e-14), (
            "a batched vjp differs from its columns"
        )
    assert adj <= 1e-12, f"jvp and vjp are not adjoint (relative error {adj:.2e})"
    Vb = rng.standard_normal((P, 2))
    assert np.allclose(lin.jvp(Vb)[:, 1], lin.jvp(Vb[:, 1]), rtol=1e-12, atol=1e-14), (
        "a batched jvp differs from its columns"
    )
    return adj


def _gram_against(case: Case, J: np.ndarray, tol: float, what: str) -> float:
    K_ref = J @ J.T
    err = max(
        _rel(case.model.gram(case.X), K_ref), _rel(case.model.linearize(case.X).gram(), K_ref)
    )
    assert err <= tol, f"gram() differs from J Jᵀ ({what}) by {err:.2e}"
    return err


def check_gram_vs_finite_differences(case: Case) -> float:
    """``gram()`` and the linearization's Gram equal J Jᵀ with J from central differences
    of ``forward`` (relative ``fd_tol``)."""
    return _gram_against(case, case.fd_jacobian, case.fd_tol, "finite differences")


def check_gram_vs_jvp_columns(case: Case) -> float:
    """``gram()`` and the linearization's Gram equal J Jᵀ with J from the model's jvp of
    each unit vector (relative 1e-12: two orders of summation of the same products)."""
    return _gram_against(case, case.jvp_jacobian, 1e-12, "jvp columns")


def check_gram_is_symmetric(case: Case) -> float:
    K = case.model.gram(case.X)
    assert np.array_equal(K, K.T), "gram() is not exactly symmetric"
    return 0.0


def check_gram_operator_matches_gram(case: Case) -> float:
    """``gram_operator(cache=…)(w)`` equals ``gram() @ w`` (relative 1e-10), cached or not."""
    w = case.rng().standard_normal((case.rows,))
    K = case.model.gram(case.X)
    err = max(_rel(case.model.gram_operator(case.X, cache=c)(w), K @ w) for c in (True, False))
    assert err <= 1e-10, f"gram_operator differs from gram() @ v by {err:.2e}"
    return float(err)


def _theta1(case: Case) -> np.ndarray:
    P = case.model.n_params
    return case.model.theta0.copy() + 0.05 * case.rng().standard_normal(P) / math.sqrt(P)


def check_drift_gram_vs_finite_differences(case: Case) -> float:
    """``drift_gram`` equals (ΔJ)(ΔJ)ᵀ with both Jacobians by finite differences (relative
    1e3·``fd_tol``: ΔJ is small, so the differences' error weighs more in it)."""
    model, X = case.model, case.X
    lin1 = model.linearize(X, _theta1(case))
    dJ = _fd_jacobian(model, X, _theta1(case), case.fd_step) - case.fd_jacobian
    err = _rel(lin1.drift_gram(model.linearize(X)), dJ @ dJ.T)
    assert err <= 1e3 * case.fd_tol, f"drift_gram differs from (ΔJ)(ΔJ)ᵀ by {err:.2e}"
    return err


def check_drift_bound_dominates_ascent(case: Case) -> float:
    """Rigour by search (THEORY.md §11): h(ρ) ≥ ‖J_θ − J0‖ at random points of the ball
    of each radius and along a projected ascent of ‖J_θ − J0‖ from them."""
    model, X = case.model, case.X
    rng = case.rng()
    P = model.n_params
    theta0 = model.theta0.copy()
    lin = model.linearize(X)
    drift = model.drift(X)
    ratio = 0.0
    for rho in case.radii:
        bound = drift.h(rho)
        if not math.isfinite(bound):
            continue
        for _ in range(case.restarts):
            u = rng.standard_normal(P)
            theta = theta0 + rho * u / np.linalg.norm(u)
            for _step in range(case.ascent_steps):
                L = model.linearize(X, theta)
                lam, V = np.linalg.eigh(L.drift_gram(lin))
                measured = math.sqrt(max(float(lam[-1]), 0.0))
                ratio = max(ratio, measured / bound if bound > 0 else (math.inf if measured else 0))
                # ‖J_θ − J0‖ = qᵀ(J_θ − J0)v for its top singular pair (q, v); its gradient
                # in θ is Σ_j q_j ∇²f(x_j; θ) v = d/dε J_{θ+εv}ᵀ q (a central difference
                # of vjp) for smooth models; for relu-like ones (J piecewise constant) the
                # right singular vector v itself, which moves θ across activation changes
                q = V[:, -1]
                v = L.vjp(q) - lin.vjp(q)
                v /= max(np.linalg.norm(v), 1e-300)
                g = v
                if case.caps.smooth:
                    eps = 1e-5 * rho
                    g = model.linearize(X, theta + eps * v).vjp(q)
                    g = (g - model.linearize(X, theta - eps * v).vjp(q)) / (2.0 * eps)
                step = theta - theta0 + 0.5 * rho * g / max(np.linalg.norm(g), 1e-300)
                theta = theta0 + rho * step / max(np.linalg.norm(step), 1e-300)
    assert ratio <= 1.0 + 1e-9, f"drift bound exceeded: ‖J_θ − J0‖ = {ratio:.6f}·h(ρ)"
    return ratio


def check_gram_error_is_proved(case: Case) -> float:
    """A rigorous E_K is finite; at least u/2·max K̂_jj (an a-priori bound must allow the
    last rounding of each entry, up to half an ulp); and useful: at most 1e-6·tr K̂ (a
    rounding analysis of n² sums of P products gives O(P·u)·tr K, P ≪ 10⁹ here)."""
    K = case.model.gram(case.X)
    trace = float(np.trace(K))
    bound = case.model.gram_error(case.X, trace)
    assert bound.rigorous, "gram_error is not rigorous"
    assert math.isfinite(bound.value), f"gram_error is {bound.value} for a finite K̂0"
    floor = np.finfo(float).eps / 2 * float(np.max(np.diag(K)))
    assert floor <= bound.value <= 1e-6 * trace, (
        f"gram_error {bound.value:.3e} outside [{floor:.3e}, 1e-6·tr K̂ = {1e-6 * trace:.3e}]"
    )
    return bound.value / trace


def check_gram_error_is_labelled(case: Case) -> float:
    """A family that cannot prove its Gram's rounding says so: an estimate, not ∞ (which
    would make σ_min's bound 0 and no certificate possible)."""
    trace = float(np.trace(case.model.gram(case.X)))
    bound = case.model.gram_error(case.X, trace)
    assert not bound.rigorous
    assert not math.isinf(bound.value), "an unknown Gram error must be an estimate, not ∞"
    return 0.0


def check_pickle_round_trip(case: Case) -> float:
    copy = pickle.loads(pickle.dumps(case.model))
    assert np.array_equal(copy.forward(case.X), case.model.forward(case.X)), (
        "the unpickled model computes another f"
    )
    return 0.0


def check_gram_flops_counts_entries(case: Case) -> float:
    n, m = case.X.shape[0], case.rows
    assert case.model.gram_flops(n) >= m * m, "gram_flops: K0 has m² entries, each a product"
    return 0.0


def check_memory_plan_bounds_gram_peak(case: Case) -> float:
    """The ``gram`` memory plan bounds the peak ``tracemalloc`` sees while forming K0."""
    n = case.X.shape[0]
    tracemalloc.start()
    tracemalloc.reset_peak()
    case.model.gram(case.X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    planned = case.model.peak_bytes("gram", n)
    assert peak <= planned, f"gram() traced {peak:,} bytes above its plan of {planned:,}"
    return peak / planned


Check = Callable[[Case], float]
#: Every check by name, with the capabilities it needs (None: every model).
CHECKS: dict[str, tuple[Check, Callable[[Capabilities], bool] | None]] = {
    "forward_matches_linearization": (check_forward_matches_linearization, None),
    "jvp_vjp_adjoint": (check_jvp_vjp_adjoint, None),
    "gram_vs_finite_differences": (check_gram_vs_finite_differences, lambda c: c.smooth),
    "gram_vs_jvp_columns": (check_gram_vs_jvp_columns, None),
    "gram_is_symmetric": (check_gram_is_symmetric, None),
    "gram_operator_matches_gram": (check_gram_operator_matches_gram, None),
    "drift_gram_vs_finite_differences": (
        check_drift_gram_vs_finite_differences,
        lambda c: c.smooth,
    ),
    "drift_bound_dominates_ascent": (check_drift_bound_dominates_ascent, lambda c: c.drift_bound),
    "gram_error_is_proved": (check_gram_error_is_proved, lambda c: c.rigorous_gram),
    "gram_error_is_labelled": (check_gram_error_is_labelled, lambda c: not c.rigorous_gram),
    "pickle_round_trip": (check_pickle_round_trip, None),
    "gram_flops_counts_entries": (check_gram_flops_counts_entries, None),
    "memory_plan_bounds_gram_peak": (check_memory_plan_bounds_gram_peak, None),
}


def checks_for_capabilities(caps: Capabilities) -> list[str]:
    """The names of the checks that apply to a model with ``caps``, in ``CHECKS`` order."""
    return [name for name, (_, needs) in CHECKS.items() if needs is None or needs(caps)]


def family_cases(family: str) -> dict[str, Callable[[], tuple[Model, np.ndarray]]]:
    """The registered ``family``'s conformance cases (its ``conformance`` module's
    ``CASES``), each a function that builds the model and its inputs."""
    module = importlib.import_module(f"ntkcheck.models.{FAMILIES[family]}.conformance")
    build: Callable[[str], tuple[Model, np.ndarray]] = module.conformance_case
    return {name: functools.partial(build, name) for name in module.CASES}


def check_model(
    model: Model,
    X: np.ndarray,
    *,
    radii: tuple[float, ...] = (1e-3, 1e-2, 1e-1),
    seed: int = 0,
    fd_step: float = 1e-5,
    fd_tol: float = 1e-6,
    restarts: int = 8,
    ascent_steps: int = 20,
    smooth: bool | None = None,
) -> Conformance:
    """Run every check that applies to ``model`` at inputs ``X``; AssertionError on failure.

    ``smooth`` overrides the capability read from the model (False: relu-like — no
    finite-difference checks, whose steps may straddle a kink).
    """
    case = Case(model, X, radii, seed, fd_step, fd_tol, restarts, ascent_steps, smooth)
    measured = {name: CHECKS[name][0](case) for name in checks_for_capabilities(case.caps)}
    return Conformance(
        adjoint_error=measured["jvp_vjp_adjoint"],
        gram_error=measured.get("gram_vs_finite_differences", measured["gram_vs_jvp_columns"]),
        operator_error=measured["gram_operator_matches_gram"],
        drift_gram_error=measured.get("drift_gram_vs_finite_differences", 0.0),
        drift_ratio=measured.get("drift_bound_dominates_ascent", 0.0),
        peak_ratio=measured["memory_plan_bounds_gram_peak"],
    )
