"""``io.yaml_lines``: the line of every key, and the refusals (direct tests)."""

from __future__ import annotations

import pytest

from ntkcheck.errors import SpecError
from ntkcheck.io.yaml_lines import YamlError, load_yaml_with_lines

TEXT = """\
# a comment
seed: 0
gamma: 1e-8
data:
  n: 12

  d: 4
model: {width: 64, activation: tanh}
sweep:
  grid:
    gamma:
      - 1
      - 2.5
"""


def test_every_key_and_item_has_its_line():
    data, lines = load_yaml_with_lines(TEXT)
    assert data == {
        "seed": 0, "gamma": 1e-8, "data": {"n": 12, "d": 4},
        "model": {"width": 64, "activation": "tanh"}, "sweep": {"grid": {"gamma": [1, 2.5]}},
    }  # fmt: skip
    expected = {
        (): 2, ("seed",): 2, ("gamma",): 3, ("data",): 4, ("data", "n"): 5, ("data", "d"): 7,
        ("model",): 8, ("model", "width"): 8, ("model", "activation"): 8, ("sweep",): 9,
        ("sweep", "grid"): 10, ("sweep", "grid", "gamma"): 11,
        ("sweep", "grid", "gamma", 0): 12, ("sweep", "grid", "gamma", 1): 13,
    }  # fmt: skip
    assert lines == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [("x: 1e-8", 1e-8), ("x: 1.0e300", 1e300), ("x: -2E+3", -2000.0), ("x: .5e1", 5.0),
     ("x: 1e", "1e"), ("x: 12", 12), ("x: '1e-8'", "1e-8")],
)  # fmt: skip
def test_every_exponent_form_is_a_float(text, value):
    """YAML 1.1 reads 1e-8 as a string; the spec reads it as YAML 1.2 does."""
    data, _ = load_yaml_with_lines(text)
    assert data["x"] == value and type(data["x"]) is type(value)


def test_empty_text_is_none():
    assert load_yaml_with_lines("") == (None, {})
    assert load_yaml_with_lines("# only a comment\n") == (None, {})


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("seed: 0\nbase: &b {n: 4}\ndata: *b\n", 3, "YAML aliases (*b) are not allowed"),
        ("seed: 0\ngamma: !!python/object:os.system ls\n", 2, "the tag"),
        ("seed: 0\ndata: !custom {n: 4}\n", 2, "the tag '!custom' is not allowed"),
        ("seed: 0\nw: !!python/tuple [1, 2]\n", 2, "not allowed"),
        ("seed: 0\ndata:\n  n: 4\n  n: 5\n", 4, "duplicate key 'n' (first on line 3); keep one"),
        ("seed: 0\n1: one\n", 2, "keys must be names, got 1"),
        ("seed: 0\n[a, b]: one\n", 2, "a key must be a plain name"),
        ("seed: 0\ndata: {n: 4\n", 3, "malformed YAML"),
        ("seed: 0\n---\nseed: 1\n", 2, "malformed YAML"),
        ("seed: 0\nx: !!int abc\n", 2, "cannot read the value 'abc'"),
    ],
    ids=["alias", "python-tag", "local-tag", "tuple-tag", "duplicate", "number-key",
         "list-key", "unclosed", "two-documents", "bad-int"],
)  # fmt: skip
def test_refusals_name_their_line(text, line, words):
    with pytest.raises(YamlError) as info:
        load_yaml_with_lines(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")
    assert words in str(info.value)
    assert isinstance(info.value, SpecError)


def test_deep_nesting_is_refused_without_a_recursion_error():
    with pytest.raises(YamlError, match="nested too deeply"):
        load_yaml_with_lines("x: " + "[" * 20_000 + "]" * 20_000)


def test_nothing_executes():
    """A tag that would call a function is refused before anything is constructed."""
    with pytest.raises(YamlError, match="not allowed"):
        load_yaml_with_lines("x: !!python/object/apply:builtins.exec ['raise SystemExit']\n")
