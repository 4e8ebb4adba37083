"""Gradient descent with a learning rate (THEORY.md §13): the ``train:`` block, the GD
certificate in the JSON and the report, statuses and exit codes, sweeps."""

from __future__ import annotations

import json
import math

import pytest

from ntkcheck.cli import main
from ntkcheck.io.example import example_spec
from ntkcheck.io.loading import load_spec
from ntkcheck.io.spec_keys import spec_hash
from ntkcheck.run.job import certify_spec, load
from ntkcheck.theory.gd import loss_factor

from .conftest import SPECS

SMALL = {"data.n": 16, "data.d": 4, "model.width": 4096, "model.scaling": "ntk", "gamma": 1000.0}


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _gd(tmp_path, train: str, extra: str = "") -> str:
    path = tmp_path / "gd.yaml"
    path.write_text(
        "gamma: 1000.0\n"
        "data: {source: synthetic, n: 16, d: 4}\n"
        "model: {width: 4096, scaling: ntk, init: symmetric}\n"
        f"train: {train}\n{extra}"
    )
    return str(path)


def _json(capsys, *argv):
    code, out, err = _run(capsys, *argv, "-f", "json")
    return code, json.loads(out)["results"][0], err


# ------------------------------------------------------------------------- the spec


def test_flow_is_the_default_and_keeps_the_spec_hash():
    # the hashes of the built-in example and of specs/mlp.yaml before the train: block
    # existed (commit b464229): rows files of earlier sweeps still resume
    assert example_spec({}).spec.train.method == "flow"
    assert spec_hash(example_spec({}).spec) == "d9b8624448122beb"
    assert spec_hash(load_spec(SPECS / "mlp.yaml").spec) == "adb959b96128099b"
    gd = example_spec({"train.method": "gd", "train.lr": 1e-6, "train.steps": 10})
    assert spec_hash(gd.spec) != "d9b8624448122beb"


def test_flow_json_has_no_gd_certificate(capsys):
    code, doc, _ = _json(capsys, "certify")
    assert code == 0 and doc["certificate"]["theorem"] == "path" and "gd" not in doc["certificates"]


@pytest.mark.parametrize(
    ("train", "where", "words"),
    [
        ("{lr: 0.01}", "train.lr", "only used with `train.method: gd`"),
        ("{steps: 10}", "train.steps", "only used with `train.method: gd`"),
        ("{loss: mse}", "train.loss", "only used with `train.method: gd`"),
        ("{method: gd, steps: 10}", "train.lr", "required for method: gd"),
        ("{method: gd, lr: 0.01}", "train.steps", "required for method: gd"),
        ("{method: gd, lr: 0, steps: 10}", "train.lr", "greater than 0"),
        ("{method: gd, lr: -1.0, steps: 10}", "train.lr", "greater than 0"),
        ("{method: gd, lr: .nan, steps: 10}", "train.lr", "finite"),
        ("{method: gd, lr: .inf, steps: 10}", "train.lr", "finite"),
        ("{method: gd, lr: fast, steps: 10}", "train.lr", "number"),
        ("{method: gd, lr: 0.01, steps: 0}", "train.steps", "greater than or equal to 1"),
        ("{method: gd, lr: 0.01, steps: -5}", "train.steps", "greater than or equal to 1"),
        ("{method: gd, lr: 0.01, steps: 2.5}", "train.steps", "integer"),
        ("{method: gd, lr: 0.01, steps: 2000000000}", "train.steps", "less than or equal"),
        ("{method: gd, lr: 0.01, steps: 10, loss: mean}", "train.loss", "did you mean"),
        ("{method: sgd, lr: 0.01, steps: 10}", "train.method", "'flow' or 'gd'"),
    ],
)
def test_bad_train_block_is_one_line_exit_2(capsys, tmp_path, train, where, words):
    code, out, err = _run(capsys, "certify", _gd(tmp_path, train))
    assert code == 2 and out == ""
    line = err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in err
    assert f": {where}: " in line and words in line, line


def test_lr_flag_with_flow_names_the_flag(capsys):
    code, _, err = _run(capsys, "certify", "--lr", "0.01")
    assert code == 2 and "--lr: only used with `train.method: gd`" in err


def test_lr_and_steps_flags_override(capsys, tmp_path):
    spec = _gd(tmp_path, "{method: gd, lr: 1.0e-3, steps: 10}")
    code, doc, _ = _json(capsys, "certify", spec, "--lr", "2e-3", "--steps", "77")
    gd = doc["certificates"]["gd"]
    assert gd["lr"] == 2e-3 and gd["steps"] == 77
    code, _, err = _run(capsys, "certify", spec, "--steps", "0")
    assert code == 2 and "--steps:" in err


# ------------------------------------------------------------------- the certificate


