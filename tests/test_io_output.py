"""``io.output``: which files a run reads, which existing files are ntkcheck's own, and
atomic writes (direct tests; the CLI's refusals are in test_output_files.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ntkcheck._version import __version__
from ntkcheck.errors import NtkcheckError
from ntkcheck.io.example import example_spec
from ntkcheck.io.loading import load_spec
from ntkcheck.io.output import (
    SCHEMA_ID_PREFIX,
    atomic_target,
    check_output,
    figure_metadata,
    same_file,
    spec_inputs,
    write_text_atomic,
    written_by_ntkcheck,
)


def test_spec_inputs_name_the_spec_and_its_files(spec_file, tmp_path):
    path = spec_file(
        "seed: 0\ngamma: 1.0\ndata: {source: file, path: d/train.npz}\n"
        "model: {width: 4, init: file, init_path: w0.npz}\n"
    )
    import numpy as np

    (tmp_path / "d").mkdir()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d/train.npz", X=rng.standard_normal((3, 2)), y=rng.standard_normal(3))
    np.savez(tmp_path / "w0.npz", W=rng.standard_normal((4, 2)), a=np.array([1.0, -1, 1, -1]))
    assert spec_inputs(load_spec(path)) == [
        (path, f"the spec {path}"),
        (tmp_path / "d/train.npz", f"the data file of {path}"),
        (tmp_path / "w0.npz", f"the init file of {path}"),
    ]
    assert spec_inputs(example_spec()) == []  # the built-in example reads no file


def test_same_file_through_symlinks_and_hard_links(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    (tmp_path / "link").symlink_to(a)
    os.link(a, tmp_path / "hard")
    (tmp_path / "other").write_text("x")
    assert same_file(a, tmp_path / "link")
    assert same_file(a, tmp_path / "hard")
    assert same_file(a, tmp_path / "sub" / ".." / "a.txt")
    assert not same_file(a, tmp_path / "other")
    assert not same_file(a, tmp_path / "missing")


@pytest.mark.parametrize(
    ("text", "ours"),
    [
        ("", True),
        (f"ntkcheck {__version__} · 1 spec\nCERTIFIED\n", True),
        (f"# ntkcheck {__version__} · report\n", True),
        ("a line\n3 specs: 1 certified, 2 not certified\n", True),
        ("::error title=ntkcheck::bad\n1 spec: 0 certified, 1 not\n", True),
        ("::error title=other::bad\n", False),
        (json.dumps({"ntkcheck_version": "0", "results": []}), True),
        (json.dumps({"$id": SCHEMA_ID_PREFIX + "v1"}), True),
        (json.dumps({"runs": [{"tool": {"driver": {"name": "ntkcheck"}}}]}), True),
        (json.dumps({"runs": [{"tool": {"driver": {"name": "eslint"}}}]}), False),
        (json.dumps([1, 2]), False),
        ('<?xml version="1.0"?>\n<testsuites name="ntkcheck" tests="1">', True),
        ('<?xml version="1.0"?>\n<testsuites name="pytest">', False),
        ("<svg><metadata>ntkcheck</metadata></svg>", True),
        ("<svg></svg>", False),
        ("my notes\n", False),
        ("{not json", False),
    ],
)
def test_signatures_of_ntkchecks_outputs(tmp_path, text, ours):
    path = tmp_path / "f"
    path.write_text(text, encoding="utf-8")
    assert written_by_ntkcheck(path) is ours


def test_binary_plots_carry_the_creator(tmp_path):
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100 + b"Software\0ntkcheck 1.0")
    assert written_by_ntkcheck(png)
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100 + b"Software\0matplotlib")
    assert not written_by_ntkcheck(png)
    assert written_by_ntkcheck(tmp_path / "missing") is False
    assert figure_metadata(Path("a.PNG")) == {"Software": f"ntkcheck {__version__}"}
    assert figure_metadata(Path("a.svg")) == {"Creator": f"ntkcheck {__version__}"}


def test_check_output_refuses_inputs_folders_and_foreign_files(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("seed: 0\n")
    with pytest.raises(NtkcheckError, match=r"-o .*spec.yaml: is the spec, which this run"):
        check_output(spec, "-o", inputs=[(spec, "the spec")], force=True)
    with pytest.raises(NtkcheckError, match="is a folder"):
        check_output(tmp_path, "-o")
    foreign = tmp_path / "notes.txt"
    foreign.write_text("mine\n")
    with pytest.raises(NtkcheckError, match="add --force to overwrite it"):
        check_output(foreign, "-o")
    check_output(foreign, "-o", force=True)  # --force overwrites a foreign file
    check_output(tmp_path / "new.txt", "-o")  # a new file is fine
    ours = tmp_path / "r.json"
    ours.write_text(json.dumps({"ntkcheck_version": "1"}))
    check_output(ours, "-o")


def test_an_atomic_write_replaces_or_leaves_the_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_text_atomic(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # permissions kept
    with pytest.raises(RuntimeError), atomic_target(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left


def test_an_atomic_write_through_a_symlink_replaces_its_target(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
