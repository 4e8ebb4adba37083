"""``report.sweep_plot``: the horizontal axis (the families' size axes, then n), log-cell
edges, the fitted power law drawn along the axis, and a plot written with its mark."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.io.output import written_by_ntkcheck
from ntkcheck.models.registry import size_keys
from ntkcheck.report.sweep_plot import (
    X_AXES,
    _edges,
    _fitted,
    _median,
    check_sweep_plot,
    plot_sweep,
    x_axis,
)
from ntkcheck.run.fit import Fit


def test_the_axes_are_the_families_sizes_then_n():
    assert (
        X_AXES
        == (*size_keys(), "data.n", "data.outputs")
        == ("model.width", "data.n", "data.outputs")
    )


def test_the_size_axis_first_else_n():
    rows = [{"data.n": n, "model.width": w, "model.activation": "tanh"}
            for n in (8, 16) for w in (64, 128)]  # fmt: skip
    keys = ("data.n", "model.width", "model.activation", "gamma")
    assert x_axis(rows, keys) == "model.width"
    fixed = [{**r, "model.width": 64} for r in rows]
    assert x_axis(fixed, keys) == "data.n"  # the width does not vary
    with pytest.raises(
        NtkcheckError, match=r"--plot needs model\.width, data\.n or data\.outputs swept"
    ):
        x_axis([{"data.n": 8, "model.width": 64}], ("data.n", "model.width"))


def test_cell_edges_are_geometric_midpoints():
    np.testing.assert_allclose(_edges(np.array([1.0, 4.0, 16.0])), [0.5, 2.0, 8.0, 32.0],
                               rtol=1e-15)  # fmt: skip
    np.testing.assert_allclose(_edges(np.array([10.0])), [10 / 1.5, 15.0], rtol=1e-15)


def test_the_median_of_positive_numbers():
    assert _median([3.0, None, -1.0, 1.0, math.inf, 2.0]) == 2.0
    assert math.isnan(_median([None, 0.0]))


def _fit(axis, exponent, intercept=0.0, where=None, collinear=()):
    return Fit("gamma_star.path", axis, exponent, exponent, exponent, intercept, 6,
               where or {}, collinear)  # fmt: skip


def test_the_fitted_line_along_x_with_the_other_axes_fixed():
    """log q = c + 1.5 log n − 1 log N: along N at n = 16, q = e^c·64/N, exponent −1."""
    fits = [_fit("data.n", 1.5, math.log(2.0)), _fit("model.width", -1.0, math.log(2.0))]
    xs = np.array([64.0, 128.0])
    line, e = _fitted(fits, "gamma_star.path", "model.width", {"data.n": 16}, xs)
    np.testing.assert_allclose(line, 2.0 * 64.0 / xs, rtol=1e-14)
    assert e == -1.0
    assert _fitted(fits, "gamma_star.path", "model.width", {}, xs) is None  # n unknown
    assert _fitted(fits, "beta", "model.width", {"data.n": 16}, xs) is None


def test_a_collinear_axis_moves_with_x_and_where_selects_the_fit():
    fits = [_fit("data.n", 2.0, 0.0, where={"model.activation": "tanh"}, collinear=("data.d",)),
            _fit("data.n", 9.0, 0.0, where={"model.activation": "relu"})]  # fmt: skip
    xs = np.array([2.0, 4.0])
    line, e = _fitted(fits, "gamma_star.path", "data.d", {"model.activation": "tanh"}, xs)
    np.testing.assert_allclose(line, xs**2, rtol=1e-14)
    assert e == 2.0


def test_a_plot_is_written_with_ntkchecks_mark(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "sweep.png"
    check_sweep_plot(path)
    rows = [{"status": "certified", "data.n": 8, "model.width": w, "seed": 0, "gamma": 1.0,
             "gamma_star.lecture": 100.0 / w, "gamma_star.path": 10.0 / w}
            for w in (64, 128, 256)]  # fmt: skip
    plot_sweep(rows, ("model.width",), [], [], path, lazy_tol=0.1)
    assert path.read_bytes().startswith(b"\x89PNG") and written_by_ntkcheck(path)
    with pytest.raises(NtkcheckError, match=r"use \.png, \.svg or \.pdf"):
        check_sweep_plot(tmp_path / "sweep.jpg")
