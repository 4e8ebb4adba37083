"""``ntkcheck sweep``: grids, rows against certify/simulate, γ reuse, fits, files, resume, backends."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.io.grid import GridError, evaluate
from ntkcheck.io.spec_keys import grid_axis
from ntkcheck.linalg.threads import THREAD_VARIABLES
from ntkcheck.report.document import sweep_row
from ntkcheck.run import sweep as sweep_module
from ntkcheck.run.sweep import Options, SpecSource, execute, plan_sweep, resolve_axes, tasks
from ntkcheck.run.sweep.backends import processes

ROOT = Path(__file__).resolve().parents[1]
SMALL = """\
seed: 0
gamma: 10.0
data: {n: 8, d: 3}
model: {width: 64, activation: tanh}
"""
FLOW = """\
seed: 1
gamma: 10
data: {n: 4, d: 3}
model: {width: 64, activation: softplus}
simulate: {points: 12}
"""
MEASURED = ("gamma_star.lecture", "gamma_star.path", "margin.lecture", "margin.path", "sigma_min",
            "sigma_max", "beta", "loss0", "status", "gamma")  # fmt: skip


@pytest.fixture
def small(spec_file):
    return spec_file(SMALL)


def _sweep(capsys, *argv):
    code = main(["sweep", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _rows(capsys, *argv):
    code, out, err = _sweep(capsys, *argv, "-f", "json")
    return code, json.loads(out), err


def _untimed(rows):
    return [{k: v for k, v in r.items() if not k.startswith("timing.")} for r in rows]


# ------------------------------------------------------------------------------ grids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("logspace(8, 14, 7, base=2)", list(np.logspace(8, 14, 7, base=2))),
        ("logspace(-1, 2, 4)", list(np.logspace(-1, 2, 4))),
        ("linspace(0.5, 2, 4)", list(np.linspace(0.5, 2, 4))),
        ("range(3)", [0, 1, 2]),
        ("range(10, 40, 10)", [10, 20, 30]),
        ("range(5, 0, -2)", [5, 3, 1]),
    ],
)
def test_expressions_follow_numpy_and_python(text, expected):
    assert evaluate(text, "--grid x") == expected


def test_integer_keys_get_integers_and_float_keys_floats():
    width = grid_axis("model.width", "logspace(8, 12, 5, base=2)", "--grid model.width")
    assert width.values == ((256,), (512,), (1024,), (2048,), (4096,))
    assert all(type(v[0]) is int for v in width.values)
    gamma = grid_axis("gamma", "range(1, 4)", "--grid gamma")
    assert gamma.values == ((1.0,), (2.0,), (3.0,)) and type(gamma.values[0][0]) is float
    linked = grid_axis("data.n,data.d", [[32, 32], [64, 64]], "--grid data.n,data.d")
    assert linked.keys == ("data.n", "data.d") and linked.values == ((32, 32), (64, 64))


@pytest.mark.parametrize(
    ("grid", "fragment"),
    [
        ("model.widht=[64, 128]", "unknown spec key 'model.widht'; did you mean model.width?"),
        ("data=[1, 2]", "data is a block"),
        ("model.width=logspace(8, 14", "cannot read the expression"),
        ("model.width=__import__('os').system('true')", "is not a call"),
        ("model.width=exp(3)", "unknown function 'exp'"),
        ("model.width=logspace(1, 2, n)", "arguments must be number literals"),
        ("model.width=logspace(1, 2, 50)", "gives 10 twice after rounding"),
        ("data.n=[a, b]", "--grid data.n: must be a valid integer"),
        ("data.n=[8, 1.5]", "--grid data.n: must be a valid integer"),
        ("data.n=[0, 8]", "--grid data.n: must be greater than or equal to 1"),
        ("gamma=[1, 1.0]", "the value 1.0 is repeated"),
        ("model.activation=[tanh, tahn]", "did you mean 'tanh'"),
        ("model.activation=range(3)", "takes names, not numbers"),
        ("data.n=64", "is not a list of values"),
        ("data.n,data.d=[8, 16]", "each value must be a list of 2 values"),
        ("data.n", "expected KEY=VALUES"),
        ("sweep.seeds=[1, 2]", "the sweep block itself cannot be swept"),
    ],
)
def test_bad_grids_exit_2_with_one_line(capsys, small, grid, fragment):
    code, out, err = _sweep(capsys, small, "--grid", grid, "-j", "1")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("ntkcheck: error: ")
    assert fragment in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--seeds", "2", "--grid", "seed=[0, 1]"], "--seeds: seed is also swept"),
        (["--seeds", "0"], "--seeds: must be at least 1"),
        ([], "nothing to sweep"),
        (["--seeds", "2", "-f", "junit"], "'junit' is not one of 'rich', 'text', 'json'"),
        (
            ["--seeds", "2", "--plot", "p.png"],
            "--plot needs model.width, data.n or data.outputs swept",
        ),
        (["--seeds", "2", "-o", "rows.xlsx"], "use .csv, .jsonl or .parquet"),
        (["--seeds", "2", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs is for"),
        (["--seeds", "2", "--grid", "gamma=[1]", "--grid", "gamma=[2]"], "gamma is swept twice"),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, small, argv, fragment):
    code, out, err = _sweep(capsys, small, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert fragment in err


# ------------------------------------------------------------------- rows and reuse


def test_rows_equal_certify_of_the_same_point(capsys, small):
    code, doc, err = _rows(
        capsys, small, "--grid", "model.width=[32, 63, 128]", "--grid", "gamma=[1, 1000]",
        "--seeds", "2", "-j", "1",
    )  # fmt: skip
    rows = doc["rows"]
    assert code == 2  # the odd width is an error row (symmetric pairs); the sweep goes on
    assert [(r["model.width"], r["gamma"], r["seed"]) for r in rows] == [
        (w, g, s) for w in (32, 63, 128) for g in (1.0, 1000.0) for s in (0, 1)
    ]
    errors = [r for r in rows if r["status"] == "error"]
    assert {r["model.width"] for r in errors} == {63} and len(errors) == 4
    assert all("width must be even" in r["error"] for r in errors)
    assert "width must be even" in err
    for r in rows:
        if r["status"] == "error":
            continue
        sets = [f"model.width={r['model.width']}", f"gamma={r['gamma']}", f"seed={r['seed']}"]
        assert main(["certify", str(small), "-f", "json", *(f"--set={s}" for s in sets)]) in (0, 1)
        c = json.loads(capsys.readouterr().out)["results"][0]
        expected = {
            "status": c["certificate"]["status"],
            "gamma": c["certificate"]["gamma"],
            "gamma_star.lecture": c["certificates"]["lecture"]["gamma_star"],
            "gamma_star.path": c["certificates"]["path"]["gamma_star"],
            "margin.lecture": c["certificates"]["lecture"]["margin"],
            "margin.path": c["certificates"]["path"]["margin"],
            "sigma_min": c["estimate"]["sigma_min"],
            "sigma_max": c["estimate"]["sigma_max"],
            "beta": c["estimate"]["beta"],
            "loss0": c["estimate"]["loss0"],
        }
        assert {k: r[k] for k in MEASURED} == expected
        assert r["error"] is None and len(r["spec_hash"]) == 16
    assert len({(r["spec_hash"], r["seed"]) for r in rows}) == len(rows)


def test_a_gamma_axis_measures_once_per_point_and_seed(monkeypatch):
    from ntkcheck.run import job

    calls = []
    real = job.measure

    def counting(problem, **kwargs):
        calls.append((problem.n, problem.model.info().summary["width"]))
        return real(problem, **kwargs)

    monkeypatch.setattr(job, "measure", counting)
    source = SpecSource(SMALL, "small.yaml", ".")
    grids = ["model.width=[32, 64]", "gamma=logspace(-1, 3, 5)"]
    plan = plan_sweep(source, {}, resolve_axes(source.parse({}), grids, 3))
    outcomes = list(execute(tasks(plan, plan.points, Options()), jobs=1))
    assert len(outcomes) == 2 * 5 * 3
    assert sorted(calls) == sorted([(8, 32)] * 3 + [(8, 64)] * 3)


def test_the_spec_sweep_block_and_cli_grids(capsys, spec_file):
    spec = spec_file(
        SMALL + "sweep:\n  grid:\n    model.width: [32, 64]\n    gamma: 'logspace(0, 2, 3)'\n"
        "  seeds: 2\n"
    )
    code, doc, _ = _rows(capsys, spec, "-j", "1")
    assert code in (0, 1) and len(doc["rows"]) == 2 * 3 * 2
    # --grid over the same key replaces the block's axis; --seeds replaces sweep.seeds
    code, doc, _ = _rows(capsys, spec, "--grid", "model.width=[128]", "--seeds", "1", "-j", "1")
    assert {(r["model.width"], r["seed"]) for r in doc["rows"]} == {(128, 0)}
    assert len(doc["rows"]) == 3
    bad = spec_file(SMALL + "sweep:\n  grid:\n    model.width: 'logspace(1, 2'\n", "bad.yaml")
    code, _out, err = _sweep(capsys, bad)
    assert code == 2 and "bad.yaml:7: sweep.grid.model.width: cannot read" in err
    both = spec_file(SMALL + "sweep:\n  grid: {seed: [0, 1]}\n  seeds: 2\n", "both.yaml")
    code, _, err = _sweep(capsys, both)
    assert code == 2 and "both.yaml:7: sweep.seeds: give either seeds or a grid over seed" in err
    assert main(["certify", str(spec)]) in (0, 1)  # other commands ignore the block
    capsys.readouterr()


def test_exit_codes_are_the_worst_point(capsys, small):
    assert _sweep(capsys, small, "--grid", "gamma=[1000, 10000]", "-j", "1")[0] == 0
    assert _sweep(capsys, small, "--grid", "gamma=[0.01, 1000]", "-j", "1")[0] == 1
    assert _sweep(capsys, small, "--grid", "gamma=[0.01]", "-j", "1", "--exit-zero")[0] == 0
    code, out, _ = _sweep(capsys, small, "--grid", "model.width=[64, 65]", "-j", "1", "-f", "text")
    assert code == 2 and "1 error" in out.splitlines()[-1]


# ------------------------------------------------------------------------------ fits


def _median_fit(rows, quantity, axes):
    """An independent fit: medians over seeds per point, then np.linalg.lstsq."""
    points = {}
    for r in rows:
        points.setdefault(tuple(r[a] for a in axes), []).append(r[quantity])
    X = np.array([[1.0, *np.log(k)] for k in points])
    y = np.log([np.median(v) for v in points.values()])
    return np.linalg.lstsq(X, y, rcond=None)[0][1:]


def test_printed_exponents_equal_an_independent_lstsq_fit(capsys, small):
    code, doc, _ = _rows(
        capsys, small, "--grid", "model.width=[32, 64, 128]", "--grid", "data.n=[6, 8, 12]",
        "--seeds", "3", "--fit", "-j", "1",
    )  # fmt: skip
    assert code in (0, 1)
    rows, fits = doc["rows"], doc["fits"]
    for q in ("gamma_star.lecture", "gamma_star.path", "sigma_min", "sigma_max"):
        mine = {f["axis"]: f for f in fits if f["quantity"] == q}
        assert set(mine) == {"model.width", "data.n"}
        expected = _median_fit(rows, q, ["model.width", "data.n"])
        got = [mine["model.width"]["exponent"], mine["data.n"]["exponent"]]
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
        assert all(f["ci_low"] <= f["ci_high"] for f in mine.values())
    # the text report prints the same numbers beside the lecture's heuristic exponents
    _code, out, _ = _sweep(
        capsys, small, "--grid", "model.width=[32, 64, 128]", "--grid", "data.n=[6, 8, 12]",
        "--seeds", "3", "--fit", "-j", "1", "-f", "text",
    )  # fmt: skip
    line = next(ln for ln in out.splitlines() if ln.startswith("gamma_star.lecture  model.width"))
    lecture_width = next(
        f for f in fits if f["quantity"] == "gamma_star.lecture" and f["axis"] == "model.width"
    )
    assert f"{lecture_width['exponent']:.3g}"[:4] in line and line.rstrip().endswith("-1.00")


def test_linked_axes_are_one_regressor(capsys, small):
    _code, doc, _ = _rows(
        capsys, small, "--grid", "data.n,data.d=[[6, 6], [8, 8], [12, 12]]",
        "--grid", "model.width=[32, 64]", "--fit", "-j", "1",
    )  # fmt: skip
    by_axis = {f["axis"]: f for f in doc["fits"] if f["quantity"] == "gamma_star.path"}
    assert set(by_axis) == {"data.n", "model.width"}
    assert by_axis["data.n"]["collinear"] == ["data.d"]


def test_lecture_gamma_star_scales_like_one_over_width(capsys, spec_file):
    """tanh, Gaussian inputs, symmetric init, d = n, widths 256..4096: γ* ∝ N^{−1} (§4)."""
    spec = spec_file(
        "gamma: 1.0\ndata: {n: 16, d: 16, inputs: gaussian}\n"
        "model: {width: 256, activation: tanh, init: symmetric}\n"
    )
    _code, doc, _ = _rows(
        capsys, spec, "--grid", "model.width=logspace(8, 12, 5, base=2)", "--seeds", "3",
        "--fit", "-j", "1",
    )  # fmt: skip
    (fit,) = [f for f in doc["fits"] if f["quantity"] == "gamma_star.lecture"]
    assert fit["axis"] == "model.width" and fit["points"] == 5
    assert abs(fit["exponent"] + 1.0) < 0.05
    assert fit["ci_low"] <= fit["exponent"] <= fit["ci_high"]


# ------------------------------------------------------------------------------ flow


def _time_to(t, loss, target):
    """Independent: the first crossing of ``target``, log-linear between checkpoints."""
    for k in range(len(loss)):
        if loss[k] <= target:
            if k == 0 or loss[k] <= 0:
                return t[k]
            a, b = math.log(loss[k - 1]), math.log(loss[k])
            return t[k - 1] + (t[k] - t[k - 1]) * (math.log(target) - a) / (b - a)
    return None


def test_flow_rows_agree_with_simulate_and_the_lazy_threshold(capsys, spec_file, tmp_path):
    spec = spec_file(FLOW)
    plot = tmp_path / "sweep.png"
    _code, doc, _ = _rows(
        capsys, spec, "--grid", "gamma=[0.3, 3, 30]", "--grid", "model.width=[32, 64]",
        "--measure", "flow", "--fit", "--lazy-tol", "1e-3", "-j", "1", "--plot", plot,
    )  # fmt: skip
    rows = doc["rows"]
    assert len(rows) == 6
    for r in rows:
        argv = ["simulate", str(spec), "-f", "json", f"--gamma={r['gamma']}",
                f"--set=model.width={r['model.width']}"]  # fmt: skip
        main(argv)
        c = json.loads(capsys.readouterr().out)["results"][0]
        sim = c["simulation"]
        assert r["flow.kernel_change_max"] == max(sim["kernel_change"])
        assert r["flow.weight_change_max"] == max(sim["weight_change"])
        assert r["flow.gap_max"] == max(sim["gap"])
        assert r["flow.final_loss"] == sim["loss"][-1]
        target = 1e-8 * c["estimate"]["loss0"]
        expected = _time_to(sim["t"], sim["loss"], target)
        assert r["flow.time_to_tol"] == pytest.approx(expected, rel=1e-12)
        assert r["gamma_star.path"] == c["certificates"]["path"]["gamma_star"]
    # the threshold: the smallest γ from which on both relative measures are below tol
    for t in doc["lazy_thresholds"]:
        width = t["at"]["model.width"]
        mine = sorted((r for r in rows if r["model.width"] == width), key=lambda r: r["gamma"])
        lazy = [
            r["flow.kernel_change_max"] < 1e-3
            and r["flow.gap_max"] / math.sqrt(2 * r["loss0"]) < 1e-3
            for r in mine
        ]
        first = next((i for i in range(len(lazy)) if all(lazy[i:])), None)
        assert t["gamma_lazy"] == (mine[first]["gamma"] if first is not None else None)
    assert any(t["gamma_lazy"] == 3.0 for t in doc["lazy_thresholds"])
    assert {f["quantity"] for f in doc["fits"]} >= {"flow.kernel_change_max", "flow.gap_max"}
    assert plot.stat().st_size > 10_000


# --------------------------------------------------------------------- files, resume


def _read(path):
    if path.suffix == ".csv":
        import csv

        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_rows_files_resume_computing_only_missing_rows(capsys, small, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    first = ["--grid", "model.width=[32, 64]", "--seeds", "2", "-j", "1", "-o", out]
    code, doc1, _ = _rows(capsys, small, *first)
    assert len(_read(out)) == 4
    wider = ["--grid", "model.width=[32, 64, 128]", "--seeds", "2", "-j", "1", "-o", out]
    code, doc2, err = _rows(capsys, small, *wider)
    assert code in (0, 1) and "4 of 6 points already in" in err and "computing 2" in err
    stored = _read(out)
    assert len(stored) == 6
    assert len({(str(r["spec_hash"]), str(r["seed"])) for r in stored}) == 6
    assert doc2["rows"][:4] == doc1["rows"]  # read back exactly, timing included
    # the stored rows read back equal the printed ones (types included)
    _code, doc3, err = _rows(capsys, small, *wider)
    assert "computing 0" in err and doc3["rows"] == doc2["rows"]
    if suffix == ".parquet":
        assert not out.with_name(out.name + ".parts").exists()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_row_cut_short_by_a_kill_is_dropped(capsys, small, tmp_path, suffix):
    out = tmp_path / f"rows{suffix}"
    argv = ["--grid", "model.width=[32, 64]", "-j", "1", "-o", out]
    _rows(capsys, small, *argv)
    text = out.read_text()
    out.write_text(text[: len(text) - 25])  # the last row half-written
    _code, _doc, err = _rows(capsys, small, *argv)
    assert "1 of 2 points already in" in err
    assert len(_read(out)) == 2


def test_parquet_parts_left_by_a_kill_are_merged(capsys, small, tmp_path):
    pytest.importorskip("pyarrow")
    from ntkcheck.io.rows import open_rows

    out = tmp_path / "rows.parquet"
    argv = ["--grid", "model.width=[32, 64, 128]", "-j", "1", "-o", out]
    code, doc, _ = _rows(capsys, small, *argv)
    assert code in (0, 1)
    out.unlink()
    # a sweep killed after two rows: parts written, never merged
    source = SpecSource(small.read_text(), str(small), str(small.parent))
    plan = plan_sweep(source, {}, resolve_axes(source.parse({}), argv[1:2], None))
    from ntkcheck.report.document import sweep_column_types, sweep_columns

    killed = open_rows(out, sweep_columns(plan.grid_keys, False), sweep_column_types(plan, False))
    for row in doc["rows"][:2]:
        killed.append(row)
    assert not out.exists() and len(list(out.with_name("rows.parquet.parts").iterdir())) == 2
    _code, doc2, err = _rows(capsys, small, *argv)
    assert "2 of 3 points already in" in err and len(_read(out)) == 3
    assert _untimed(doc2["rows"]) == _untimed(doc["rows"])


def test_a_file_of_another_sweep_is_refused(capsys, small, tmp_path):
    out = tmp_path / "rows.csv"
    _rows(capsys, small, "--grid", "model.width=[32, 64]", "-j", "1", "-o", out)
    code, _out_text, err = _sweep(capsys, small, "--grid", "data.n=[6, 8]", "-j", "1", "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds rows of another sweep (it has model.width; it lacks data.n)" in err


def test_missing_extras_are_named(capsys, small, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, _, err = _sweep(capsys, small, "--seeds", "2", "-o", tmp_path / "r.parquet")
    assert code == 2 and 'pip install "ntkcheck[parquet]"' in err
    code, _, err = _sweep(capsys, small, "--seeds", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and 'pip install "ntkcheck[dask]"' in err


def _sweep_command(spec, out, jobs=1):
    return [sys.executable, "-m", "ntkcheck", "sweep", str(spec), "-j", str(jobs), "-f", "json",
            "--grid", "model.width=[32, 64, 128, 256]", "--grid", "data.n=[8, 12, 16, 24, 32]",
            "--seeds", "3", "-o", str(out)]  # fmt: skip


def test_killed_sweep_resumes_with_no_missing_or_duplicated_rows(spec_file, tmp_path):
    spec = spec_file(SMALL.replace("{n: 8, d: 3}", "{n: 8, d: 8}"))
    out = tmp_path / "rows.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        _sweep_command(spec, out), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= 4:  # header + 3 rows
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = len(out.read_text().splitlines()) - 1
    assert 3 <= killed < 60, "the sweep was not killed mid-way"
    done = subprocess.run(_sweep_command(spec, out), env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    stored = _read(out)
    keys = [(r["spec_hash"], r["seed"]) for r in stored]
    assert len(stored) == 60 and len(set(keys)) == 60
    fresh = subprocess.run(
        _sweep_command(spec, tmp_path / "fresh.csv"), env=env, capture_output=True, text=True
    )
    assert _untimed(json.loads(done.stdout)["rows"]) == _untimed(json.loads(fresh.stdout)["rows"])


# ------------------------------------------------------------------------- backends


def test_worker_processes_and_dask_give_identical_rows(capsys, small, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from threadpoolctl import threadpool_limits

    for name in THREAD_VARIABLES:  # the in-process workers set them: restored
        monkeypatch.delenv(name, raising=False)

    argv = [small, "--grid", "model.width=[32, 64]", "--grid", "gamma=[1, 100]", "--seeds", "2"]
    code, local, _ = _rows(capsys, *argv, "--jobs", "2", "--threads", "1")
    with (
        threadpool_limits(limits=None),  # restores this process's BLAS threads afterwards
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
    ):
        code2, remote, _ = _rows(capsys, *argv, "--scheduler", cluster.scheduler_address)
    assert code == code2
    assert _untimed(local["rows"]) == _untimed(remote["rows"])
    serial = _rows(capsys, *argv, "--jobs", "1", "--threads", "1")[1]
    assert _untimed(serial["rows"]) == _untimed(local["rows"])
    # forked workers (Linux) and spawned ones (elsewhere) compute the same rows
    assert processes.start_method() == ("fork" if sys.platform == "linux" else "spawn")
    monkeypatch.setattr(processes, "start_method", lambda: "spawn")
    spawned = _rows(capsys, *argv, "--jobs", "2", "--threads", "1")[1]
    assert _untimed(spawned["rows"]) == _untimed(local["rows"])


def test_rows_serialize_every_column(small):
    source = SpecSource(small.read_text(), str(small), str(small.parent))
    plan = plan_sweep(source, {}, resolve_axes(source.parse({}), ["gamma=[1, 2]"], None))
    (outcome, *_) = execute(tasks(plan, plan.points, Options()), jobs=1)
    row = sweep_row(outcome, plan.grid_keys, False)
    assert list(row)[:4] == ["seed", "outputs", "status", "gamma"]
    assert row["outputs"] == 1
    assert list(row)[-2:] == ["spec_hash", "ntkcheck_version"]
    assert {k for k in row if k.startswith("timing.")} == {
        "timing.problem", "timing.estimate", "timing.certify", "timing.total",
    }  # fmt: skip


def test_an_empty_range_is_refused():
    with pytest.raises(GridError, match="is empty"):
        evaluate("range(0)", "--grid seed")


def _wait_for(predicate, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_ctrl_c_merges_the_parquet_parts(spec_file, tmp_path):
    pytest.importorskip("pyarrow")
    spec = spec_file(SMALL.replace("{n: 8, d: 3}", "{n: 8, d: 8}"))
    out = tmp_path / "rows.parquet"
    parts = tmp_path / "rows.parquet.parts"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        _sweep_command(spec, out), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert _wait_for(lambda: parts.is_dir() and len(list(parts.glob("part-*"))) >= 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "rerun the same command to resume" in err
    assert out.exists() and not parts.exists()
    assert 2 <= len(_read(out)) < 60


def test_a_dead_worker_loses_its_points_and_a_rerun_computes_them(spec_file, tmp_path):
    spec = spec_file(SMALL.replace("{n: 8, d: 3}", "{n: 8, d: 8}"))
    out = tmp_path / "rows.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = _sweep_command(spec, out, jobs=2)
    proc = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def workers():
        found = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split()]  # forked workers, or spawned ones
        return [p for p in pids if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()]

    assert _wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 3)
    os.kill(workers()[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    written = len(_read(out))
    assert proc.returncode == 2 and "not computed (a worker died)" in err
    assert written < 60
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    assert f"{written} of 60 points already in" in done.stderr
    stored = _read(out)
    assert len(stored) == 60 and len({(r["spec_hash"], r["seed"]) for r in stored}) == 60


def test_closing_the_outcomes_before_the_first_stops_the_workers():
    """A sweep stopped before its first outcome (Ctrl-C while the progress bar loads)
    must not leave its workers computing every submitted point: after close() they
    finish the points in hand and exit, long before the whole sweep could have run."""
    import multiprocessing
    import time as _time

    source = sweep_module.SpecSource.read(None)
    overrides = {"data.n": 256, "data.d": 32, "model.width": 4096}
    axes = sweep_module.resolve_axes(source.parse(overrides), [], 60)
    plan = sweep_module.plan_sweep(source, overrides, axes)
    work = sweep_module.tasks(plan, plan.points, sweep_module.Options(threads=1))
    start = _time.perf_counter()
    sweep_module.execute(work, jobs=2).close()
    while multiprocessing.active_children():
        _time.sleep(0.01)
    stopped = _time.perf_counter() - start
    start = _time.perf_counter()
    with sweep_module.execute(work, jobs=2) as outcomes:
        assert len(list(outcomes)) == 60
    full = _time.perf_counter() - start
    assert stopped < 0.5 * full, (stopped, full)


def test_a_plot_along_linked_axes(capsys, small, tmp_path):
    """Linked axes (n and width varied together) are one collinear fit: the plot draws
    the fitted line with the exponent along its x axis (it raised StopIteration)."""
    pytest.importorskip("matplotlib")
    plot = tmp_path / "linked.png"
    code, doc, err = _rows(
        capsys, small, "--grid", "data.n,model.width=[[8, 64], [16, 128], [32, 256]]",
        "--fit", "--plot", plot,
    )  # fmt: skip
    assert code in (0, 1) and "internal error" not in err
    assert plot.stat().st_size > 0 and len(doc["rows"]) == 3


def test_an_axis_of_list_values_sweeps_and_resumes(capsys, spec_file, tmp_path):
    """A key that holds a list (mlp's model.widths; data.classes) is an axis of lists: the
    rows hold the lists (also after a resume from CSV, which keeps only the identity) and
    carry ``outputs``; the fits treat the axis as categorical."""
    spec = spec_file(
        "seed: 0\ngamma: 5000.0\ndata: {n: 6, d: 4}\n"
        "model: {architecture: mlp, widths: [8], activation: tanh}\n"
    )
    out = tmp_path / "rows.csv"
    code, first, _ = _rows(capsys, spec, "--grid", "model.widths=[[8], [12]]", "-j", "1", "-o", out)
    assert code in (0, 1) and [r["model.widths"] for r in first["rows"]] == [[8], [12]]
    code, again, err = _rows(
        capsys, spec, "--grid", "model.widths=[[8], [12], [8, 8]]", "-j", "1", "-o", out, "--fit"
    )
    assert "2 of 3 points already" in err
    assert [r["model.widths"] for r in again["rows"]] == [[8], [12], [8, 8]]
    assert [r["outputs"] for r in again["rows"]] == [1, 1, 1]
    assert _untimed(again["rows"][:2]) == _untimed(first["rows"])
