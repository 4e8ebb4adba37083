"""The CLI as a contract: exit codes, JSON key paths, formats, init, the specs/ folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ntkcheck import EXAMPLE_YAML, __version__
from ntkcheck.cli import main

from .conftest import SPECS

EXPECTED = {
    "lecture-example.yaml": ("certified", 0),
    "small-gamma.yaml": ("not_certified", 1),
    "relu.yaml": ("certified", 0),
    "rank-deficient.yaml": ("not_applicable", 1),
    "diabetes.yaml": ("certified", 0),
    "gaussian-interval.yaml": ("certified", 0),
    "from-file.yaml": ("certified", 0),
    "mlp.yaml": ("certified", 0),
    "gd.yaml": ("certified", 0),
    "digits.yaml": ("certified", 0),  # 10 outputs, scikit-learn's digits (THEORY.md §14)
    "torch-cnn.yaml": ("certified", 0),  # an estimate; runs the factory: --allow-code
    "torch-mlp.yaml": ("certified", 0),  # nn.Sequential recognised as mlp: rigorous
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_specs_folder_verdicts(capsys, name):
    status, code = EXPECTED[name]
    flags = []
    if name.startswith("torch-"):
        pytest.importorskip("torch")
        flags = ["--allow-code"]
    assert main(["certify", str(SPECS / name), "--format", "json", *flags]) == code
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["certificate"]["status"] == status


def test_every_spec_in_folder_is_covered():
    assert {p.name for p in SPECS.glob("*.yaml")} == set(EXPECTED)


def test_gaussian_init_shows_bounded_interval(capsys):
    main(["certify", str(SPECS / "gaussian-interval.yaml"), "--format", "json"])
    r = json.loads(capsys.readouterr().out)["results"][0]
    cert = r["certificates"]["lecture"]
    ((lo, hi),) = cert["gamma_interval"]
    assert 0 < lo < cert["gamma"] < hi < 1e3
    # the path theorem's set is unbounded here (c_p = c_lec·(2κ+1), THEORY.md §9)
    ((lo_p, hi_p),) = r["certificates"]["path"]["gamma_interval"]
    assert lo_p < lo and hi_p is None
    # just above the interval the lecture's certificate fails
    spec = str(SPECS / "gaussian-interval.yaml")
    assert main(["certify", spec, "--theorem", "lecture", "--gamma", str(1.01 * hi)]) == 1
    assert main(["certify", spec, "--gamma", str(1.01 * hi)]) == 0
    # the spec's comment says what the default theorem does (it said "not certified")
    lines = (SPECS / "gaussian-interval.yaml").read_text().splitlines()
    words = " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))
    assert f"γ ∈ ({lo_p:.3f}, ∞)" in words and f"≈ ({lo:.2f}, {hi:.2f})" in words
    assert "not certified" not in words


def test_json_key_paths_follow_design(capsys):
    assert main(["certify", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "built-in lecture example" in captured.err
    doc = json.loads(captured.out)
    assert doc["ntkcheck_version"] == __version__ and doc["schema_version"] == 2
    (r,) = doc["results"]
    assert {"spec", "name", "problem", "estimate", "certificate", "timing"} <= set(r)
    assert {"n", "d", "width", "params", "activation", "scaling", "init", "centered"} <= set(
        r["problem"]
    )
    assert {
        "sigma_min",
        "sigma_max",
        "loss0",
        "f0_norm",
        "beta",
        "beta_method",
        "beta_bounds",
        "spectrum_method",
    } <= set(r["estimate"])
    assert set(r["estimate"]["beta_bounds"]) == {"frobenius", "operator", "lecture"}
    assert {
        "gamma",
        "gamma_star",
        "margin",
        "certified",
        "rigorous",
        "status",
        "gamma_interval",
        "radius_R",
        "radius_B",
        "message",
        "theorem",
    } <= set(r["certificate"])
    assert set(r["certificates"]) == {"lecture", "path"}
    # the same keys for both theorems; the deciding one adds what would certify
    assert r["certificate"]["would_certify"] is None  # certified
    for cert in r["certificates"].values():
        assert set(cert) | {"would_certify"} == set(r["certificate"])
    assert r["certificate"] == {**r["certificates"]["path"], "would_certify": None}
    assert {"sigma_min_lower", "sigma_max_upper", "sigma_bounds", "drift_bound"} <= set(
        r["estimate"]
    )
    assert r["estimate"]["beta_method"] == "analytic" and r["certificate"]["rigorous"] is True
    assert r["estimate"]["spectrum_method"] == "dense"
    assert r["problem"]["params"] == r["problem"]["width"] * r["problem"]["d"]
    assert r["certificate"]["gamma_interval"][0][1] is None  # ∞ is null


def test_relu_is_certified_through_activation_flips(capsys):
    assert main(["certify", str(SPECS / "relu.yaml"), "-f", "json"]) == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["estimate"]["beta"] is None  # β = ∞ is null
    assert r["estimate"]["drift_bound"] == "flip_count"
    assert r["certificate"]["certified"] and r["certificate"]["rigorous"]
    assert 0 < r["certificate"]["radius_B"] < 1  # ρ* from the flip bound


def test_not_applicable_json_writes_infinity_as_null_with_reason(capsys):
    assert main(["certify", str(SPECS / "rank-deficient.yaml"), "-f", "json"]) == 1
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["certificate"]["gamma_star"] is None and r["certificate"]["gamma_interval"] == []
    assert "(H2) fails" in r["certificate"]["message"]


def test_overrides_gamma_and_seed(capsys):
    assert main(["certify", "--gamma", "0.2", "-f", "json"]) == 1
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["certificate"]["gamma"] == 0.2
    main(["certify", "--seed", "1", "-f", "json"])
    r1 = json.loads(capsys.readouterr().out)["results"][0]
    assert r1["estimate"]["sigma_min"] != r["estimate"]["sigma_min"]


def test_several_specs_exit_with_the_worst_code(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("gamma: -1\n")
    args = ["certify", str(SPECS / "lecture-example.yaml"), str(SPECS / "rank-deficient.yaml")]
    assert main([*args, "-f", "text"]) == 1
    assert (
        "2 specs: 1 certified, 0 not certified, 1 not applicable, 0 errors"
        in capsys.readouterr().out
    )
    assert main([*args, str(bad), "-f", "json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert [("error" in r) for r in doc["results"]] == [False, False, True]
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "markdown", "rich"])
def test_human_formats_state_the_verdict_and_guarantees(capsys, fmt):
    assert main(["certify", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "CERTIFIED" in out and "γ*" in out
    for cid in ("C1", "C2", "C3", "C4", "C5"):
        assert cid in out
    if fmt == "markdown":
        assert "|---|---|" in out


def test_output_file(tmp_path, capsys):
    target = tmp_path / "report.json"
    assert main(["certify", "-f", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text())["results"][0]["certificate"]["certified"] is True


def test_init_writes_the_example_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    assert main(["init", str(path)]) == 0
    written, example = path.read_text().splitlines(), EXAMPLE_YAML.splitlines()
    assert [w for w in written if not w.startswith("name:")] == [
        e for e in example if not e.startswith("name:")
    ]
    assert any(w.startswith("name: spec  ") for w in written)
    assert main(["init", str(path)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0
    assert main(["certify", str(path), "-f", "json"]) == 0


@pytest.mark.parametrize(
    "stem", ["my-run", "My Run", "true", "2024", "null", "a: b", "x" * 201, "ünïcode"]
)
def test_init_names_the_spec_after_its_file(tmp_path, capsys, stem):
    """Every spec `init` writes was named lecture-example; now its name is its file's stem
    (quoted where YAML would read it as something else; none beyond the schema's 200)."""
    path = tmp_path / f"{stem}.yaml"
    assert main(["init", str(path)]) == 0
    assert main(["certify", str(path), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["name"] == stem
    assert "lecture-example" not in path.read_text()


def test_init_to_stdout_leaves_the_name_to_the_file(capsys):
    assert main(["init", "-"]) == 0
    text = capsys.readouterr().out
    assert "\nname:" not in text and "# name: my-problem" in text


def test_version_and_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "ntkcheck", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"ntkcheck {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "ntkcheck", "certify", "-f", "text"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "CERTIFIED" in proc.stdout


@pytest.mark.parametrize(
    "key,value,allowed",
    [
        ("simulate.method", "rk4", "'auto', 'expint' or 'dop853'"),
        ("certify.theorem", "best", "'lecture' or 'path'"),
        ("certify.beta", "x", "'analytic' or 'local'"),
    ],
)
def test_choice_errors_name_the_plain_values(capsys, key, value, allowed):
    assert main(["certify", "--set", f"{key}={value}", "-f", "text"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if "no SPEC" not in ln]
    assert len(err) == 1 and f"must be {allowed}; got '{value}'" in err[0]
