"""``linalg.threads``: usable cores, the thread policy, and the sweep workers' caps
(direct tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from ntkcheck.errors import NtkcheckError
from ntkcheck.linalg import threads
from ntkcheck.linalg.threads import (
    SMALL_GRAM,
    SMALL_N,
    SMALL_RHS,
    THREAD_VARIABLES,
    thread_override,
    threads_capped,
    threads_for,
    usable_cores,
)


@pytest.fixture
def cores(monkeypatch):
    """Pretend the machine has ``k`` usable cores."""

    def set_cores(k: int) -> None:
        monkeypatch.setattr(threads, "usable_cores", lambda: k)

    monkeypatch.delenv("NTKCHECK_THREADS", raising=False)
    return set_cores


def test_usable_cores_is_the_affinity_mask_and_the_cgroup_quota(monkeypatch):
    usable_cores.cache_clear()
    try:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
        monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
        assert usable_cores() == 4
        usable_cores.cache_clear()
        monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)  # 150 ms per 100 ms
        assert usable_cores() == 2
        usable_cores.cache_clear()
        monkeypatch.setattr(threads, "_cgroup_quota", lambda: 0.2)
        assert usable_cores() == 1
    finally:
        usable_cores.cache_clear()


def test_the_cgroup_v2_quota_is_read(monkeypatch, tmp_path):
    cpu_max = tmp_path / "cpu.max"
    real = Path

    def fake_path(name):
        return cpu_max if name == "/sys/fs/cgroup/cpu.max" else real(tmp_path / "absent")

    monkeypatch.setattr(threads, "Path", fake_path)
    cpu_max.write_text("150000 100000\n")
    assert threads._cgroup_quota() == 1.5
    cpu_max.write_text("max 100000\n")
    assert threads._cgroup_quota() is None


def test_thread_override(monkeypatch):
    monkeypatch.delenv("NTKCHECK_THREADS", raising=False)
    assert thread_override() is None
    monkeypatch.setenv("NTKCHECK_THREADS", " 3 ")
    assert thread_override() == 3
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("NTKCHECK_THREADS", bad)
        with pytest.raises(NtkcheckError, match="is not a number of threads"):
            thread_override()


def test_the_policy_small_work_on_one_thread_large_on_all(cores):
    cores(4)
    assert threads_for("gram", SMALL_GRAM) == 1 and threads_for("gram", SMALL_GRAM + 1) == 4
    assert threads_for("gram") == 4  # size unknown: all cores
    assert threads_for("eigen", SMALL_N) == 1 and threads_for("eigen", SMALL_N + 1) == 4
    assert threads_for("rhs", SMALL_RHS) == 1 and threads_for("rhs", SMALL_RHS + 1) == 4


def test_the_override_sets_every_count_up_to_the_usable_cores(cores, monkeypatch):
    cores(2)
    monkeypatch.setenv("NTKCHECK_THREADS", "1")
    assert {threads_for(t, s) for t in ("gram", "eigen", "rhs") for s in (0, 1 << 40)} == {1}
    monkeypatch.setenv("NTKCHECK_THREADS", "8")
    assert threads_for("eigen", 10) == 2


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_threads_capped_sets_and_restores_the_environment_and_the_libraries(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    before = _blas_threads()
    with threads_capped(1):
        assert {os.environ[name] for name in THREAD_VARIABLES} == {"1"}
        assert thread_override() == 1
        assert _blas_threads() <= {1}
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert all(name not in os.environ for name in THREAD_VARIABLES if name != "OMP_NUM_THREADS")
    assert _blas_threads() == before
    with threads_capped(None):  # as is
        assert os.environ["OMP_NUM_THREADS"] == "7" and _blas_threads() == before