@pytest.mark.parametrize("loss", ["half_sum", "sum", "mse", "half_mean"])
def test_eta_follows_the_loss_convention(capsys, tmp_path, loss):
    code, doc, _ = _json(
        capsys, "certify", _gd(tmp_path, f"{{method: gd, lr: 1.0e-4, steps: 5, loss: {loss}}}")
    )
    gd = doc["certificates"]["gd"]
    assert code in (0, 1)
    m = 16
    c = {"half_sum": 1.0, "sum": 2.0, "mse": 2.0 / m, "half_mean": 1.0 / m}[loss]
    assert gd["eta"] == pytest.approx(c * 1e-4, rel=1e-15)
    assert loss_factor(loss, m) == c
    smax = doc["estimate"]["sigma_max_upper"]
    assert gd["stability"] == pytest.approx(gd["eta"] * 1000.0**2 * smax**2, rel=1e-14)
    # lr_max is in the user's units: the step bound divided by c
    assert gd["lr_max"] * c == pytest.approx(json.loads(json.dumps(gd))["lr_max"] * c, rel=1e-15)


def test_certified_gd_decides_and_reports_the_flow_beside(capsys, tmp_path):
    spec = _gd(tmp_path, "{method: gd, lr: 5.0e-7, steps: 500, loss: mse}")
    code, doc, _ = _json(capsys, "certify", spec)
    gd = doc["certificates"]["gd"]
    assert code == 0 and doc["certificate"] == {**gd, "would_certify": None}
    assert gd["theorem"] == "gd"
    assert set(doc["certificates"]) == {"lecture", "path", "gd"}
    for key in (
        "gamma", "certified", "rigorous", "status", "radius_R", "radius_B", "gamma_interval",
        "message", "guarantees", "lr", "loss", "eta", "stability", "a", "alpha", "Sigma",
        "rate", "steps", "loss_bound", "lr_max", "deviation_bound",
    ):  # fmt: skip
        assert key in gd, key
    assert gd["status"] == "certified" and gd["rigorous"] is True
    assert gd["radius_R"] < gd["radius_B"]
    assert gd["rate"] == pytest.approx(1 - gd["a"] * gd["eta"] * 1000.0**2 * gd["alpha"] ** 2)
    assert gd["loss_bound"] == pytest.approx(doc["estimate"]["loss0"] * gd["rate"] ** 500)
    lo, hi = gd["gamma_interval"][0]
    assert lo < 1000.0 < hi < math.inf  # bounded above at a fixed lr (§13 remark iii)
    assert gd["lr"] < gd["lr_max"]
    # the step's constants: α = σ_min − h(ρ) ≤ σ_min, Σ ≥ σ_max, 0 < a < 2
    assert gd["alpha"] <= doc["estimate"]["sigma_min_lower"]
    assert gd["Sigma"] >= doc["estimate"]["sigma_max_upper"]
    assert 0 < gd["a"] < 2


def test_statuses_and_exit_codes(capsys, tmp_path):
    base = _gd(tmp_path, "{method: gd, lr: 5.0e-7, steps: 100, loss: mse}")
    _, doc, _ = _json(capsys, "certify", base)
    gd = doc["certificates"]["gd"]
    lo, hi = gd["gamma_interval"][0]
    cases = {
        "unstable": ["--lr", str(gd["lr_max"] * 1e4)],
        "too_small": ["--gamma", str(lo * 0.9)],
        "too_large": ["--gamma", str(hi * 1.0001)],
    }
    for reason, flags in cases.items():
        code, doc, _ = _json(capsys, "certify", base, *flags)
        cert = doc["certificate"]
        assert code == 1 and cert["theorem"] == "gd", reason
        if cert["stability"] >= 2:  # past the stability limit, that is the reason given
            reason = "unstable"
        assert cert["status"] == "not_certified" and cert["reason"] == reason, (reason, cert)
    code, out, _ = _run(capsys, "certify", base, "--lr", str(gd["lr_max"] * 1e4), "-f", "text")
    assert "NOT CERTIFIED   lr = " in out and "stability limit" in out


def test_lr_max_is_the_edge_of_certification():
    loaded = load(None, {**SMALL, "train.method": "gd", "train.lr": 1e-4, "train.steps": 10})
    lr_max = certify_spec(loaded).gd.lr_max
    for factor, certified in ((1 - 1e-6, True), (1 + 1e-6, False)):
        over = {**SMALL, "train.method": "gd", "train.lr": lr_max * factor, "train.steps": 10}
        assert certify_spec(load(None, over)).gd.certified is certified


