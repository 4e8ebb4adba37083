"""``io.example``: the built-in example — its text (``init``'s template, named or not),
and the validated spec ``certify`` runs when given no SPEC."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ntkcheck.io.example import (
    BUILTIN,
    EXAMPLE_NAME,
    EXAMPLE_YAML,
    SCHEMA_FILE,
    example_spec,
    example_yaml,
)

from .conftest import SPECS


def test_specs_example_is_the_built_in_example():
    assert (SPECS / "lecture-example.yaml").read_text() == EXAMPLE_YAML


def test_example_says_relu_is_certified_through_flips():
    """The template said relu-like σ were "not certifiable"; they are (THEORY.md §10)."""
    assert "not certifiable" not in EXAMPLE_YAML
    assert "relu leaky_relu abs (σ' jumps: certified" in EXAMPLE_YAML
    assert "activation-flip bound" in EXAMPLE_YAML


def test_the_template_names_its_schema_for_editors():
    assert EXAMPLE_YAML.splitlines()[0] == f"# yaml-language-server: $schema=./{SCHEMA_FILE}"


@pytest.mark.parametrize(
    "name", ["my-run", "My Run", "true", "No", "2024", "1e3", "null", "a: b", "#x", "ünï"]
)
def test_a_name_reads_back_as_the_same_string(name):
    """Names YAML would read as another type or break are quoted (JSON strings are YAML)."""
    doc = yaml.safe_load(example_yaml(name))
    assert doc["name"] == name
    (line,) = [x for x in example_yaml(name).splitlines() if x.startswith("name:")]
    assert line.index("# optional") == 29  # the comments' column


def test_a_plain_name_is_written_unquoted():
    assert "\nname: my-run " in example_yaml("my-run")
    assert '\nname: "true" ' in example_yaml("true")


@pytest.mark.parametrize("name", [None, "", "x" * 201])
def test_no_name_key_without_a_name_the_schema_takes(name):
    text = example_yaml(name)
    assert "name" not in yaml.safe_load(text)
    assert "# name: my-problem" in text


def test_the_example_is_the_named_template():
    assert example_yaml() == EXAMPLE_YAML
    assert yaml.safe_load(EXAMPLE_YAML)["name"] == EXAMPLE_NAME


def test_the_example_spec_validates_with_overrides():
    loaded = example_spec({"gamma": 3.5, "model.width": 8})
    assert loaded.builtin and loaded.source == BUILTIN and loaded.name == EXAMPLE_NAME
    assert loaded.spec.gamma == 3.5 and loaded.spec.model.width == 8
    assert loaded.overrides == {"gamma": 3.5, "model.width": 8}
    base = example_spec()
    assert base.spec.gamma == yaml.safe_load(EXAMPLE_YAML)["gamma"]
    assert loaded.resolve("train.npz") == Path.cwd() / "train.npz"  # paths against the cwd
