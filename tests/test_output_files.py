"""Never overwrite an input; never overwrite a file ntkcheck did not write (issue 18).

Every refusal is one line on stderr, exit 2, and leaves every file byte for byte as
it was; reports ntkcheck wrote are overwritten by the next run; writes are atomic.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ntkcheck.cli import main
from ntkcheck.io import output

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
seed: 0
gamma: 1000.0
data: {n: 8, d: 3}
model: {width: 64, activation: tanh}
"""
FROM_FILE = """\
seed: 0
gamma: 3000.0
data: {source: file, path: train.csv, normalize: sphere}
model: {width: 256, activation: tanh}
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A spec ``a.yaml``, a spec ``b.yaml`` reading ``train.csv``, a symlink and a hard
    link to ``a.yaml``, an unrelated ``notes.txt``; the working directory."""
    (tmp_path / "a.yaml").write_text(SPEC)
    (tmp_path / "b.yaml").write_text(FROM_FILE)
    shutil.copy(ROOT / "specs" / "data" / "regression.csv", tmp_path / "train.csv")
    (tmp_path / "link.yaml").symlink_to("a.yaml")
    os.link(tmp_path / "a.yaml", tmp_path / "hard.txt")
    (tmp_path / "notes.txt").write_text("my notes, not a report\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused(capsys, folder, argv, *fragments):
    before = _snapshot(folder)
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("ntkcheck: error: "), err
    assert "Traceback" not in err[0]
    for fragment in fragments:
        assert fragment in err[0], err
    assert _snapshot(folder) == before  # nothing written, nothing left behind
    return err[0]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["certify", "a.yaml", "-o", "a.yaml"], ("--output-file a.yaml", "is the spec a.yaml")),
        (["certify", "a.yaml", "-f", "json", "-o", "a.yaml"], ("is the spec a.yaml",)),
        (["certify", "a.yaml", "-f", "json", "-o", "link.yaml"], ("link.yaml", "the spec a.yaml")),
        (["certify", "link.yaml", "-o", "a.yaml"], ("a.yaml", "the spec link.yaml")),
        (["certify", "a.yaml", "-o", "hard.txt"], ("hard.txt", "the spec a.yaml")),
        (["certify", "a.yaml", "b.yaml", "-o", "train.csv"], ("the data file of b.yaml",)),
        (["certify", ".", "-o", "a.yaml"], ("is the spec",)),  # a folder of specs
        (["simulate", "a.yaml", "--plot", "a.yaml"], ("--plot a.yaml", "is the spec a.yaml")),
        (["simulate", "a.yaml", "-o", "link.yaml"], ("is the spec a.yaml",)),
        (["simulate", "b.yaml", "-o", "train.csv"], ("the data file of b.yaml",)),
        (["sweep", "b.yaml", "--seeds", "2", "-o", "train.csv"], ("-o train.csv", "data file")),
        (["sweep", "a.yaml", "--seeds", "2", "--plot", "link.yaml"], ("is the spec a.yaml",)),
    ],
)
def test_an_input_is_never_overwritten(capsys, folder, argv, fragments):
    message = _refused(capsys, folder, argv, *fragments)
    assert "give another path" in message
    _refused(capsys, folder, [*argv, "--force"], *fragments)  # --force or not


@pytest.mark.parametrize(
    "argv",
    [
        ["certify", "a.yaml", "-o", "notes.txt"],
        ["certify", "a.yaml", "-f", "json", "-o", "notes.txt"],
        ["simulate", "a.yaml", "-f", "json", "-o", "notes.txt"],
        ["schema", "-o", "notes.txt"],
    ],
)
def test_an_unrelated_file_needs_force(capsys, folder, argv):
    _refused(capsys, folder, argv, "notes.txt", "is not a report ntkcheck wrote", "--force")
    assert main([*argv, "--force"]) == 0
    assert (folder / "notes.txt").read_text() != "my notes, not a report\n"
    assert output.written_by_ntkcheck(folder / "notes.txt")


def test_an_unrelated_plot_needs_force(capsys, folder):
    pytest.importorskip("matplotlib")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    argv = ["simulate", "a.yaml", "-f", "json", "--plot", "photo.png"]
    _refused(capsys, folder, argv, "photo.png", "--force")
    argv = [
        "sweep",
        "a.yaml",
        "--grid",
        "model.width=[32, 64]",
        "-f",
        "json",
        "--plot",
        "photo.png",
    ]
    _refused(capsys, folder, argv, "photo.png", "--force")
    assert main([*argv, "--force"]) in (0, 1)  # (width 32 is not certified)
    capsys.readouterr()
    assert output.written_by_ntkcheck(folder / "photo.png")


