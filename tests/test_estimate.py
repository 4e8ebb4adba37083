"""Estimate end to end from files, against an independent dense computation; (H2) causes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ntkcheck import build_problem, certify_spec, load_spec
from ntkcheck.cli import main
from ntkcheck.errors import EstimationError
from ntkcheck.report.words import full_rank_reason
from ntkcheck.run.measure import measure

from .conftest import COMPLEX_SIGMA, reference_forward, reference_jacobian


def _write_case(tmp_path, *, n=9, d=3, N=8, activation="tanh", scaling="ntk", gamma=30.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    W = rng.standard_normal((N, d))
    a = rng.choice([-1.0, 1.0], size=N)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "w0.npz", W=W, a=a)
    spec = tmp_path / "case.yaml"
    spec.write_text(
        f"gamma: {gamma}\n"
        "data: {source: file, path: train.npz}\n"
        f"model: {{activation: {activation}, scaling: {scaling}, init: file, init_path: w0.npz}}\n"
    )
    return spec, X, y, W, a


@pytest.mark.parametrize("activation", ["tanh", "gelu", "softplus", "sin"])
@pytest.mark.parametrize("scaling", ["standard", "ntk", "mean_field"])
def test_json_numbers_match_independent_dense_computation(tmp_path, capsys, activation, scaling):
    spec, X, y, W, a = _write_case(tmp_path, activation=activation, scaling=scaling)
    code = main(["certify", str(spec), "--format", "json"])
    out = json.loads(capsys.readouterr().out)["results"][0]
    N = W.shape[0]
    s = {"standard": 1.0, "ntk": 1 / math.sqrt(N), "mean_field": 1 / N}[scaling]
    J = reference_jacobian(X, W, a, s, activation)
    sv = np.linalg.svd(J, compute_uv=False)
    f0 = reference_forward(X, W, a, s, COMPLEX_SIGMA[activation]).real
    gamma = 30.0
    L0 = 0.5 * np.sum((gamma * f0 - y) ** 2)
    est = out["estimate"]
    assert est["sigma_max"] == pytest.approx(sv[0], rel=1e-10)
    assert est["sigma_min"] == pytest.approx(sv[-1], rel=1e-8)
    assert est["loss0"] == pytest.approx(L0, rel=1e-12)
    assert est["f0_norm"] == pytest.approx(np.linalg.norm(f0), rel=1e-12)
    L = {
        "tanh": 4 / (3 * math.sqrt(3)),
        "gelu": 2 / math.sqrt(2 * math.pi),
        "softplus": 0.25,
        "sin": 1.0,
    }[activation]
    rows = np.linalg.norm(X, axis=1)
    bounds = est["beta_bounds"]
    assert bounds["frobenius"] == pytest.approx(L * s * math.sqrt(np.sum(rows**4)), rel=1e-12)
    assert bounds["operator"] == pytest.approx(L * s * rows.max() * np.linalg.norm(X, 2), rel=1e-12)
    assert bounds["lecture"] == pytest.approx(L * s * np.sum(rows**2), rel=1e-12)
    beta = min(bounds["frobenius"], bounds["operator"])
    assert est["beta"] == pytest.approx(beta, rel=1e-15)
    # THEORY.md §11: the σ's a rigorous certificate uses bracket the true ones, tightly
    assert est["sigma_min_lower"] <= sv[-1] and est["sigma_min_lower"] >= sv[-1] * (1 - 1e-6)
    assert est["sigma_max_upper"] >= sv[0] and est["sigma_max_upper"] <= sv[0] * (1 + 1e-6)
    assert est["sigma_bounds"]["rigorous"] is True and est["drift_bound"] == "lipschitz"
    g_star = 4 * math.sqrt(2) * beta * (2 * sv[0] + sv[-1]) * math.sqrt(L0) / sv[-1] ** 3
    g_path = 4 * math.sqrt(2) * beta * math.sqrt(L0) / sv[-1] ** 2  # §9
    lecture, path = out["certificates"]["lecture"], out["certificates"]["path"]
    assert lecture["gamma_star"] == pytest.approx(g_star, rel=1e-8)
    assert path["gamma_star"] == pytest.approx(g_path, rel=1e-8)
    assert lecture["gamma_star"] / path["gamma_star"] == pytest.approx(
        2 * sv[0] / sv[-1] + 1, rel=1e-8
    )
    assert lecture["certified"] == (gamma > g_star) and path["certified"] == (gamma > g_path)
    deciding = {k: v for k, v in out["certificate"].items() if k != "would_certify"}
    assert deciding == path and out["certificate"]["theorem"] == "path"  # the default
    assert code == (0 if gamma > g_path else 1)


def test_centered_model_uses_half_norm_of_y(tmp_path):
    spec, _, y, _, _ = _write_case(tmp_path)
    text = spec.read_text().replace("init_path: w0.npz", "init_path: w0.npz, centered: true")
    spec.write_text(text)
    r = certify_spec(load_spec(spec))
    assert r.estimate.loss0 == pytest.approx(0.5 * y @ y, rel=1e-14)
    assert r.estimate.f0_norm == 0.0


def test_symmetric_init_output_vanishes(spec_file):
    p = build_problem(load_spec(spec_file("gamma: 1\ndata: {n: 20, d: 5}\nmodel: {width: 300}\n")))
    assert p.f0_zero and not p.f0.any()
    computed = p.model.forward(p.X)  # the pairs cancel up to rounding
    assert np.max(np.abs(computed)) <= 1e-12 * np.sqrt(p.model.width)


def _h2(spec_file, text):
    r = certify_spec(load_spec(spec_file(text)))
    assert r.certificate.status.value == "not_applicable"
    assert not r.estimate.full_rank.holds
    return full_rank_reason(r.estimate.full_rank, r.estimate.measurement.family)


def test_h2_fails_when_fewer_parameters_than_points(spec_file):
    reason = _h2(spec_file, "gamma: 1\ndata: {n: 40, d: 2}\nmodel: {width: 10}\n")
    assert "P = 20 parameters < n = 40" in reason


def test_h2_fails_on_repeated_inputs(tmp_path):
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.savez(tmp_path / "t.npz", X=X, y=np.arange(4.0))
    (tmp_path / "s.yaml").write_text(
        "gamma: 1\ndata: {source: file, path: t.npz}\nmodel: {width: 50}\n"
    )
    r = certify_spec(load_spec(tmp_path / "s.yaml"))
    assert "inputs 0 and 2 are identical" in full_rank_reason(r.estimate.full_rank, "two_layer")


def test_h2_fails_on_zero_input(tmp_path):
    X = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    np.savez(tmp_path / "t.npz", X=X, y=np.arange(3.0))
    (tmp_path / "s.yaml").write_text(
        "gamma: 1\ndata: {source: file, path: t.npz}\nmodel: {width: 50}\n"
    )
    r = certify_spec(load_spec(tmp_path / "s.yaml"))
    assert "input 1 is zero" in full_rank_reason(r.estimate.full_rank, "two_layer")


def test_h2_fails_below_numerical_precision(spec_file):
    """identity: K = s²N XXᵀ has rank d < n although P ≥ n and inputs are distinct."""
    reason = _h2(
        spec_file, "gamma: 1\ndata: {n: 10, d: 3}\nmodel: {width: 20, activation: identity}\n"
    )
    assert "below numerical precision" in reason


def test_memory_plan_refuses_before_allocating(spec_file, monkeypatch):
    big = load_spec(spec_file("gamma: 1\ndata: {n: 400000, d: 20}\nmodel: {width: 2}\n"))
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "64M")
    with pytest.raises(
        EstimationError, match=r"n = 400,000, d = 20, N = 2 needs about \d+\.\d MiB"
    ):
        build_problem(big)  # refused before the data is generated
    loaded = load_spec(spec_file("gamma: 1\ndata: {n: 4000, d: 2}\nmodel: {width: 2}\n", "s2.yaml"))
    problem = build_problem(loaded)  # K0 (122 MiB) does not fit, the matrix-free plan does
    with pytest.raises(
        EstimationError, match=r"K0 \(4,000 × 4,000\) needs .* use --spectrum iterative"
    ):
        measure(problem, spectrum_method="dense")
    est = measure(problem)  # auto: falls back to the matrix-free spectrum
    assert est.spectrum.method == "iterative" and est.spectrum.operator == "matrix-free"
