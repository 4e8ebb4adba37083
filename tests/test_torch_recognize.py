"""Recognised modules become rigorous (issue 20, item 2): an nn.Sequential of nn.Linear
layers and one activation is certified as the mlp family with its weights — σ_min, σ_max,
L0 and the certificate equal the mlp family's on the same weights (``init: file``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ntkcheck.io.build import build_problem  # noqa: E402
from ntkcheck.io.code import allowing_code  # noqa: E402
from ntkcheck.io.loading import parse_spec  # noqa: E402
from ntkcheck.report.document import result_dict  # noqa: E402
from ntkcheck.run.job import certify_spec  # noqa: E402

NETS = """
import torch

def make(d=4, width=24, activation="tanh", bias=True, freeze_output=False):
    act = {"tanh": torch.nn.Tanh, "gelu": torch.nn.GELU}[activation]
    net = torch.nn.Sequential(torch.nn.Linear(d, width, bias=bias), act(),
                              torch.nn.Linear(width, width, bias=bias), act(),
                              torch.nn.Linear(width, 1, bias=bias))
    if freeze_output:
        net[-1].requires_grad_(False)
    return net
"""
TORCH = """\
seed: 4
gamma: 3000.0
data: {source: file, path: data.npz}
model: {architecture: torch, factory: nets.py:make, kwargs: KWARGS, centered: true}
"""
MLP = """\
seed: 4
gamma: 3000.0
data: {source: file, path: data.npz}
model: {architecture: mlp, widths: [24, 24], activation: ACT, parametrization: standard,
        bias: BIAS, train_output: TRAIN, init: file, init_path: w.npz, centered: true}
"""


@pytest.mark.parametrize(
    ("activation", "bias", "freeze"), [("tanh", True, False), ("gelu", False, True)]
)
def test_sequential_is_certified_as_the_mlp_family(tmp_path: Path, activation, bias, freeze):
    (tmp_path / "nets.py").write_text(NETS, encoding="utf-8")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 4))
    np.savez(tmp_path / "data.npz", X=X, y=np.tanh(X[:, 0]))
    kwargs = f"{{activation: {activation}, bias: {str(bias).lower()}, freeze_output: {str(freeze).lower()}}}"
    spec = parse_spec(TORCH.replace("KWARGS", kwargs), source="t.yaml", base_dir=tmp_path)
    with allowing_code():
        problem = build_problem(spec)
        ours = certify_spec(spec)
    net = problem.model
    assert net.info().family == "mlp" and "recognised as mlp" in net.info().head
    # the same weights (the factory called with the build's seed), given to mlp as a file
    from ntkcheck.models.torch_module.loader import call_factory, find_function, import_file

    fn = find_function(import_file(tmp_path / "nets.py", "t"), "make", tmp_path / "nets.py", "t")
    seed = int(np.random.default_rng(np.random.SeedSequence(4).spawn(2)[1]).integers(2**62))
    m = call_factory(
        fn, {"activation": activation, "bias": bias, "freeze_output": freeze}, seed, "t"
    )
    m = m.double()
    lin = [c for c in m.children() if isinstance(c, torch.nn.Linear)]
    arrays = {f"W{k + 1}": layer.weight.detach().numpy() for k, layer in enumerate(lin)}
    if bias:
        arrays.update({f"b{k + 1}": layer.bias.detach().numpy() for k, layer in enumerate(lin)})
    np.savez(tmp_path / "w.npz", **arrays)
    text = MLP.replace("ACT", activation).replace("BIAS", str(bias).lower())
    text = text.replace("TRAIN", str(not freeze).lower())
    theirs = certify_spec(parse_spec(text, source="m.yaml", base_dir=tmp_path))
    a, b = ours.estimate, theirs.estimate
    for key in ("sigma_min", "sigma_max", "sigma_min_lower", "sigma_max_upper", "loss0", "beta"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-10), key
    da, db = result_dict(ours)["certificates"]["path"], result_dict(theirs)["certificates"]["path"]
    assert da["rigorous"] is True and da["status"] == db["status"]
    assert da["gamma_star"] == pytest.approx(db["gamma_star"], rel=1e-10)
    assert result_dict(ours)["estimate"]["beta_method"] == "analytic"


def test_not_recognised_stays_an_estimate(tmp_path: Path) -> None:
    """Mixed activations: a torch model (no conversion), rigorous: false."""
    from ntkcheck.models.torch_module import from_module

    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 5),
                                 torch.nn.GELU(), torch.nn.Linear(5, 1)).double()  # fmt: skip
    assert from_module(module, d=3).info().family == "torch"
    same = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    assert from_module(same.double(), d=3).info().family == "mlp"
