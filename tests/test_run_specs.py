"""``run.specs``: which files a list of spec paths means, labelled errors, the inputs a
run reads."""

from __future__ import annotations

from pathlib import Path

from ntkcheck.errors import SpecError
from ntkcheck.run.result import SpecFailure
from ntkcheck.run.specs import expand_specs, inputs_of, labelled

from .conftest import MINIMAL


def test_folders_give_their_yaml_files_recursively_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/z.yml", "a.yaml", "b/c.yaml", "notes.txt", "x.json"):
        (tmp_path / name).write_text("seed: 0\n")
    (tmp_path / "d.yaml").mkdir()  # a folder named like a spec is not one
    given = tmp_path / "given.txt"  # a file is taken as given, whatever its suffix
    out = expand_specs([given, tmp_path])
    assert out == [given, tmp_path / "a.yaml", tmp_path / "b/c.yaml", tmp_path / "b/z.yml"]


def test_a_folder_without_specs_is_a_failure(tmp_path):
    (out,) = expand_specs([tmp_path])
    assert out == SpecFailure(str(tmp_path), f"{tmp_path}: no .yaml or .yml files in this folder")


def test_labelled_prefixes_the_spec_once():
    assert labelled("a.yaml", SpecError("gamma: must be positive")) == (
        "a.yaml: gamma: must be positive"
    )
    assert labelled("a.yaml", SpecError("a.yaml:3: gamma: bad")) == "a.yaml:3: gamma: bad"


def test_inputs_are_each_spec_and_its_files(spec_file, tmp_path):
    good = spec_file(MINIMAL)
    data = tmp_path / "train.csv"
    data.write_text("1,2,3\n")
    with_file = spec_file(
        "seed: 0\ngamma: 1.0\ndata: {source: file, path: train.csv}\nmodel: {width: 8}\n",
        "file.yaml",
    )
    broken = spec_file("gamma: [\n", "broken.yaml")
    out = inputs_of([good, with_file, broken], {})
    assert out == [
        (good, f"the spec {good}"),
        (with_file, f"the spec {with_file}"),
        (data, f"the data file of {with_file}"),
        (broken, f"the spec {broken}"),  # still an input; its error comes when it runs
    ]
    assert all(isinstance(p, Path) for p, _ in out)
