"""Bad specs and data: exit 2, one line naming the key (and line), no traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.cli.flags import CLI_FLAG_NAMES

OK_DATA = "data: {n: 12, d: 4}\n"
OK_MODEL = "model: {width: 64}\n"

# (name, spec text, fragment the message must contain)
CASES = [
    ("empty", "", "the spec is empty"),
    ("not a mapping", "- 1\n- 2\n", "a spec is a mapping"),
    ("malformed", "gamma: [1, 2\n", "malformed YAML"),
    ("python tag", "gamma: !!python/object/apply:os.system ['echo hi']\n", "not allowed"),
    ("python name tag", "gamma: !!python/name:os.system\n", "not allowed"),
    ("alias bomb", "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases"),
    ("duplicate key", "gamma: 1\ngamma: 2\n" + OK_DATA + OK_MODEL, "duplicate key"),
    ("two documents", "gamma: 1\n---\ngamma: 2\n", "single document"),
    ("unknown top key", "gama: 1\n" + OK_DATA + OK_MODEL, "did you mean 'gamma'"),
    ("unknown model key", "gamma: 1\n" + OK_DATA + "model: {widht: 64}\n", "did you mean 'width'"),
    ("missing gamma", OK_DATA + OK_MODEL, "gamma: required key is missing"),
    ("gamma zero", "gamma: 0\n" + OK_DATA + OK_MODEL, "gamma: must be greater than 0"),
    ("gamma negative", "gamma: -5\n" + OK_DATA + OK_MODEL, "greater than 0"),
    ("gamma nan", "gamma: .nan\n" + OK_DATA + OK_MODEL, "finite number"),
    ("gamma inf", "gamma: .inf\n" + OK_DATA + OK_MODEL, "finite number"),
    ("gamma string", "gamma: big\n" + OK_DATA + OK_MODEL, "gamma: must be a valid number"),
    ("width string", "gamma: 1\n" + OK_DATA + "model: {width: '64'}\n", "model.width"),
    ("width zero", "gamma: 1\n" + OK_DATA + "model: {width: 0}\n", "model.width"),
    ("width odd symmetric", "gamma: 1\n" + OK_DATA + "model: {width: 5}\n", "must be even"),
    ("n negative", "gamma: 1\ndata: {n: -3, d: 4}\n" + OK_MODEL, "data.n"),
    ("n huge", "gamma: 1\ndata: {n: 1000000000000, d: 4}\n" + OK_MODEL, "data.n"),
    (
        "bad activation",
        "gamma: 1\n" + OK_DATA + "model: {width: 64, activation: tanhh}\n",
        "did you mean 'tanh'",
    ),
    ("bad scaling", "gamma: 1\n" + OK_DATA + "model: {width: 64, scaling: NTK}\n", "model.scaling"),
    (
        "centered not bool",
        "gamma: 1\n" + OK_DATA + "model: {width: 64, centered: 2}\n",
        "model.centered",
    ),
    ("data not mapping", "gamma: 1\ndata: 3\n" + OK_MODEL, "data: must be a mapping"),
    ("synthetic without d", "gamma: 1\ndata: {n: 3}\n" + OK_MODEL, "data.d: required"),
    ("file without path", "gamma: 1\ndata: {source: file}\n" + OK_MODEL, "path"),
    (
        "file with n",
        "gamma: 1\ndata: {source: file, path: t.npz, n: 3}\n" + OK_MODEL,
        "data.n: only used",
    ),
    (
        "missing data file",
        "gamma: 1\ndata: {source: file, path: nope.npz}\n" + OK_MODEL,
        "file not found",
    ),
    ("bad data suffix", "gamma: 1\ndata: {source: file, path: t.txt}\n" + OK_MODEL, ".npz"),
    ("init file missing path", "gamma: 1\n" + OK_DATA + "model: {init: file}\n", "init_path"),
    ("negative noise", "gamma: 1\ndata: {n: 3, d: 2, noise: -1}\n" + OK_MODEL, "data.noise"),
    (
        "points one",
        "gamma: 1\n" + OK_DATA + OK_MODEL + "simulate: {points: 1}\n",
        "simulate.points",
    ),
    (
        "horizon negative",
        "gamma: 1\n" + OK_DATA + OK_MODEL + "simulate: {horizon: -2}\n",
        "simulate.horizon",
    ),
    (
        "huge problem",
        "gamma: 1\ndata: {n: 10000000, d: 10}\nmodel: {width: 100000000}\n",
        "needs about",
    ),
    ("deep nesting", "gamma: " + "[" * 5000 + "]" * 5000 + "\n", "YAML"),
    (
        "overflowing loss",
        "gamma: 1\ndata: {n: 8, d: 2, noise: 1.0e300}\n" + OK_MODEL,
        "overflows float64",
    ),
    (
        "overflowing K0",
        "gamma: 1\ndata: {n: 8, d: 2}\nmodel: {width: 64, init: gaussian, init_std: 1.0e200, activation: quadratic}\n",
        "K0 has non-finite entries",
    ),
]


@pytest.mark.parametrize("name,text,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_exits_2_with_one_line(tmp_path, capsys, name, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["certify", str(path), "--format", "text"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ntkcheck: error: ")
    assert fragment in lines[0]
    assert "internal error" not in lines[0]
    assert "Traceback" not in captured.err


def test_error_names_the_yaml_line(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "seed: 0\ngamma: 1\ndata: {n: 12, d: 4}\nmodel:\n  width: 64\n  activaton: tanh\n"
    )
    assert main(["certify", str(path)]) == 2
    assert f"{path}:6: model.activaton: unknown key" in capsys.readouterr().err


def _bad_file_case(tmp_path, filename, writer, fragment, capsys):
    writer(tmp_path / filename)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"gamma: 1\ndata: {{source: file, path: {filename}}}\nmodel: {{width: 64}}\n")
    assert main(["certify", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


@pytest.mark.parametrize(
    "filename,writer,fragment",
    [
        # CSV positions are the file's own line and column, 1-based, header counted
        (
            "t.csv",
            lambda p: p.write_text("x,y\n1,2\n3,abc\n"),
            "'t.csv': line 3, column 2: 'abc' is not a number",
        ),
        (
            "t.csv",
            lambda p: p.write_text("x,y\n\n1,2\n\n3,abc\n"),
            "line 5, column 2: 'abc' is not a number",
        ),
        (
            "t.csv",
            lambda p: p.write_text('x,y\n"1\n",2\n3,abc\n'),  # a quoted field over two lines
            "line 4, column 2: 'abc' is not a number",
        ),
        (
            "t.csv",
            lambda p: p.write_text("1,2\n3\n"),
            "line 2 has 1 columns, line 1 (the first data row) has 2",
        ),
        ("t.csv", lambda p: p.write_text("x,y\n1,2\n3,nan\n"), "line 3, column 2: 'nan'; values"),
        ("t.csv", lambda p: p.write_text("a,b,y\n1,2,3\n-inf,1,1\n"), "line 3, column 1: '-inf'"),
        ("t.csv", lambda p: p.write_text("x,y\n"), "no data rows"),
        ("t.csv", lambda p: p.write_text("1\n2\n"), "at least 2 columns"),
        ("t.csv", lambda p: p.write_bytes(b"\xff\xfe\x00bin"), "not a readable CSV"),
        ("t.npz", lambda p: np.savez(p, X=np.ones((3, 2))), "needs y"),
        ("t.npz", lambda p: np.savez(p, X=np.ones((3, 2)), y=np.ones(4)), "y must have shape (3,)"),
        (
            "t.npz",
            lambda p: np.savez(p, X=np.array([[1.0, np.nan]]), y=np.ones(1)),
            "X[0, 1] is nan",
        ),
        (
            "t.npz",
            lambda p: np.savez(p, X=np.ones((2, 2)), y=np.array([1.0, np.inf])),
            "y[1] is inf",
        ),
        ("t.npz", lambda p: np.savez(p, X=np.array([["a", "b"]]), y=np.ones(1)), "real numbers"),
        ("t.npz", lambda p: p.write_bytes(b"not a zip"), "not a readable .npz"),
        (
            "t.npz",
            lambda p: np.savez(p, X=np.array([object()]), y=np.ones(1)),
            "not a readable .npz",
        ),
    ],
)
def test_bad_data_files(tmp_path, capsys, filename, writer, fragment):
    _bad_file_case(tmp_path, filename, writer, fragment, capsys)


@pytest.mark.parametrize(
    "filename,writer,normalize,fragment",
    [
        (
            "t.csv",
            lambda p: p.write_text("a,b,y\n1,5,1\n2,5,2\n3,5,3\n"),
            "standardize",
            "standardize: column 2 of 't.csv' is constant",
        ),
        (
            "t.csv",
            lambda p: p.write_text("a,b,y\n1,5,1\n\n0,0,2\n3,5,3\n"),
            "sphere",
            "sphere: line 4 of 't.csv' is zero",
        ),
        (
            "t.npz",
            lambda p: np.savez(p, X=np.array([[1.0, 5.0], [2.0, 5.0]]), y=np.ones(2)),
            "standardize",
            "standardize: X[:, 1] of 't.npz' is constant",
        ),
        (
            "t.npz",
            lambda p: np.savez(p, X=np.array([[1.0, 5.0], [0.0, 0.0]]), y=np.ones(2)),
            "sphere",
            "sphere: X[1] of 't.npz' is zero",
        ),
    ],
)
def test_normalize_errors_name_the_file_position(
    tmp_path, capsys, filename, writer, normalize, fragment
):
    """A CSV's rows and columns by its own line and column (they were X's 0-based row
    and column, off by the header); an .npz's by NumPy's indices, like ``X[0, 1]``."""
    writer(tmp_path / filename)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"gamma: 1\ndata: {{source: file, path: {filename}, normalize: {normalize}}}\n"
        "model: {width: 64}\n"
    )
    assert main(["certify", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


@pytest.mark.parametrize(
    "arrays,fragment",
    [
        (
            {"W": np.ones((4, 2)), "a": np.array([1.0, -1.0, 0.5, 1.0])},
            "a[2] = 0.5; output weights must be ±1",
        ),
        ({"W": np.ones((4, 3)), "a": np.ones(4)}, "W must have shape (N, 2)"),
        ({"W": np.ones((4, 2))}, "needs a"),
        ({"W": np.ones((4, 2)), "a": np.ones(3)}, "a must have shape (4,)"),
        ({"W": np.full((4, 2), np.inf), "a": np.ones(4)}, "W[0, 0] is inf; values must be finite"),
    ],
)
def test_bad_init_files(tmp_path, capsys, arrays, fragment):
    np.savez(tmp_path / "w0.npz", **arrays)
    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 1\ndata: {n: 5, d: 2}\nmodel: {init: file, init_path: w0.npz}\n")
    assert main(["certify", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


def test_init_file_width_mismatch(tmp_path, capsys):
    np.savez(tmp_path / "w0.npz", W=np.ones((4, 2)), a=np.ones(4))
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "gamma: 1\ndata: {n: 5, d: 2}\nmodel: {width: 8, init: file, init_path: w0.npz}\n"
    )
    assert main(["certify", str(spec)]) == 2
    assert "model.width: is 8 but the init file has N = 4" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["certify", "--gamma", "-1"], "--gamma: must be greater than 0"),
        (["certify", "--gamma", "nan"], "--gamma: must be a finite number"),
        (["certify", "--format", "xml"], "--format"),
        (["certify", "--seed", "-4"], "--seed"),
        (["certify", "missing.yaml"], "no such file"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_usage(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("ntkcheck: no SPEC")]
    assert len(lines) == 1 and fragment in lines[0], err


def test_binary_and_directory_specs(tmp_path, capsys):
    (tmp_path / "bin.yaml").write_bytes(b"\x00\x01\x02\xff")
    assert main(["certify", str(tmp_path / "bin.yaml")]) == 2
    assert "not a UTF-8 text file" in capsys.readouterr().err
    assert main(["certify", str(tmp_path)]) == 2  # a folder: its YAML files are checked
    assert "bin.yaml: not a UTF-8 text file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["certify", str(empty)]) == 2
    assert "no .yaml or .yml files in this folder" in capsys.readouterr().err


def _certify_in_subprocess(spec):
    return subprocess.run(
        [sys.executable, "-m", "ntkcheck", "certify", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_overflow_gives_one_line_without_numpy_warnings(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 1\ndata: {n: 8, d: 2, noise: 1.0e300}\nmodel: {width: 64}\n")
    proc = _certify_in_subprocess(spec)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "overflows float64" in proc.stderr


def test_subprocess_has_no_traceback_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    spec = tmp_path / "evil.yaml"
    spec.write_text(f"gamma: !!python/object/apply:os.system ['touch {marker}']\n")
    proc = _certify_in_subprocess(spec)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_folders_fifos_and_zip_bombs_as_data(tmp_path, capsys, monkeypatch):
    import os
    import zipfile

    (tmp_path / "dir.csv").mkdir()
    os.mkfifo(tmp_path / "fifo.csv")  # reading it would block forever
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("X.npy", "w", force_zip64=True) as f:
            header = {"descr": "<f8", "fortran_order": False, "shape": (4_000_000, 2)}
            np.lib.format.write_array_header_1_0(f, header)
            for _ in range(64):
                f.write(b"\0" * (1 << 20))
        with z.open("y.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(3))
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "32M")  # 64 MB compressed to a few KB
    for name, fragment in (
        ("dir.csv", "is not a regular file"),
        ("fifo.csv", "is not a regular file"),
        ("bomb.npz", "uncompressed) needs about"),
    ):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(f"gamma: 1\ndata: {{source: file, path: {name}}}\nmodel: {{width: 8}}\n")
        assert main(["certify", str(spec)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and fragment in err, err


def test_long_values_are_cut_in_messages(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text('gamma: "' + "a" * 100_000 + '"\ndata: {n: 8, d: 2}\nmodel: {width: 8}\n')
    assert main(["certify", str(spec)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 300 and "…" in err


def test_extreme_but_valid_values_do_not_crash(tmp_path, capsys):
    """γ = 1e300 certifies (products overflow to ∞, never raise); a saturated net fails (H2)."""
    import json

    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 1.0e300\ndata: {n: 8, d: 2}\nmodel: {width: 64}\n")
    assert main(["certify", str(spec), "-f", "json"]) == 0
    cert = json.loads(capsys.readouterr().out)["results"][0]["certificate"]
    assert cert["gamma"] == 1e300 and cert["certified"]
    spec.write_text("gamma: 1\ndata: {n: 8, d: 2}\nmodel: {width: 64, init_std: 1.0e300}\n")
    assert main(["certify", str(spec), "-f", "json"]) == 1
    cert = json.loads(capsys.readouterr().out)["results"][0]["certificate"]
    assert cert["status"] == "not_applicable" and "J0 = 0" in cert["message"]


@pytest.mark.parametrize(
    "text,value",
    [("1e8", 1e8), ("1.0e300", 1e300), ("1.0E+3", 1e3), (".5e3", 500.0), ("2.5e-3", 2.5e-3)],
)
def test_every_exponent_form_is_a_number(text, value):
    from pathlib import Path

    from ntkcheck import parse_spec

    loaded = parse_spec(
        f"gamma: {text}\ndata: {{n: 8, d: 2}}\nmodel: {{width: 8}}\n",
        source="x",
        base_dir=Path("."),
    )
    assert loaded.spec.gamma == value


@pytest.mark.parametrize(
    "name, value",
    [
        ("NTKCHECK_THREADS", "x"),
        ("NTKCHECK_THREADS", "0"),
        ("NTKCHECK_MEMORY_LIMIT", "inf"),
        ("NTKCHECK_MEMORY_LIMIT", "1e400"),
        ("NTKCHECK_MEMORY_LIMIT", "-5"),
        ("NTKCHECK_MEMORY_LIMIT", "zz"),
    ],
)
def test_bad_environment_is_a_usage_error_before_anything_runs(capsys, monkeypatch, name, value):
    """Found once, before any spec: a sweep must not store an error row per point."""
    monkeypatch.setenv(name, value)
    for argv in (["certify"], ["sweep", "--seeds", "2", "-j", "1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"ntkcheck: error: {name}={value!r} is not")


@pytest.mark.parametrize(
    ("text", "line", "key", "missing"),
    [
        (
            "gamma: 1\ndata:\n  source: file\n  path: data/nope.csv\nmodel: {width: 8}\n",
            4,
            "data.path",
            "data/nope.csv",
        ),
        (
            "gamma: 1\ndata: {n: 5, d: 2}\nmodel: {init: file, init_path: w0.npz}\n",
            3,
            "model.init_path",
            "w0.npz",
        ),
        (
            "gamma: 1\ndata: {n: 5, d: 2}\nmodel:\n  architecture: mlp\n  widths: [4]\n"
            "  init: file\n  init_path: deep.npz\n",
            7,
            "model.init_path",
            "deep.npz",
        ),
    ],
    ids=["data", "two-layer init", "mlp init"],
)
def test_validate_checks_that_named_files_exist(tmp_path, capsys, text, line, key, missing):
    """`validate` said ok for a spec whose data file does not exist: exit 2, one line
    naming the key, the path looked at and the fix, as `certify` does."""
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    for command in ("validate", "certify"):
        assert main([command, str(spec)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert f"{spec}:{line}: {key}: file not found: {tmp_path / missing}" in err[0]
        assert "correct the path" in err[0] and "or create the file" in err[0]
    (tmp_path / missing).parent.mkdir(exist_ok=True)
    (tmp_path / missing).write_bytes(b"not read by validate")
    assert main(["validate", str(spec)]) == 0
    capsys.readouterr()
    (tmp_path / missing).unlink()
    (tmp_path / missing).mkdir()
    assert main(["validate", str(spec)]) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_validate_reads_no_referenced_file(tmp_path, capsys):
    """A FIFO named as the data file would block a reader: validate refuses it without
    opening it (a regular file's contents are not read: see the test above)."""
    import os

    os.mkfifo(tmp_path / "fifo.csv")
    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 1\ndata: {source: file, path: fifo.csv}\nmodel: {width: 8}\n")
    assert main(["validate", str(spec)]) == 2
    assert "fifo.csv is not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"gama": 3.0}, "overrides['gama']: unknown key; did you mean 'gamma'?"),
        ({"model.widht": 8}, "overrides['model.widht']: unknown key; did you mean 'width'?"),
        ({"gamma": -1.0}, "overrides['gamma']: must be greater than 0"),
        ({"seed": "x"}, "overrides['seed']: must be a valid integer"),
    ],
)
def test_python_override_errors_name_the_overrides_argument(overrides, fragment):
    """From Python there is no `--set` flag (nor `--gamma`): the message names the key of
    the caller's ``overrides`` dict, after the spec it was applied to."""
    from ntkcheck import SpecError, example_spec, load_spec, parse_spec
    from ntkcheck.run.sweep import SpecSource

    from .conftest import SPECS

    spec = SPECS / "lecture-example.yaml"
    calls = [
        (str(spec), lambda: load_spec(spec, overrides)),
        ("<built-in example>", lambda: example_spec(overrides)),
        (
            "mine",
            lambda: parse_spec(
                spec.read_text(), source="mine", base_dir=SPECS, overrides=overrides
            ),
        ),
        (str(spec), lambda: SpecSource.read(spec).parse(overrides)),
    ]
    for source, call in calls:
        with pytest.raises(SpecError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{source}: {fragment}"), message
        assert "--" not in message
    # the command line still names its flags
    with pytest.raises(SpecError, match=r"^(--set |--gamma|--seed)"):
        load_spec(spec, overrides, flag_names=CLI_FLAG_NAMES)
