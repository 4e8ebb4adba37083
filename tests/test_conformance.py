"""Every model family passes the conformance suite (``ntkcheck.testing.check_model``)."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.models.activations import get_activation
from ntkcheck.models.mlp import MlpNetwork, Params, Structure
from ntkcheck.models.two_layer import TwoLayerNetwork, output_factor
from ntkcheck.testing import check_model


def _two_layer(activation: str, scaling: str, seed: int, n=6, d=3, N=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((N, d)) / np.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=N)
    net = TwoLayerNetwork(W, a, output_factor(scaling, N), get_activation(activation), scaling)
    return net, X


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sin", "softplus", "quadratic"])
@pytest.mark.parametrize("scaling", ["standard", "ntk"])
def test_two_layer_smooth_conforms(activation, scaling):
    net, X = _two_layer(activation, scaling, seed=len(activation))
    report = check_model(net, X)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_two_layer_relu_like_conforms(activation):
    net, X = _two_layer(activation, "standard", seed=3)
    check_model(net, X, smooth=False)


def _mlp(activation, parametrization, seed, *, bias=True, train_output=True, widths=(7, 5)):
    rng = np.random.default_rng(seed)
    sizes = (3, *widths, 1)
    std = [1.0 if parametrization == "ntk" else 1.0 / np.sqrt(m) for m in sizes[:-1]]
    W = tuple(std[k] * rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1))
    b = tuple(0.1 * rng.standard_normal(m) for m in sizes[1:]) if bias else None
    st = Structure(sizes, get_activation(activation), parametrization, 0.8, bias, train_output)
    return MlpNetwork(st, Params(W, b)), rng.standard_normal((6, 3))


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sin", "softplus", "quadratic"])
@pytest.mark.parametrize("parametrization", ["standard", "ntk"])
@pytest.mark.parametrize("bias,train_output", [(True, True), (False, False)])
def test_mlp_smooth_conforms(activation, parametrization, bias, train_output):
    net, X = _mlp(
        activation, parametrization, len(activation), bias=bias, train_output=train_output
    )
    report = check_model(net, X)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
@pytest.mark.parametrize("widths", [(9,), (7, 5)])
def test_mlp_relu_like_conforms(activation, widths):
    """One hidden layer, no bias, frozen output: the flip bound; deeper: no drift bound."""
    shallow = len(widths) == 1
    net, X = _mlp(
        activation, "standard", 3, bias=not shallow, train_output=not shallow, widths=widths
    )
    check_model(net, X, smooth=False)
    assert net.drift(X).kind == ("flip_count" if shallow else "none")


def test_check_model_catches_a_wrong_gram():
    """The suite can fail: a family whose gram() is off by 1e-4 is rejected."""
    net, X = _two_layer("tanh", "standard", seed=0)

    class Broken(TwoLayerNetwork):
        def gram(self, X):
            return super().gram(X) * (1 + 1e-4)

    broken = Broken(net.W, net.a, net.s, net.activation, net.scaling)
    with pytest.raises(AssertionError, match="gram"):
        check_model(broken, X)


def test_check_model_catches_a_drift_bound_that_is_too_small():
    net, X = _two_layer("tanh", "standard", seed=1)

    class Overconfident(TwoLayerNetwork):
        def drift(self, X):
            from ntkcheck.theory.drift import LipschitzDrift

            return LipschitzDrift(0.01 * super().beta(X).beta)

    bad = Overconfident(net.W, net.a, net.s, net.activation, net.scaling)
    with pytest.raises(AssertionError, match="drift bound exceeded"):
        check_model(bad, X)


def test_problem_and_model_pickle_for_worker_processes():
    """Problems (with their model and activation) pickle: sweeps send them to workers."""
    import pickle

    from ntkcheck import build_problem, example_spec

    p = build_problem(example_spec({"data.n": 16, "model.width": 64}))
    q = pickle.loads(pickle.dumps(p))
    assert np.array_equal(q.model.forward(q.X), p.model.forward(p.X))
    assert q.model.info() == p.model.info()


@pytest.mark.parametrize("family", ["two_layer", "mlp"])
def test_families_conform_on_scipys_dense_path(monkeypatch, family):
    """The dense kernels beyond NumPy's order limit (SciPy's, in place) are forced here on
    a small case: the same conformance checks pass, the memory plan included."""
    from ntkcheck.linalg import dense

    monkeypatch.setattr(dense, "NUMPY_MAX_N", 0)
    net, X = _two_layer("tanh", "ntk", seed=5) if family == "two_layer" else _mlp("gelu", "ntk", 5)
    report = check_model(net, X)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0


def _registered() -> list[str]:
    from ntkcheck.models.registry import FAMILIES

    return list(FAMILIES)


@pytest.mark.parametrize("name", _registered())
def test_every_registered_family_conforms_built_from_its_spec_block(name):
    """Each registered family, built through the registry from its own small block
    (``FamilySpec.conformance``) as a spec would build it; smooth unless relu-like."""
    from ntkcheck.models.registry import family, family_spec

    fam = family_spec(name)
    assert fam.conformance, f"{name}: FamilySpec.conformance names no block to check"
    block = fam.block.model_validate({"architecture": name, **fam.conformance})
    model = family(name).build(block, 3, np.random.default_rng(7), None)
    X = np.random.default_rng(8).standard_normal((5, 3))
    report = check_model(model, X, smooth=fam.nonsmooth(block) is None)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0
