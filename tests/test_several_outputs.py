"""The generic pipeline with C outputs (issue 19, THEORY.md §14), at the Problem level.

Models: ``tests/multi_output.py`` (the toy family's linear model with C outputs, whose
Gram is exact, and a tanh network with a fixed ±1 readout matrix and a dense Jacobian).
References share no code with the pipeline: numpy's eigh of the dense Gram, a plain
RK4 integration of dθ/dt = −γJᵀr on the dense Jacobian, a plain GD loop, and the
argmax of the trained outputs written again (``independent_classes``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ntkcheck.flow.classes import ClassRule
from ntkcheck.models import registry
from ntkcheck.report.document import result_dict, sweep_columns, sweep_row
from ntkcheck.report.lines import report_lines
from ntkcheck.report.simulation_lines import simulation_lines
from ntkcheck.report.sweep import render_text
from ntkcheck.report.sweep_plot import x_axis
from ntkcheck.report.words import full_rank_reason
from ntkcheck.run.measure import FullRank
from ntkcheck.run.result import ProblemInfo
from ntkcheck.theory.certificate import Status

from .multi_output import (
    classes_problem,
    gd_block,
    independent_classes,
    linear_model,
    make_problem,
    readout_tanh,
    run,
    simulate_block,
    sphere,
)


@pytest.fixture
def linear_family(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy ``linear`` family registered for this test (its words, for the report)."""
    monkeypatch.setitem(registry.FAMILIES, "linear", "linear")
    linear_model(2, 1)  # puts its folder on ntkcheck.models' path


def _text(result) -> str:
    return "\n".join(f"{line.label} {line.text}" for line in report_lines(result))


def _dense(model, X, theta=None):
    return model.jacobian(X, model.theta0 if theta is None else theta)


# ----------------------------------------------------------------------- measure, (H2)


def test_linear_gram_is_kron_and_sigmas_match(linear_family: None) -> None:
    """K0 = s²XXᵀ ⊗ I_C: its spectrum is s²XXᵀ's, each eigenvalue C times; the pipeline's
    σ's (m × m Gram, m = nC) match numpy's eigh of the dense J Jᵀ."""
    n, d, C, s = 6, 8, 3, 1.3
    X = sphere(n, d)
    model = linear_model(d, C, scale=s)
    P = model.n_params
    J = np.column_stack([model.linearize(X).jvp(e) for e in np.eye(P)])  # dense, tests only
    assert J.shape == (n * C, P)
    lam = np.linalg.eigvalsh(J @ J.T)
    base = np.linalg.eigvalsh(s * s * (X @ X.T))
    np.testing.assert_allclose(lam, np.repeat(base, C), rtol=1e-12, atol=1e-12)
    Y = np.random.default_rng(5).standard_normal((n, C))
    result = run(make_problem(model, X, Y), 2.0)
    e = result.estimate
    assert e.full_rank.holds
    assert e.sigma_min == pytest.approx(math.sqrt(lam[0]), rel=1e-10)
    assert e.sigma_max == pytest.approx(math.sqrt(lam[-1]), rel=1e-10)
    assert e.loss0 == pytest.approx(0.5 * float(np.sum(Y * Y)), rel=1e-14)  # centered
    assert result.status is Status.certified  # β = 0


def test_problem_block_and_line_say_points_outputs_rows(linear_family: None) -> None:
    X = sphere(6, 8)
    model = linear_model(8, 3)
    result = run(make_problem(model, X, np.ones((6, 3))), 2.0)
    problem = result_dict(result)["problem"]
    assert (problem["n"], problem["outputs"], problem["rows"], problem["d"]) == (6, 3, 18, 8)
    assert list(problem)[:4] == ["n", "outputs", "rows", "d"]
    assert "n = 6 points × C = 3 outputs (m = 18 rows; P = 24)" in _text(result)
    one = run(make_problem(linear_model(8, 1), X, np.ones(6)), 2.0)
    assert (result_dict(one)["problem"]["outputs"], result_dict(one)["problem"]["rows"]) == (1, 6)
    assert "linear model, d = 8, n = 6 (P = 8), s = 1" in _text(one)  # today's line


