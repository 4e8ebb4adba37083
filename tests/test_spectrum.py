"""Iterative spectrum (explicit and matrix-free) against dense eigvalsh; the memory plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ntkcheck import build_problem, example_spec, load_spec
from ntkcheck.cli import main
from ntkcheck.errors import EstimationError
from ntkcheck.models.two_layer.memory import (
    BLOCK_VALUES,
    certify_peak_bytes,
    matrix_free_peak_bytes,
)
from ntkcheck.run.measure import measure_spectrum

from .conftest import SPECS

CASES = [
    "seed: 3\ngamma: 1\ndata: {n: 150, d: 6}\nmodel: {width: 400, activation: gelu, init: gaussian}\n",
    "seed: 4\ngamma: 1\ndata: {n: 90, d: 20, inputs: gaussian}\nmodel: {width: 64, activation: sin, scaling: ntk}\n",
]


def _limit_between(p) -> int:
    """A memory limit where K0 does not fit but the matrix-free products do."""
    n, d, N = p.X.shape[0], p.X.shape[1], p.model.width
    both = matrix_free_peak_bytes(n, d, N, BLOCK_VALUES) + certify_peak_bytes(n, d, N, BLOCK_VALUES)
    return int(both / 2 / 0.8)


@pytest.mark.parametrize("text", CASES)
def test_iterative_matches_dense(spec_file, monkeypatch, text):
    p = build_problem(load_spec(spec_file(text)))
    dense = measure_spectrum(p, method="dense")[0]
    explicit = measure_spectrum(p, method="iterative")[0]
    assert explicit.operator == "explicit"
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", str(_limit_between(p)))
    free = measure_spectrum(p, method="auto")[0]
    assert free.method == "iterative" and free.operator == "matrix-free"
    for it in (explicit, free):
        assert it.sigma_min == pytest.approx(dense.sigma_min, rel=1e-6)
        assert it.sigma_max == pytest.approx(dense.sigma_max, rel=1e-6)
        assert it.residual_max <= 1e-8 * it.eig_max and it.n_matvec > 0
        # the reported residual bounds the eigenvalue error (symmetric K0)
        assert abs(it.eig_min - dense.eig_min) <= it.residual_min + 1e-10 * dense.eig_max
    with pytest.raises(EstimationError, match="use --spectrum iterative"):
        measure_spectrum(p, method="dense")[0]


def test_matrix_free_operator_with_and_without_the_cached_factor():
    import numpy as np

    p = build_problem(example_spec())
    K = p.model.gram(p.X)
    v = np.random.default_rng(0).standard_normal(K.shape[0])
    for cache in (True, False):
        Kv = p.model.gram_operator(p.X, cache=cache)(v)
        np.testing.assert_allclose(Kv, K @ v, rtol=1e-12, atol=1e-12 * np.abs(K @ v).max())


def test_cli_spectrum_option(capsys):
    assert main(["certify", "--spectrum", "iterative", "-f", "json"]) == 0
    est = json.loads(capsys.readouterr().out)["results"][0]["estimate"]
    assert est["spectrum_method"] == "iterative" and est["spectrum"]["n_matvec"] > 0
    assert main(["certify", "--spectrum", "dense", "-f", "json"]) == 0
    dense = json.loads(capsys.readouterr().out)["results"][0]["estimate"]
    assert est["sigma_min"] == pytest.approx(dense["sigma_min"], rel=1e-6)


def test_auto_is_dense_for_small_problems():
    p = build_problem(example_spec())
    assert measure_spectrum(p)[0].method == "dense"
    assert measure_spectrum(build_problem(load_spec(SPECS / "from-file.yaml")))[0].method == "dense"


def test_thread_policy(monkeypatch):
    """Never more threads than usable cores; one for small eigensolvers; an override."""
    from ntkcheck.linalg import threads

    monkeypatch.delenv("NTKCHECK_THREADS", raising=False)
    cores = threads.usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert threads.threads_for("gram") == cores
    assert threads.threads_for("gram", 1 << 20) == 1  # a small Gram: one thread
    assert threads.threads_for("eigen", 64) == 1
    assert threads.threads_for("eigen", 10 * threads.SMALL_N) == cores
    assert threads.threads_for("rhs", 1000) == 1
    monkeypatch.setenv("NTKCHECK_THREADS", "1")
    assert threads.threads_for("gram") == 1
    monkeypatch.setenv("NTKCHECK_THREADS", "4096")
    assert threads.threads_for("gram") == cores  # capped at the usable cores


def test_blas_threads_limits_every_loaded_blas():
    from threadpoolctl import threadpool_info

    from ntkcheck.linalg.threads import blas_threads

    with blas_threads(1):
        pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert pools and all(p["num_threads"] == 1 for p in pools)


def test_blas_threads_limits_a_blas_loaded_after_its_first_use():
    """SciPy's OpenBLAS loads only for problems beyond NumPy's path: a limit set after it
    loads must reach it although the library survey was made before."""
    code = (
        "from threadpoolctl import threadpool_info\n"
        "from ntkcheck.linalg.threads import blas_threads\n"
        "with blas_threads(1):\n"
        "    pass\n"
        "import scipy.linalg\n"
        "with blas_threads(1):\n"
        "    pools = [p for p in threadpool_info() if p['user_api'] == 'blas']\n"
        "    print(len(pools), all(p['num_threads'] == 1 for p in pools))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "NTKCHECK_THREADS": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    count, limited = out.stdout.split()
    assert int(count) >= 1 and limited == "True", out.stderr


def test_report_says_how_many_threads_ran(capsys):
    assert main(["certify", "-f", "json"]) == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["threads"]["eigen"] == 1 and r["threads"]["gram"] >= 1