def test_relu_and_mlp_certify_by_gd(capsys):
    relu = {**SMALL, "model.activation": "relu", "gamma": 1.0e6}
    loaded = load(None, {**relu, "train.method": "gd", "train.lr": 1e-15, "train.steps": 10})
    gd = certify_spec(loaded).gd
    assert gd.status.value in ("certified", "not_certified") and gd.lr_max > 0
    over = {**relu, "train.method": "gd", "train.lr": gd.lr_max * 0.5, "train.steps": 10}
    assert certify_spec(load(None, over)).gd.certified
    code, doc, _ = _json(
        capsys, "certify", str(SPECS / "mlp.yaml"), "--set", "train.method=gd",
        "--set", "train.lr=1e-9", "--set", "train.steps=10",
    )  # fmt: skip
    assert code in (0, 1) and doc["certificates"]["gd"]["lr_max"] > 0


def test_example_spec_is_certified(capsys):
    code, doc, _ = _json(capsys, "certify", str(SPECS / "gd.yaml"))
    assert code == 0 and doc["certificate"]["theorem"] == "gd"
    code, doc, _ = _json(capsys, "certify", str(SPECS / "gd.yaml"), "--lr", "0.05")
    assert code == 1 and doc["certificate"]["reason"] == "unstable"


# ------------------------------------------------------------------------- sweeps


def test_sweep_rows_carry_gd_and_fit_lr_max_against_gamma(capsys, tmp_path):
    spec = _gd(tmp_path, "{method: gd, lr: 1.0e-12, steps: 10}")
    code, out, _ = _run(
        capsys, "sweep", spec, "--grid", "gamma=[2000, 4000, 8000, 16000]", "--jobs", "1",
        "-f", "json", "--fit",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    rows = doc["rows"]
    assert all(r["gd.lr_max"] > 0 and r["gd.certified"] for r in rows)
    fit = next(f for f in doc["fits"] if f["quantity"] == "gd.lr_max" and f["axis"] == "gamma")
    assert fit["exponent"] == pytest.approx(-2.0, abs=0.1)  # THEORY.md §13: lr_max ∝ γ⁻²


# ------------------------------------------------------------------------ simulate


def test_simulate_runs_the_configured_gd(capsys, tmp_path):
    spec = str(SPECS / "gd.yaml")
    plot = tmp_path / "gd.png"
    code, out, _ = _run(
        capsys, "simulate", spec, "--steps", "300", "--points", "12", "-f", "json",
        "--plot", str(plot),
    )  # fmt: skip
    sim = json.loads(out)["results"][0]["simulation"]
    assert code == 0 and sim["method"] == "gd" and sim["status"] == "completed"
    assert sim["step"][0] == 0 and sim["step"][-1] == 300 and len(sim["step"]) == 12
    assert len(sim["loss"]) == len(sim["loss_lin"]) == len(sim["gap"]) == 12
    assert sim["steps"] == sim["steps_done"] == 300
    checks = {c["id"]: c for c in sim["checks"]}
    assert set(checks) == {"G1", "G2", "G3", "G5"}
    assert all(c["holds"] and c["theorem"] == "gd" for c in checks.values())
    assert plot.stat().st_size > 10_000


def test_simulate_reports_a_divergence(capsys):
    code, out, err = _run(
        capsys, "simulate", str(SPECS / "gd.yaml"), "--lr", "0.05", "--steps", "400",
        "-f", "json",
    )  # fmt: skip
    doc = json.loads(out)["results"][0]
    assert code == 1 and doc["certificate"]["reason"] == "unstable"
    assert doc["simulation"]["status"] == "diverged"
    assert doc["simulation"]["steps_done"] < 400 and "diverged at step" in err


def test_simulate_text_names_the_steps(capsys):
    code, out, _ = _run(capsys, "simulate", str(SPECS / "gd.yaml"), "--steps", "100", "-f", "text")
    assert code == 0
    assert "gradient descent, 100 of 100 steps" in out and "G5 holds" in out


def test_no_step_is_certified_at_the_flow_threshold():
    """At γ = γ*_p (h = βρ) the η → 0 limit is only just not certified: lr_max is 0, not a
    rounding residue (a hypothesis case: σ_min = 1, β = 1, ‖r0‖ = 3, γ = 12 = 4β‖r0‖/σ_min²)."""
    from ntkcheck.theory.certificate import Quantities
    from ntkcheck.theory.drift import LipschitzDrift
    from ntkcheck.theory.gd import certify_gd

    q = Quantities(1.0, 1.0, 4.5, 0.0, 0.0, 9.0, True, False)
    cert = certify_gd(12.0, 1e-3, "half_sum", 100, 10, q, LipschitzDrift(1.0), True)
    assert cert.lr_max == 0.0 and not cert.certified
    above = certify_gd(12.5, 1e-6, "half_sum", 100, 10, q, LipschitzDrift(1.0), True)
    assert above.lr_max > 0.0 and above.certified