def test_h2_more_rows_than_parameters() -> None:
    """n ≤ P < nC: (H2) fails because of the outputs alone; the rank of J0 is ≤ P < m."""
    n, d, N, C = 6, 4, 2, 3  # P = 8 ≥ n = 6, but m = 18 > 8
    X = sphere(n, d)
    model = readout_tanh(d, N, C)
    _, J = _dense(model, X)
    assert np.linalg.matrix_rank(J) <= model.n_params < n * C
    result = run(classes_problem(model, X), 5.0)
    fr = result.estimate.full_rank
    assert not fr.holds and fr.code == "underparametrized"
    assert result.status is Status.not_applicable
    message = result_dict(result)["certificate"]["message"]
    assert message == (
        "(H2) fails: P = 8 parameters < n·C = 18 rows (6 points × 3 outputs): the Gram K0 "
        "(18 × 18) has more rows than parameters, so σ_min = 0; increase model.width"
    )
    assert "NOT APPLICABLE" in _text(result)


def test_h2_repeated_inputs_make_c_pairs_of_equal_rows() -> None:
    """x_i = x_j: rows (i, c) and (j, c) of J0 are equal for every c, rank ≤ m − C."""
    n, d, N, C = 6, 4, 32, 3
    X = sphere(n, d)
    X[4] = X[1]
    model = readout_tanh(d, N, C)
    _, J = _dense(model, X)
    for c in range(C):
        np.testing.assert_array_equal(J[1 * C + c], J[4 * C + c])
    assert np.linalg.matrix_rank(J) <= n * C - C
    result = run(classes_problem(model, X), 5.0)
    fr = result.estimate.full_rank
    assert (fr.code, fr.data["i"], fr.data["j"]) == ("repeated_inputs", 1, 4)
    assert full_rank_reason(fr, "two_layer") == (
        "inputs 1 and 4 are identical: J0 has 3 pairs of equal rows (one per output), so "
        "σ_min = 0; remove repeated points"
    )


def test_h2_sentences_for_one_output_are_unchanged() -> None:
    fr = FullRank(False, "underparametrized", {"params": 1, "n": 2})
    assert full_rank_reason(fr, "two_layer") == (
        "P = 1 parameters < n = 2 points: J0 has more rows than columns, so σ_min = 0; "
        "increase model.width"
    )
    fr = FullRank(False, "repeated_inputs", {"i": 0, "j": 3})
    assert full_rank_reason(fr, "two_layer") == (
        "inputs 0 and 3 are identical: J0 has two equal rows, so σ_min = 0; remove repeated points"
    )


def test_gd_mean_losses_divide_by_rows(linear_family: None) -> None:
    """THEORY.md §13–§14: MSELoss() is ‖r‖²/m with m = nC residual entries, so η = 2lr/(nC)."""
    X = sphere(6, 8)
    problem = make_problem(linear_model(8, 3), X, np.ones((6, 3)))
    result = run(problem, 2.0, train=gd_block(lr=0.3, steps=5, loss="mse"))
    assert result.gd is not None
    assert result.gd.eta == pytest.approx(2.0 * 0.3 / 18, rel=1e-15)
    half = run(problem, 2.0, train=gd_block(lr=0.3, steps=5, loss="half_mean"))
    assert half.gd is not None and half.gd.eta == pytest.approx(0.3 / 18, rel=1e-15)


# ----------------------------------------------------------------------------- simulate


def test_simulate_linear_several_outputs_checks_hold_and_flow_is_exact(
    linear_family: None,
) -> None:
    """J constant: the network is its linearization. C1–C5 hold, the loss is the closed
    form ½‖exp(−γ²K0t)r0‖² (numpy's eigh of the dense Gram), accuracies are equal and the
    predictions agree everywhere."""
    n, d, C, gamma = 8, 10, 3, 2.0
    X = sphere(n, d)
    model = linear_model(d, C, scale=0.8)
    problem = classes_problem(model, X, encoding="centered")
    result = run(problem, gamma, sp=simulate_block(points=10))
    sim = result.simulation
    assert sim is not None and sim.status == "completed"
    applicable = [c for c in sim.checks if c.applicable]
    assert applicable and all(c.holds is not False for c in applicable), sim.checks
    P = model.n_params
    J = np.column_stack([model.linearize(X).jvp(e) for e in np.eye(P)])
    lam, V = np.linalg.eigh(J @ J.T)
    r0 = -problem.y  # centered
    for t, loss in zip(sim.t, sim.loss, strict=True):
        rt = V @ (np.exp(-gamma * gamma * lam * t) * (V.T @ r0))
        assert loss == pytest.approx(0.5 * float(rt @ rt), rel=1e-6, abs=1e-14)
    assert sim.accuracy is not None and sim.accuracy_linear is not None
    np.testing.assert_array_equal(sim.accuracy, sim.accuracy_linear)
    np.testing.assert_array_equal(sim.agreement, np.ones(len(sim.t)))
    assert sim.accuracy[-1] == 1.0  # the flow interpolates the targets
    # centered at t = 0: every output is 0, a tie: argmax takes class 0
    assert sim.accuracy[0] == pytest.approx(float(np.mean(problem.labels == 0)))