@pytest.mark.parametrize("fmt", ["text", "rich", "markdown", "json", "github", "junit", "sarif"])
def test_a_report_ntkcheck_wrote_is_overwritten(capsys, folder, fmt):
    """Every format carries a signature (io.output); one spec, several with an error."""
    (folder / "bad.yaml").write_text("gamma: [\n")
    for specs in (["a.yaml"], ["bad.yaml", "a.yaml"], ["bad.yaml", "bad.yaml"]):
        for _ in range(2):
            code = main(["certify", *specs, "-f", fmt, "-o", "report.out"])
            assert code in (0, 2)
            if (folder / "report.out").exists():
                assert output.written_by_ntkcheck(folder / "report.out"), (fmt, specs)
        capsys.readouterr()
    assert (folder / "report.out").exists()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_a_plot_ntkcheck_wrote_is_overwritten(capsys, folder, suffix):
    pytest.importorskip("matplotlib")
    argv = ["simulate", "a.yaml", "-f", "json", "-o", "sim.json", "--plot", f"curves{suffix}"]
    assert main(argv) == 0
    assert main(argv) == 0  # both files recognised as ntkcheck's
    capsys.readouterr()
    assert output.written_by_ntkcheck(folder / f"curves{suffix}")


def test_the_schema_and_other_files_are_recognised(folder, capsys):
    assert main(["schema", "-o", "schema.json"]) == 0
    assert main(["schema", "-o", "schema.json"]) == 0
    capsys.readouterr()
    assert output.written_by_ntkcheck(folder / "schema.json")
    (folder / "empty.txt").write_text("")
    assert output.written_by_ntkcheck(folder / "empty.txt")
    for name, text in [
        ("spec.yaml", "# ntkcheck spec\n" + SPEC),
        ("other.json", '{"tool": "something else"}'),
        ("sarif.json", '{"runs": [{"tool": {"driver": {"name": "other"}}}]}'),
        ("list.json", "[1, 2]"),
        ("gh.txt", "::error title=other::x\n"),
        ("junit.xml", '<?xml version="1.0"?>\n<testsuites name="pytest">\n'),
    ]:
        (folder / name).write_text(text)
        assert not output.written_by_ntkcheck(folder / name), name


def test_init_refuses_an_existing_file_and_writes_atomically(capsys, folder):
    _refused(capsys, folder, ["init", "notes.txt"], "notes.txt", "--force")
    assert main(["init", "new.yaml"]) == 0
    assert (folder / "new.yaml").read_text().startswith("#")
    assert not list(folder.glob(".*.tmp*"))


def test_an_interrupted_write_leaves_the_old_file(folder, monkeypatch):
    target = folder / "report.txt"
    target.write_text("the old report\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_text_atomic(target, "the new report\n")
    assert target.read_text() == "the old report\n"
    assert not list(folder.glob(".*.tmp*"))  # the temporary file is removed


def test_a_report_through_a_symlink_replaces_its_target(folder):
    (folder / "real.txt").write_text("")
    (folder / "alias.txt").symlink_to("real.txt")
    output.write_text_atomic(folder / "alias.txt", "ntkcheck 0.1.0 · x\n")
    assert (folder / "alias.txt").is_symlink()
    assert (folder / "real.txt").read_text() == "ntkcheck 0.1.0 · x\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("table.csv", "a,b\n1,2\n3,4"),  # no newline at the end: not a row cut short
        ("table.csv", "a,b"),
        ("log.jsonl", '{"a": 1}\n{"a": 2'),
        ("log.jsonl", "not json"),
    ],
)
def test_a_foreign_rows_file_is_refused_untouched(capsys, folder, name, text):
    """`sweep -o` resumes its own rows files; another file is refused before anything is
    changed (the last line of a file without a final newline was dropped first)."""
    (folder / name).write_text(text)
    _refused(capsys, folder, ["sweep", "a.yaml", "--seeds", "2", "-o", name], "another sweep")


def test_a_rows_file_cut_short_in_its_header_is_started_again(capsys, folder):
    (folder / "rows.csv").write_text("seed,outputs,sta")  # killed while writing the header
    assert main(["sweep", "a.yaml", "--seeds", "2", "-f", "json", "-o", "rows.csv"]) in (0, 1)
    capsys.readouterr()
    assert (folder / "rows.csv").read_text().startswith("seed,outputs,status,")
    assert len((folder / "rows.csv").read_text().splitlines()) == 3
