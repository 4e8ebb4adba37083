"""GD with a step size (THEORY.md §13): the engine against independent computations.

References written here share no code with ``flow.gd``: a plain NumPy GD loop on a
dense Jacobian (the two-layer formula J[j, (i, :)] = s a_i σ'(⟨w_i, x_j⟩) x_j; for the
mlp, the model's forward-mode ``jvp`` on unit vectors, a code path the step never
uses), the linearized GD as the explicit recursion s_{k+1} = s_k − ηγ²K0 s_k, and
the certificate from ``theory.gd.certify_gd`` fed as ``run.job.certificates_for``
feeds the flow's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from ntkcheck.flow import GD_SIMULATION_ARRAYS
from ntkcheck.flow.gd import LinearizedGd, checkpoint_steps, simulate_gd
from ntkcheck.run.job import load, measure_spec
from ntkcheck.run.measure import estimate_at
from ntkcheck.theory.certificate import Quantities
from ntkcheck.theory.gd import certify_gd

from .conftest import AtGamma

ROOT = Path(__file__).resolve().parents[1]
U = 2.0**-53

TANH = {"data.n": 8, "model.width": 64}
RELU = {"data.n": 8, "model.width": 1024, "model.activation": "relu", "gamma": 3000.0}
MLP = {"data.n": 8, "data.d": 4, "model.widths": [256], "gamma": 1e4}
DEEP = {"data.n": 8, "data.d": 4, "model.widths": [16, 16], "gamma": 10.0}


def _case(overrides, seed=0):
    """(problem, estimate, Quantities, drift) through the spec pipeline (as run.job does)."""
    return _cached_case(json.dumps(overrides, sort_keys=True), seed)


@functools.cache
def _cached_case(key, seed):
    over = json.loads(key) | {"seed": seed}
    spec = ROOT / "specs" / "mlp.yaml" if "model.widths" in over else None
    loaded = load(spec, over)
    measured = measure_spec(loaded)
    p = AtGamma(measured.problem, loaded.spec.gamma)
    est = estimate_at(p, measured.measurement, p.gamma)
    m = est.measurement
    q = Quantities(
        sigma_min=est.sigma_min_lower,
        sigma_max=est.sigma_max_upper,
        loss0=est.loss0,
        f0_sq=m.f0_norm**2,
        f0_dot_y=m.f0_dot_y,
        y_sq=m.y_norm**2,
        full_rank=m.full_rank.holds,
        loss_depends_on_gamma=p.loss_depends_on_gamma,
    )
    return p, est, q, m.drift


def _certificate(p, q, drift, lr, steps):
    return certify_gd(p.gamma, lr, "half_sum", steps, p.n, q, drift, True)


def _lr_max(p, q, drift):
    return _cached_lr_max(p, q, drift)


@functools.cache
def _cached_lr_max(p, q, drift):
    return _certificate(p, q, drift, 1e-30, 1).lr_max


def _simulate(p, est, eta, steps, guarantees, points=12, **kw):
    return simulate_gd(p.problem, p.gamma, eta=eta, steps=steps, points=points, sigma_min=est.sigma_min,
                       sigma_max=est.sigma_max, guarantees=guarantees, rigorous=True, **kw)  # fmt: skip


# --- independent references ------------------------------------------------------------------


def _two_layer_reference(p, activation):
    """f and dense J of the two-layer network, by the textbook formulas (test-local)."""
    X, a, s = p.X, p.model.a, p.model.s
    sigma, dsigma = {
        "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
        "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    }[activation]
    shape = p.model.W.shape

    def f(theta):
        return s * (sigma(X @ theta.reshape(shape).T) @ a)

    def jac(theta):
        S = s * dsigma(X @ theta.reshape(shape).T) * a  # (n, N)
        return (S[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)

    return f, jac


def _jvp_reference(p):
    """f from ``forward`` and dense J from the forward-mode jvp on the P unit vectors."""
    model, X = p.model, p.X
    eye = np.eye(model.n_params)

    def jac(theta):
        lin = model.linearize(X, theta)
        return np.stack([lin.jvp(eye[:, i]) for i in range(model.n_params)], axis=1)

    return (lambda theta: model.forward(X, theta)), jac


def _plain_gd(p, f, jac, eta, steps):
    """θ_{k+1} = θ_k − ηγ J_kᵀ r_k with r = γ(f_θ − f_θ0) + r0, every step (dense J)."""
    gamma, r0 = p.gamma, p.residual0()
    theta = p.model.theta0.copy()
    f0 = f(theta)
    out = {"r": [], "dist": [], "path": []}
    path = 0.0
    for _ in range(steps + 1):
        r = gamma * (f(theta) - f0) + r0
        out["r"].append(r)
        out["dist"].append(np.linalg.norm(theta - p.model.theta0))
        out["path"].append(path)
        step = -eta * gamma * jac(theta).T @ r
        path += np.linalg.norm(step)
        theta = theta + step
    return {k: np.asarray(v) for k, v in out.items()}


# --- (1) the true network's GD ----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,activation,steps",
    [(TANH, "tanh", 40), ({**TANH, "model.init": "gaussian", "gamma": 1.0}, "tanh", 40),
     (RELU, "relu", 40), (DEEP, None, 40)],
    ids=["tanh", "tanh-gaussian-init", "relu", "mlp"],
)  # fmt: skip
def test_loss_path_and_distance_against_plain_gd_with_a_dense_jacobian(
    overrides, activation, steps
):
    """Loss, ‖θ_k − θ0‖ and Σ‖Δ_j‖ at the checkpoints against the plain loop.

    Two float64 runs of the same GD differ by rounding only. Per step each perturbs r
    by ≲ u·(γ‖J‖‖θ‖ + ‖r0‖)-sized noise (16u·that is ``flow.gd.step_noise``), and the
    map r ↦ r − ηγ²K r is a contraction (‖·‖ ≤ 1 for η certified), so after k steps
    ‖r_k − r_k^ref‖ ≤ k·noise: the tolerance is 1e-12·‖r_k‖ plus that.
    """
    p, est, _, _ = _case(overrides)
    eta = 1.0 / (p.gamma**2 * est.sigma_max**2)  # ηγ²σ_max² = 1: stable, fast, no certificate
    f, jac = _jvp_reference(p) if activation is None else _two_layer_reference(p, activation)
    ref = _plain_gd(p, f, jac, eta, steps)
    sim = _simulate(p, est, eta, steps, None, points=9)
    assert sim.status == "completed" and sim.steps_done == steps
    r0 = np.linalg.norm(p.residual0())
    theta_norm = np.linalg.norm(p.model.theta0)
    noise = U * (p.gamma * est.sigma_max * 2 * theta_norm + 2 * r0)
    r_ref = np.linalg.norm(ref["r"], axis=1)
    assert r_ref[-1] < 0.5 * r0  # the run goes somewhere
    for i, k in enumerate(sim.step):
        r = math.sqrt(2 * sim.loss[i])
        assert abs(r - r_ref[k]) <= 1e-12 * r_ref[k] + 16 * k * noise, (k, r, r_ref[k])
        assert sim.param_dist[i] == pytest.approx(ref["dist"][k], rel=1e-10, abs=1e-300)
        assert sim.path_length[i] == pytest.approx(ref["path"][k], rel=1e-10, abs=1e-300)


def test_state_at_step_zero_is_the_initialization():
    p, est, q, drift = _case(TANH)
    sim = _simulate(p, est, 0.5 * _lr_max(p, q, drift), 10, None)
    assert sim.step[0] == 0 and sim.step[-1] == 10
    assert sim.loss[0] == pytest.approx(est.loss0, rel=1e-15)
    assert sim.loss_lin[0] == pytest.approx(est.loss0, rel=1e-13)
    assert sim.param_dist[0] == 0.0 and sim.path_length[0] == 0.0 and sim.param_dist_lin[0] == 0
    assert sim.gap[0] <= 1e-13 * math.sqrt(2 * est.loss0)
    assert sim.sigma_min_t[0] == pytest.approx(est.sigma_min, rel=1e-10)
    assert sim.jacobian_norm_t[0] == pytest.approx(est.sigma_max, rel=1e-10)
    assert set(GD_SIMULATION_ARRAYS) <= {f.name for f in dataclasses.fields(sim)}
    assert all(len(getattr(sim, a)) == len(sim.step) for a in GD_SIMULATION_ARRAYS)


# --- (2) the linearized network's GD in closed form -------------------------------------------


def _linear_loop(K0, J0, r0, eta, gamma, steps):
    """s_{k+1} = s_k − ηγ²K0 s_k and θ̃_{k+1} = θ̃_k − ηγ J0ᵀ s_k, explicitly."""
    s, u = r0.copy(), np.zeros(J0.shape[1])
    out_s, out_u = [s], [0.0]
    for _ in range(steps):
        u = u - eta * gamma * J0.T @ s
        s = s - eta * gamma**2 * K0 @ s
        out_s.append(s)
        out_u.append(np.linalg.norm(u))
    return np.asarray(out_s), np.asarray(out_u)


@pytest.mark.parametrize("fraction", [0.5, 0.999])
def test_linearized_closed_form_against_the_explicit_recursion(fraction):
    """loss_lin, ‖θ̃_k − θ0‖ and the gap ‖r_k − s_k‖ against the recursion on a dense J0.

    The recursion and the closed form differ by rounding: K0's eigenpairs are
    backward stable (n·u·λ_max), each recursion step adds ≲ n·u·‖s‖, and both are
    contractions, so the difference is ≲ k·n·u·‖r0‖ (tolerance 1e-13·‖r0‖·k, ≈ 100×).
    """
    p, est, _, _ = _case(TANH)
    eta = fraction * 2.0 / (p.gamma**2 * est.sigma_max**2)  # up to the linear stability limit
    steps = 300
    f, jac = _two_layer_reference(p, "tanh")
    J0 = jac(p.model.theta0)
    r0 = p.residual0()
    s, u = _linear_loop(J0 @ J0.T, J0, r0, eta, p.gamma, steps)
    ref = _plain_gd(p, f, jac, eta, steps)
    sim = _simulate(p, est, eta, steps, None, points=15)
    scale = np.linalg.norm(r0)
    for i, k in enumerate(sim.step):
        tol = 1e-13 * scale * max(k, 1)
        assert abs(math.sqrt(2 * sim.loss_lin[i]) - np.linalg.norm(s[k])) <= tol
        assert sim.param_dist_lin[i] == pytest.approx(u[k], rel=1e-10, abs=1e-300)
        gap = np.linalg.norm(ref["r"][k] - s[k])
        assert abs(sim.gap[i] - gap) <= tol + 16 * k * U * (p.gamma * est.sigma_max * 16 + scale)


def test_linearized_gd_modes_with_zero_small_and_unstable_eigenvalues():
    """The closed form on a chosen spectrum: λ = 0 (s keeps its component, θ̃ moves by
    ηγ²k·c), λ tiny (the geometric sum near μ = 1 without cancellation), and μ < −1
    (|s| grows like |μ|^k) — against the recursion in the eigenbasis, exact to 1e-12."""
    rng = np.random.default_rng(3)
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = np.array([0.0, 1e-9, 0.5, 2.4])
    r0 = rng.standard_normal(4)
    lin = LinearizedGd.from_gram(V @ np.diag(lam) @ V.T, r0, eta=1.0, gamma=1.0)
    c = V.T @ r0
    mu = 1.0 - lam
    for k in (0, 1, 7, 40):
        s = V @ (mu**k * c)
        np.testing.assert_allclose(lin.residual(k), s, rtol=1e-12, atol=1e-12 * np.abs(s).max())
        geo = np.array([sum(m**j for j in range(k)) for m in mu])
        dist = math.sqrt(np.sum(lam * (geo * c) ** 2))  # ‖J0ᵀV diag(G_k) c‖ with J0ᵀJ0 ~ λ
        assert lin.param_dist(k) == pytest.approx(dist, rel=1e-9, abs=1e-300)
    assert lin.loss(40) > 1e6 * lin.loss(0)  # the unstable mode: linearized GD diverges


# --- (3) every G-check holds on certified cases -----------------------------------------------


CENTERED = {**TANH, "model.init": "gaussian", "model.centered": True}
CERTIFIED = (
    [(TANH, s, f, 400) for s in (0, 1, 2) for f in (0.3, 0.7, 1.0)]
    + [(case, s, f, 150) for case in (RELU, CENTERED) for s in (0, 1) for f in (0.5, 1.0)]
    + [(MLP, 0, 0.5, 120), (MLP, 0, 1.0, 120), (MLP, 1, 1.0, 120)]
)


@pytest.mark.parametrize(
    "overrides,seed,fraction,steps",
    CERTIFIED,
    ids=[f"{n}-seed{s}-{f}" for n in ("tanh",) for s in (0, 1, 2) for f in (0.3, 0.7, 1.0)]
    + [f"{n}-seed{s}-{f}" for n in ("relu", "centered") for s in (0, 1) for f in (0.5, 1.0)]
    + ["mlp-seed0-0.5", "mlp-seed0-1.0", "mlp-seed1-1.0"],
)
def test_every_g_check_holds_on_certified_cases(overrides, seed, fraction, steps):
    """At fractions of lr_max (1.0: the certificate's own lr_max, rounded down by at most
    its solve tolerance) over several seeds: every check applicable, resolved and held."""
    p, est, q, drift = _case(overrides, seed)
    lr = fraction * _lr_max(p, q, drift)
    cert = _certificate(p, q, drift, lr, steps)
    if fraction == 1.0 and not cert.certified:  # the sup need not be attained (§13 iv)
        lr *= 1 - 1e-9
        cert = _certificate(p, q, drift, lr, steps)
    assert cert.certified, (seed, cert.reason)
    sim = _simulate(p, est, cert.eta, steps, cert.guarantees)
    assert sim.status == "completed"
    assert [c.id for c in sim.checks] == ["G1", "G2", "G3", "G5"]
    for c in sim.checks:
        assert c.applicable and c.holds is True, (seed, c)
        assert 0 < c.worst_ratio <= 1 + 1e-9, (seed, c)
    assert sim.all_hold


def test_checks_hold_down_to_the_rounding_plateau():
    """Run far past convergence (‖r_k‖ stalls at ~1e-14·‖r0‖): the floors keep the noise
    from failing a check, and the checks were resolved before it."""
    p, est, q, drift = _case({**TANH, "gamma": 1e4})
    cert = _certificate(p, q, drift, 0.9 * _lr_max(p, q, drift), 2000)
    sim = _simulate(p, est, cert.eta, 2000, cert.guarantees, points=30)
    assert sim.loss[-1] <= 1e-20 * sim.loss[0]  # reached the plateau
    assert all(c.holds is True for c in sim.checks), sim.checks


@pytest.mark.parametrize(
    "field_name,factor,cid",
    [("rate", 0.5, "G1"), ("descent", 4.0, "G1"), ("radius_gd", 0.1, "G2"),
     ("alpha", 1.01, "G3"), ("Sigma", 0.99, "G3"), ("deviation_coef", 1e-7, "G5")],
)  # fmt: skip
def test_a_wrong_guarantee_fails_its_check(field_name, factor, cid):
    """Each check can fail: a guarantee made too strong is caught (and only its check)."""
    p, est, q, drift = _case(TANH)
    cert = _certificate(p, q, drift, 0.7 * _lr_max(p, q, drift), 200)
    g = cert.guarantees
    bad = dataclasses.replace(g, **{field_name: getattr(g, field_name) * factor})
    sim = _simulate(p, est, cert.eta, 200, bad)
    failed = {c.id for c in sim.checks if c.holds is False}
    assert cid in failed, sim.checks
    if field_name not in ("descent", "alpha"):  # a and α enter G1 and G2 both
        assert failed == {cid}


# --- (4) divergence, (5) no certificate -------------------------------------------------------


@pytest.mark.parametrize("overrides,stability", [(RELU, 2.2), (TANH, 10.0)], ids=["relu", "tanh"])
def test_an_unstable_step_diverges_and_says_so(overrides, stability):
    p, est, q, drift = _case(overrides)
    eta = stability / (p.gamma**2 * est.sigma_max_upper**2)
    cert = certify_gd(p.gamma, eta, "half_sum", 500, p.n, q, drift, True)
    assert not cert.certified and cert.reason.value == "unstable"
    sim = _simulate(p, est, eta, 500, cert.guarantees)
    assert sim.status == "diverged" and sim.diverged
    assert 0 < sim.steps_done < 500
    assert f"step {sim.steps_done:,}" in sim.message and "≥ 2" in sim.message
    assert sim.stability >= 2.0 and sim.contraction > 1.0
    assert sim.step[-1] < sim.steps_done  # the checkpoints reached are kept
    assert all(not c.applicable and c.holds is None for c in sim.checks)


def test_past_the_stability_limit_a_catapult_is_not_a_divergence():
    """tanh at ηγ²σ_max² = 2.2: the loss grows ~300×, the network leaves the lazy regime and
    then converges (THEORY.md §13 remark ii) while the linearized GD blows up; the status
    follows the measured loss."""
    p, est, _, _ = _case(TANH)
    sim = _simulate(p, est, 2.2 / (p.gamma**2 * est.sigma_max_upper**2), 500, None, points=20)
    assert sim.status == "completed"
    assert np.max(sim.loss) > 10 * sim.loss[0] and sim.loss[-1] < 1e-10 * sim.loss[0]
    assert sim.loss_lin[-1] > 1e20 * sim.loss[0]


def test_a_diverging_run_under_a_wrong_certificate_fails_g1():
    """A run that diverges while a (forged) certificate holds is a failed G1, not n/a."""
    p, est, q, drift = _case(RELU)
    good = _certificate(p, q, drift, 0.5 * _lr_max(p, q, drift), 10)
    eta = 2.2 / (p.gamma**2 * est.sigma_max_upper**2)
    forged = dataclasses.replace(good.guarantees, eta=eta)
    sim = _simulate(p, est, eta, 500, forged)
    assert sim.status == "diverged"
    g1 = next(c for c in sim.checks if c.id == "G1")
    assert g1.applicable and g1.holds is False


def test_not_certified_runs_and_reports_checks_not_applicable():
    """lr between lr_max and the stability limit: GD converges, but nothing is promised."""
    p, est, q, drift = _case(TANH)
    lr_max = _lr_max(p, q, drift)
    lr = 0.5 * (lr_max + 1.9 / (p.gamma**2 * est.sigma_max_upper**2))
    cert = _certificate(p, q, drift, lr, 300)
    assert not cert.certified and cert.guarantees is None
    sim = _simulate(p, est, cert.eta, 300, None)
    assert sim.status == "completed" and sim.loss[-1] < 1e-6 * sim.loss[0]
    assert [c.id for c in sim.checks] == ["G1", "G2", "G3", "G5"]
    assert all(not c.applicable and c.holds is None for c in sim.checks)
    assert not sim.all_hold


# --- checkpoints, progress --------------------------------------------------------------------


@pytest.mark.parametrize("steps,points", [(0, 5), (3, 5), (4, 5), (5, 5), (2000, 50), (10**9, 7)])
def test_checkpoints_are_distinct_integers_from_zero_to_k(steps, points):
    k = checkpoint_steps(steps, points)
    assert k[0] == 0 and k[-1] == steps
    assert len(k) == min(points, steps + 1) and np.all(np.diff(k) > 0)
    if steps > 100 * points:  # half logarithmic: steps 1..~points/2 are all early
        assert np.sum(k <= math.sqrt(steps)) >= points // 4
        assert np.sum(k >= steps // 2) >= points // 4


def test_progress_reports_steps_and_loss():
    p, est, q, drift = _case(TANH)
    calls = []
    sim = _simulate(p, est, 0.5 * _lr_max(p, q, drift), 50, None,
                    progress=lambda k, loss: calls.append((k, loss)))  # fmt: skip
    assert calls[-1][0] == 50 and calls[-1][1] == pytest.approx(sim.loss[-1], rel=1e-15)


def test_an_interrupt_keeps_the_checkpoints_reached():
    """Ctrl-C (here raised by the progress callback at the last step): status
    ``interrupted``, the checkpoints reached kept, the checks not applicable."""
    p, est, q, drift = _case(TANH)
    cert = _certificate(p, q, drift, 0.5 * _lr_max(p, q, drift), 30)

    def stop(k, _loss):
        if k == 30:
            raise KeyboardInterrupt

    sim = _simulate(p, est, cert.eta, 30, cert.guarantees, progress=stop)
    assert sim.status == "interrupted" and sim.steps_done == 30
    assert 0 < len(sim.step) < 12 and sim.step[-1] < 30
    assert all(not c.applicable for c in sim.checks)
