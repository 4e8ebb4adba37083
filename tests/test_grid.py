"""``io.grid``: keys, ``--grid`` options and axes, with the key types given here (the
module knows no spec; test_sweep.py checks grids through the spec's own key types)."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.io.grid import MAX_AXIS, GridError, evaluate, make_axis, parse_grid_option, split_keys

KINDS = {
    "data.n": "int", "gamma": "float", "model.activation": "str", "centered": "bool",
    "data.classes": "other",
}  # fmt: skip


def _axis(keys, raw):
    return make_axis(keys, raw, KINDS.__getitem__, f"--grid {','.join(keys)}")


def test_split_keys():
    assert split_keys(" data.n , data.d ", "o") == ("data.n", "data.d")
    with pytest.raises(GridError, match=r"'data\.\.n' is not a spec key"):
        split_keys("data..n", "o")
    with pytest.raises(GridError, match="a key is repeated"):
        split_keys("data.n,data.n", "o")


def test_parse_grid_option_gives_a_list_or_an_expression():
    assert parse_grid_option("data.n=[32, 64]") == (("data.n",), [32, 64])
    assert parse_grid_option(" gamma = logspace(0, 2, 3) ") == (("gamma",), "logspace(0, 2, 3)")
    assert parse_grid_option("data.n,data.d=[[1, 2], [3, 4]]") == (
        ("data.n", "data.d"), [[1, 2], [3, 4]],
    )  # fmt: skip
    with pytest.raises(GridError, match="cannot read '\\[1, 2'"):
        parse_grid_option("data.n=[1, 2")
    with pytest.raises(GridError, match="expected KEY=VALUES"):
        parse_grid_option("=[1]")


def test_expression_values_take_the_keys_type():
    ints = _axis(("data.n",), "linspace(2, 10, 5)")
    assert ints.values == ((2,), (4,), (6,), (8,), (10,)) and type(ints.values[0][0]) is int
    floats = _axis(("gamma",), "range(2)")
    assert floats.values == ((0.0,), (1.0,)) and type(floats.values[0][0]) is float
    for key, words in (("model.activation", "takes names"), ("centered", "takes true/false")):
        with pytest.raises(GridError, match=words):
            _axis((key,), "range(2)")
    with pytest.raises(GridError, match="linked keys take a list of value lists"):
        _axis(("data.n", "gamma"), "range(2)")


def test_list_values_are_checked_for_shape_and_repeats():
    assert _axis(("model.activation",), ["tanh", "erf"]).values == (("tanh",), ("erf",))
    assert len(_axis(("data.n", "gamma"), [[1, 2.0], [2, 2.0]])) == 2
    with pytest.raises(GridError, match="the list of values is empty"):
        _axis(("data.n",), [])
    with pytest.raises(GridError, match="values must be numbers, names or lists of them; got None"):
        _axis(("data.n",), [1, None])
    # a key that holds a list (data.classes, model.widths) takes lists of scalars
    classes = _axis(("data.classes",), [[0, 1], [0, 1, 2]])
    assert classes.values == (([0, 1],), ([0, 1, 2],))
    with pytest.raises(GridError, match=r"the value \[0, 1\] is repeated"):
        _axis(("data.classes",), [[0, 1], [0, 1]])
    for bad in ([], [[1]], [{"a": 1}], [None]):
        with pytest.raises(GridError, match="numbers, names or lists of them"):
            _axis(("data.classes",), [bad])
    with pytest.raises(GridError, match="the value \\[1, 2\\] is repeated"):
        _axis(("data.n", "gamma"), [[1, 2], [1, 2]])
    with pytest.raises(GridError, match="expected a list of values"):
        _axis(("data.n",), {"a": 1})


def test_logspace_bases_and_overflow():
    assert evaluate("logspace(0, 3, 4, base=2)", "o") == list(np.logspace(0, 3, 4, base=2))
    assert evaluate("linspace(-1, 1, 3)", "o") == [-1.0, 0.0, 1.0]
    for bad, words in (
        ("logspace(0, 1, 2, base=1)", "the base must be positive and not 1"),
        ("logspace(0, 1, 2, base=-2)", "the base must be positive"),
        ("logspace(0, 400, 2)", "overflows float64"),
        ("linspace(0, 1, 2.5)", "must be a positive integer"),
        (f"linspace(0, 1, {MAX_AXIS + 1})", "at most 100,000 per axis"),
        ("linspace(0, 1, 2, base=2)", "takes no keyword 'base'"),
        ("range(1.5)", "range\\(\\) takes 1 to 3 integers"),
        ("range(0, 5, 0)", "step must not be zero"),
        ("range(-3)", "is empty"),
        ("logspace(0, 1, 1e999)", "finite numbers"),
    ):
        with pytest.raises(GridError, match=words):
            evaluate(bad, "o")
