"""``flow.deviation``: the true flow integrated as its deviation from the linearized one
(THEORY.md §1) against an independent integration of dθ/dτ = −(1/γ)J_θᵀ r(θ) with a
complex-step Jacobian built here; the coordinates, the rounding floor, the statuses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from ntkcheck.flow.deviation import EPS, NOISE_SAFETY, Deviation, integrate, rounding_noise
from ntkcheck.io.build import build_problem
from ntkcheck.io.example import example_spec
from ntkcheck.theory.linear_flow import LinearizedFlow

from .conftest import COMPLEX_SIGMA, reference_forward, reference_jacobian

GAMMA = 3.0


def _flow(activation: str, gamma: float = GAMMA, d: int = 3) -> Deviation:
    spec = example_spec({"data.n": 5, "data.d": d, "model.width": 6, "model.init": "gaussian",
                         "model.activation": activation})  # fmt: skip
    p = build_problem(spec)
    lin0 = p.model.linearize(p.X)
    return Deviation(p, lin0, LinearizedFlow.from_gram(lin0.gram(), p.residual0(gamma), gamma))


def _reference_theta(flow: Deviation, tau: np.ndarray, activation: str) -> np.ndarray:
    """θ(τ) of dθ/dτ = −(1/γ) J_θᵀ (γ f_θ − y), the dense J by complex step (test-local)."""
    p, gamma = flow.problem, flow.gamma
    model = p.model
    N, d = model.W.shape
    sigma = COMPLEX_SIGMA[activation]

    def rhs(_t, theta):
        W = theta.reshape(N, d)
        J = reference_jacobian(p.X, W, model.a, model.s, activation)
        r = gamma * reference_forward(p.X, W, model.a, model.s, sigma) - p.y
        return -(J.T @ r) / gamma

    sol = solve_ivp(rhs, (tau[0], tau[-1]), np.array(model.theta0), method="DOP853",
                    t_eval=tau, rtol=1e-12, atol=1e-14)  # fmt: skip
    assert sol.success
    return sol.y.T


def test_the_coordinates_at_the_start():
    flow = _flow("tanh")
    zero = np.zeros(flow.problem.model.n_params)
    np.testing.assert_array_equal(flow.theta(0.0, zero), flow.problem.model.theta0)
    np.testing.assert_array_equal(flow.residual(flow.lin0.f), flow.r0)  # exactly r(θ0)
    np.testing.assert_array_equal(flow.r0, GAMMA * flow.problem.f0 - flow.problem.y)
    assert flow.gamma == GAMMA
    assert np.max(np.abs(flow.rhs(0.0, zero))) <= 1e-13 * np.max(np.abs(flow.lin0.vjp(flow.r0)))


def test_a_linear_model_never_deviates():
    """J does not depend on θ: the true flow is the linearized one, so e ≡ 0 up to the
    integrator's errors; de/dτ = −JᵀJe is contractive, so they add up to about the
    steps' local tolerances, each atol·√P = atol_rel·scale in ℓ² (THEORY.md §1). An
    embedded pair's error estimate is asymptotic and the checkpoints come from its
    dense output: a factor 10 over that sum."""
    flow = _flow("identity", d=8)  # d > n: K0 = s²N·XXᵀ is nonsingular
    tau = np.linspace(0.0, 2.0, 5)
    scale = float(np.linalg.norm(flow.r0)) / math.sqrt(float(flow.lin.eigenvalues[0]))
    result = integrate(flow, tau, scale=scale, atol_rel=1e-11, method="dop853")
    assert result.completed and len(result.states) == 5
    worst = max(float(np.linalg.norm(e)) for e in result.states)
    assert worst <= 10 * result.n_steps * 1e-11 * scale
    assert worst <= 1e-9 * float(np.linalg.norm(flow.displacement(2.0, result.states[-1])))


@pytest.mark.parametrize("method", ["expint", "dop853"])
def test_the_true_flow_against_a_dense_integration(method):
    """θ(τ) from the deviation equals the dense integration to the tolerances (rtol
    1e-10 on e; e itself is small, so θ agrees to ~1e-10 relative)."""
    flow = _flow("tanh")
    tau = np.linspace(0.0, 1.5, 4)
    result = integrate(flow, tau, scale=1.0, rtol=1e-11, atol_rel=1e-12, method=method)
    assert result.completed and result.n_rhs > 0 and result.n_steps > 0
    reference = _reference_theta(flow, tau, "tanh")
    moved = np.linalg.norm(reference[-1] - reference[0])
    assert moved > 1e-3  # the flow goes somewhere
    for k, e in enumerate(result.states):
        error = np.linalg.norm(flow.theta(float(tau[k]), e) - reference[k])
        assert error <= 1e-8 * moved, (k, error)
    assert np.linalg.norm(result.states[-1]) > 0  # and it is not the linearized flow


def test_rounding_noise_is_two_ulps_of_gamma_theta():
    assert NOISE_SAFETY == 2.0 and EPS == 2.0**-52
    assert rounding_noise(1e8, 3.0) == 2.0 * 2.0**-52 * 1e8 * 3.0


def test_the_absolute_tolerance_is_per_component_and_never_below_the_noise():
    flow = _flow("tanh")
    P = flow.problem.model.n_params
    tau = np.array([0.0, 0.1])
    r = integrate(flow, tau, scale=2.0, atol_rel=1e-11, method="dop853")
    assert r.atol == pytest.approx(2e-11 / math.sqrt(P), rel=1e-15)
    r = integrate(flow, tau, scale=2.0, atol_rel=1e-11, noise=1e-6, method="dop853")
    assert r.atol == pytest.approx(1e-6 / math.sqrt(P), rel=1e-15)


def test_an_interrupt_keeps_the_checkpoints_reached():
    flow = _flow("tanh")
    tau = np.linspace(0.0, 1.0, 6)

    def progress(k, _tau):
        if k >= 2:
            raise KeyboardInterrupt

    r = integrate(flow, tau, scale=1.0, method="dop853", progress=progress)
    assert r.status == "interrupted" and not r.completed
    assert 3 <= len(r.states) < 6 and len(r.tau) == len(r.states)
    np.testing.assert_array_equal(r.tau, tau[: len(r.states)])


def test_a_past_deadline_stops_over_budget():
    flow = _flow("tanh")
    r = integrate(flow, np.linspace(0.0, 1.0, 6), scale=1.0, method="dop853", deadline=0.0)
    assert r.status == "over_budget" and "over budget" in r.message


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        integrate(_flow("tanh"), np.array([0.0, 1.0]), scale=1.0, method="euler")