def _rk4_path(model, X, y, gamma, times, steps_per_unit):
    """θ(t) of dθ/dt = −γJᵀ(γf − y) (not centered) by plain RK4 on the dense Jacobian, at
    ``times``; independent of flow/."""

    def rhs(theta):
        f, J = model.jacobian(X, theta)
        return -gamma * (J.T @ (gamma * f - y))

    theta, t, out = model.theta0.copy(), 0.0, []
    for target in times:
        k = max(1, math.ceil((target - t) * steps_per_unit))
        h = (target - t) / k
        for _ in range(k):
            a = rhs(theta)
            b = rhs(theta + 0.5 * h * a)
            c = rhs(theta + 0.5 * h * b)
            e = rhs(theta + h * c)
            theta = theta + h / 6.0 * (a + 2 * b + 2 * c + e)
        t = target
        out.append(theta.copy())
    return out


def test_flow_accuracy_matches_an_independent_integration() -> None:
    """Feature regime (γ small, the kernel moves): the network's and the linearization's
    accuracies differ along the way and their agreement drops below 1; each matches the
    argmax of an independent RK4 path (network) and of numpy's closed form (linearized),
    at every checkpoint whose top-two outputs are further apart than the integration error."""
    n, d, N, C, gamma = 24, 5, 40, 4, 1.0
    X = sphere(n, d)
    model = readout_tanh(d, N, C, seed=3)
    problem = classes_problem(model, X, centered=False)
    f0, J0 = _dense(model, X)
    lam, V = np.linalg.eigh(J0 @ J0.T)
    horizon = 90.0 / (gamma**2 * lam[-1])
    result = run(problem, gamma, sp=simulate_block(horizon=horizon, points=9))
    sim = result.simulation
    assert sim is not None and sim.status == "completed"
    assert sim.accuracy is not None and sim.accuracy_linear is not None
    assert sim.agreement is not None and float(np.min(sim.agreement)) < 1.0
    y = problem.y
    thetas = _rk4_path(model, X, y, gamma, sim.t, steps_per_unit=50.0 * gamma**2 * lam[-1])
    r0 = gamma * f0 - y
    Y, compared = problem.Y, 0
    for k, (t, theta) in enumerate(zip(sim.t, thetas, strict=True)):
        r = gamma * model.forward(X, theta) - y
        r_lin = V @ (np.exp(-gamma * gamma * np.clip(lam, 0, None) * t) * (V.T @ r0))
        acc, acc_lin, agree, margin = independent_classes(Y, problem.labels, r, r_lin)
        if margin < 1e-4:  # a near-tie: either prediction is right to the integration error
            continue
        compared += 1
        assert (sim.accuracy[k], sim.accuracy_linear[k], sim.agreement[k]) == (
            acc,
            acc_lin,
            agree,
        ), k
    assert compared >= len(sim.t) - 1


def test_gd_accuracy_matches_a_plain_gd_loop() -> None:
    """GD (THEORY.md §13) with C outputs: the accuracies and agreement at the checkpoints
    equal those of a plain NumPy GD loop on the dense Jacobian and of the explicit
    recursion s_(k+1) = s_k − ηγ²K0 s_k."""
    n, d, N, C, gamma, lr, steps = 24, 5, 40, 4, 1.0, 0.02, 120
    X = sphere(n, d)
    model = readout_tanh(d, N, C, seed=3)
    problem = classes_problem(model, X, centered=False)
    result = run(problem, gamma, sp=simulate_block(points=8), train=gd_block(lr, steps))
    sim = result.simulation
    assert sim is not None and sim.status == "completed"
    assert sim.accuracy is not None and sim.accuracy_linear is not None
    f0, J0 = _dense(model, X)
    K0 = J0 @ J0.T
    y, theta = problem.y, model.theta0.copy()
    r = gamma * f0 - y
    s = r.copy()
    marks = {int(k): i for i, k in enumerate(sim.step)}
    compared = 0
    for k in range(steps + 1):
        if k in marks:
            acc, acc_lin, agree, margin = independent_classes(problem.Y, problem.labels, r, s)
            i = marks[k]
            if margin > 1e-9:
                compared += 1
                got = (sim.accuracy[i], sim.accuracy_linear[i], sim.agreement[i])
                assert got == (acc, acc_lin, agree), k
        J = model.jacobian(X, theta)[1]
        theta = theta - lr * gamma * (J.T @ r)
        r = gamma * model.forward(X, theta) - y
        s = s - lr * gamma * gamma * (K0 @ s)
    assert compared == len(sim.step)
    assert float(np.min(sim.agreement)) < 1.0


