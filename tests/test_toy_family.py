"""docs/DESIGN.md's "Adding a family" is true: a third family that is one folder
(``tests/toy_family/linear/``) plus one registry line validates, certifies, simulates,
sweeps and passes the conformance suite, with nothing else of ntkcheck edited.

The folder is copied into a temporary directory that is put on ``ntkcheck.models``'
package path (so it is ``ntkcheck.models.linear``, a folder under models/ as far as
Python is concerned), and ``registry.FAMILIES`` gets its line — in a subprocess, so
that the ``model:`` union is built with it from the start.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOY = Path(__file__).parent / "toy_family" / "linear"

PRELUDE = """
import sys
import ntkcheck.models
from ntkcheck.models import registry
ntkcheck.models.__path__.append({folder!r})
registry.FAMILIES["linear"] = "linear"  # the one registry line
"""

SPEC = """\
gamma: 2.0
data: {n: 12, d: 16}
model: {architecture: linear, scale: 1.5}
simulate: {points: 5}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("families")
    shutil.copytree(TOY, root / "linear")
    (root / "spec.yaml").write_text(SPEC, encoding="utf-8")
    (root / "bad.yaml").write_text(
        SPEC.replace("scale: 1.5", "init: zeros, init_std: 0.1"), encoding="utf-8"
    )
    return root


def _python(folder: Path, body: str) -> subprocess.CompletedProcess[str]:
    code = PRELUDE.format(folder=str(folder)) + body
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=folder, check=False
    )


def _cli(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return _python(folder, f"from ntkcheck.cli.app import main\nsys.exit(main({list(argv)!r}))\n")


def test_validate_and_the_familys_own_rule(folder: Path) -> None:
    ok = _cli(folder, "validate", "spec.yaml")
    assert ok.returncode == 0, ok.stderr
    bad = _cli(folder, "validate", "bad.yaml")
    assert bad.returncode == 2
    assert "bad.yaml:3: model.init_std: not used with init: zeros; remove it" in bad.stderr
    typo = _cli(folder, "validate", "--set", "model.scael=2", "spec.yaml")
    assert "did you mean 'scale'?" in typo.stderr, typo.stderr


def test_schema_names_the_family(folder: Path) -> None:
    out = _cli(folder, "schema")
    schema = json.loads(out.stdout)
    assert "LinearSpec" in schema["$defs"]
    refs = json.dumps(schema["properties"]["model"])
    assert "#/$defs/LinearSpec" in refs and "#/$defs/ModelSpec" in refs


def test_certify(folder: Path) -> None:
    out = _cli(folder, "certify", "-f", "json", "spec.yaml")
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    result = doc["results"][0] if "results" in doc else doc
    assert result["problem"]["scale"] == 1.5 and result["problem"]["params"] == 16
    assert result["estimate"]["full_rank"] is True
    # β = 0 and a Gram error that is only estimated: certified, labelled an estimate
    assert result["certificate"]["status"] == "certified"
    assert result["certificate"]["rigorous"] is False


def test_simulate(folder: Path) -> None:
    out = _cli(folder, "simulate", "-f", "json", "spec.yaml")
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    result = doc["results"][0] if "results" in doc else doc
    assert result["simulation"]["checks"], result["simulation"]


def test_sweep(folder: Path) -> None:
    out = _cli(
        folder, "sweep", "spec.yaml", "--grid", "model.scale=[0.5, 2.0]", "-j", "1", "-f", "json"
    )
    assert out.returncode in (0, 1), out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert [r["model.scale"] for r in rows] == [0.5, 2.0]
    assert all(r["status"] == "certified" for r in rows), rows


def test_conformance(folder: Path) -> None:
    out = _python(
        folder,
        "import numpy as np\n"
        "from ntkcheck.models.registry import family, family_spec\n"
        "from ntkcheck.testing import check_model\n"
        "block = family_spec('linear').block.model_validate(family_spec('linear').conformance)\n"
        "model = family('linear').build(block, 5, np.random.default_rng(0), None)\n"
        "X = np.random.default_rng(1).standard_normal((4, 5))\n"
        # smooth=False: with J constant, the finite-difference reference for drift_gram
        # is rounding noise only, which a relative comparison cannot pass
        "print(check_model(model, X, smooth=False))\n",
    )
    assert out.returncode == 0, out.stderr


def test_several_outputs(folder: Path) -> None:
    """Issue 19 end to end on the toy family: ``data.outputs: 3`` with class targets builds
    f_c(x) = s⟨w_c, x⟩ (its ``build(..., outputs)``); J is constant, so the network is its
    linearization: every check holds, the accuracies are equal and agree everywhere."""
    spec = SPEC.replace("data: {n: 12, d: 16}", "data: {n: 12, d: 16, outputs: 3, target: classes}")
    (folder / "multi.yaml").write_text(spec, encoding="utf-8")
    out = _cli(folder, "simulate", "-f", "json", "multi.yaml")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    result = doc["results"][0] if "results" in doc else doc
    problem = result["problem"]
    assert (problem["n"], problem["outputs"], problem["rows"], problem["params"]) == (12, 3, 36, 48)
    sim = result["simulation"]
    assert all(c["holds"] is not False for c in sim["checks"] if c["applicable"])
    assert sim["accuracy"] == sim["accuracy_linear"] and set(sim["agreement"]) == {1.0}
    assert sim["accuracy"][-1] == 1.0
