"""``io.build``: a validated spec → ``Problem``: one seed, independent streams for data
and weights, f0 exact zeros where the initialization makes it so, the memory plan
checked first, the init file read through the family's ``SpecContext``."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError, SpecError
from ntkcheck.io.build import build_problem
from ntkcheck.io.example import example_spec
from ntkcheck.io.loading import load_spec

SMALL = {"data.n": 10, "data.d": 3, "model.width": 16}


def test_the_problem_carries_the_spec_data_and_model():
    loaded = example_spec({**SMALL, "model.init": "gaussian"})
    p = build_problem(loaded)
    assert (p.name, p.source, p.init, p.centered) == ("lecture-example", loaded.source,
                                                      "gaussian", False)  # fmt: skip
    assert p.X.shape == (10, 3) and p.y.shape == (10,) and p.n == 10 and p.d == 3
    assert p.model.n_params == 16 * 3
    assert not p.f0_zero
    np.testing.assert_array_equal(p.f0, p.model.forward(p.X))


def test_symmetric_init_stores_exact_zeros():
    p = build_problem(example_spec(SMALL))
    assert p.f0_zero and not np.any(p.f0)
    assert np.max(np.abs(p.model.forward(p.X))) < 1e-12  # pairs cancel up to rounding


def test_one_seed_data_and_weights_from_independent_streams():
    a = build_problem(example_spec(SMALL))
    wider = build_problem(example_spec({**SMALL, "model.width": 32}))
    np.testing.assert_array_equal(a.X, wider.X)  # the model does not change the data
    np.testing.assert_array_equal(a.y, wider.y)
    again = build_problem(example_spec(SMALL))
    np.testing.assert_array_equal(a.model.theta0, again.model.theta0)
    other = build_problem(example_spec({**SMALL, "seed": 1}))
    assert not np.array_equal(a.X, other.X)
    assert not np.array_equal(a.model.theta0, other.model.theta0)


def test_the_memory_plan_refuses_before_allocating(monkeypatch):
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "1MB")
    with pytest.raises(NtkcheckError, match=r"reduce data\.n or model\.width"):
        build_problem(example_spec({"data.n": 4096, "data.d": 4096, "model.width": 64}))


def test_the_init_file_is_read_through_the_context(spec_file, tmp_path):
    W = np.arange(8.0).reshape(4, 2) / 10
    a = np.array([1.0, -1.0, 1.0, -1.0])
    np.savez(tmp_path / "w0.npz", W=W, a=a)
    text = ("seed: 0\ngamma: 1.0\ndata: {n: 5, d: 2}\n"
            "model: {init: file, init_path: w0.npz, activation: tanh}\n")  # fmt: skip
    p = build_problem(load_spec(spec_file(text)))
    np.testing.assert_array_equal(p.model.theta0, W.reshape(-1))
    (tmp_path / "w0.txt").write_text("1 2\n")
    with pytest.raises(SpecError, match=r"model\.init_path"):
        build_problem(load_spec(spec_file(text.replace("w0.npz", "w0.txt"))))
    with pytest.raises(NtkcheckError, match=r"model\.init_path"):
        build_problem(load_spec(spec_file(text.replace("w0.npz", "missing.npz"))))