def test_regression_targets_have_no_accuracy(linear_family: None) -> None:
    X = sphere(6, 8)
    Y = np.random.default_rng(0).standard_normal((6, 3))
    result = run(make_problem(linear_model(8, 3), X, Y), 2.0, sp=simulate_block(points=5))
    sim = result.simulation
    assert sim is not None and sim.accuracy is None and sim.agreement is None
    doc = result_dict(result)["simulation"]
    assert not {"accuracy", "accuracy_linear", "agreement"} & set(doc)
    assert not any(line.label == "accuracy" for line in simulation_lines(result))


def test_json_report_and_plot_with_class_labels(linear_family: None, tmp_path) -> None:
    X = sphere(8, 10)
    problem = classes_problem(linear_model(10, 3), X)
    result = run(problem, 2.0, sp=simulate_block(points=6))
    doc = json.loads(json.dumps(result_dict(result), allow_nan=False))
    sim = doc["simulation"]
    keys = list(sim)
    assert keys.index("accuracy") == keys.index("weight_change") + 1
    assert keys[keys.index("accuracy") : keys.index("accuracy") + 3] == [
        "accuracy",
        "accuracy_linear",
        "agreement",
    ]
    assert len(sim["accuracy"]) == len(sim["t"]) and sim["agreement"][-1] == 1.0
    lines = [line for line in simulation_lines(result) if line.label == "accuracy"]
    assert len(lines) == 1
    first = f"{100 * result.simulation.accuracy[0]:.1f}%"
    assert lines[0].text.startswith(f"training accuracy: network {first} → 100.0%")
    assert "agree on 100.0% of the points at the end" in lines[0].text
    gd = run(problem, 2.0, sp=simulate_block(points=6), train=gd_block(0.05, 30))
    gd_doc = result_dict(gd)["simulation"]
    assert gd_doc["method"] == "gd" and len(gd_doc["accuracy"]) == len(gd_doc["step"])
    assert any(line.label == "accuracy" for line in simulation_lines(gd))
    pytest.importorskip("matplotlib")
    from ntkcheck.report.plot import plot_simulation

    for r, name in ((result, "flow.png"), (gd, "gd.png")):
        plot_simulation(r, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 10_000


def test_class_rule_one_output_nearest_target() -> None:
    """C = 1 with labels (±1 targets): the class whose target is nearest, the sign here."""
    labels = np.array([0, 1, 1, 0])
    rule = ClassRule(labels, np.where(labels == 1, 1.0, -1.0)[:, None])
    y = rule.targets[:, 0]
    out = np.array([-0.2, 0.3, -0.1, 0.5])
    np.testing.assert_array_equal(rule.predict(out - y), [0, 1, 0, 1])
    assert rule.accuracy(rule.predict(out - y)) == 0.5


# ------------------------------------------------------------------------------ sweeps


def test_sweep_rows_carry_outputs(linear_family: None) -> None:
    from ntkcheck.run.sweep import Outcome
    from ntkcheck.run.sweep.plan import Point

    X = sphere(6, 8)
    rows = []
    for C in (1, 3):
        result = run(make_problem(linear_model(8, C), X, np.ones((6, C))), 2.0)
        point = Point(
            index=C, values=(("data.outputs", C),), overrides=(), seed=0, gamma=2.0,
            spec_hash="x",
        )  # fmt: skip
        rows.append(sweep_row(Outcome(point, result), ("data.outputs",), flow=False))
    columns = sweep_columns(("data.outputs",), flow=False)
    assert columns[:4] == ("data.outputs", "seed", "outputs", "status")
    assert [r["outputs"] for r in rows] == [1, 3]
    assert x_axis(rows, ("data.outputs",)) == "data.outputs"
    table = render_text(rows, ("data.outputs",), [], [], lazy_tol=1e-3)
    header = table.splitlines()[0].split()
    assert header[:3] == ["data.outputs", "seed", "C"]
    single = render_text(rows[:1], ("data.outputs",), [], [], lazy_tol=1e-3)
    assert "C" not in single.splitlines()[0].split()


def test_problem_info_rows() -> None:
    info = ProblemInfo(6, 4, 8, "tanh", {}, "gaussian", False, False, "", 1.0, None, 3)
    assert (info.rows, info.to_dict()["rows"], info.to_dict()["outputs"]) == (18, 18, 3)
    one = ProblemInfo(6, 4, 8, "tanh", {}, "gaussian", False, False, "", 1.0)
    assert (one.outputs, one.rows) == (1, 6)
