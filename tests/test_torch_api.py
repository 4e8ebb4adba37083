"""The Python API for notebooks (issue 20, item 3): ``ntkcheck.certify(module, X, y, …)``
and ``ntkcheck.simulate`` on an ``nn.Module`` or a spec; ``to_dict()`` is the JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ntkcheck  # noqa: E402
from ntkcheck.errors import SpecError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(72, 1)
    )


def test_certify_a_module_on_arrays() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 1, 8, 8)), np.sign(rng.standard_normal(8))
    net = _cnn()
    before = [p.detach().clone() for p in net.parameters()]
    result = ntkcheck.certify(net, X, y, gamma=1e6, centered=True)
    doc = result.to_dict()
    json.dumps(doc, allow_nan=False, default=str)
    assert doc["estimate"]["beta_method"] == "local"
    assert doc["certificates"]["path"]["rigorous"] is False
    assert doc["problem"]["dtype"] == "float64" and doc["problem"]["params"] == 2 * 10 + 73
    assert result.estimate.loss0 == pytest.approx(0.5 * float(y @ y))
    assert math.isfinite(result.estimate.sigma_min) and result.estimate.sigma_min > 0
    # the caller's module is untouched (a copy is put in float64 and eval mode)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert next(net.parameters()).dtype == torch.float32 and net.training


def test_certify_gd_and_simulate_a_module() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 30), torch.nn.Tanh(), torch.nn.Linear(30, 1))
    gd = ntkcheck.certify(net, X, y, gamma=300.0, lr=1e-6, steps=50, recognize=False)
    assert gd.gd is not None and gd.to_dict()["certificates"]["gd"]["lr"] == 1e-6
    sim = ntkcheck.simulate(net, X, y, gamma=300.0, recognize=False, centered=True)
    assert sim.simulation is not None and sim.simulation.status == "completed"
    rec = ntkcheck.certify(net, X, y, gamma=300.0)  # recognised: the mlp family's, rigorous
    assert rec.to_dict()["estimate"]["beta_method"] == "analytic"


def test_a_spec_runs_its_factory_only_when_allowed() -> None:
    spec = ROOT / "specs" / "torch-cnn.yaml"
    with pytest.raises(SpecError, match="--allow-code"):
        ntkcheck.certify(spec)
    assert "NTKCHECK_ALLOW_CODE" not in __import__("os").environ
