"""``run.measure``: (H2) and its causes in order, σ bounds labelled by how they were
proved, the estimate at γ and its properties (the end-to-end numbers against a dense
computation are in test_estimate.py)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from ntkcheck.errors import EstimationError
from ntkcheck.io.example import example_spec
from ntkcheck.linalg.spectrum import Spectrum
from ntkcheck.models.protocol import BetaSummary, GramError, Obstruction
from ntkcheck.run.job import measure_spec
from ntkcheck.run.measure import (
    Estimate,
    _bounds_dense,
    _bounds_iterative,
    _repeated_rows,
    check_full_rank,
    estimate_at,
    measure,
)
from ntkcheck.run.settings import RunSettings

SMALL = {"data.n": 12, "data.d": 4, "model.width": 64}


def _problem(X, params=100, obstruction=None):
    model = SimpleNamespace(n_params=params, obstruction=lambda X: obstruction)
    return SimpleNamespace(X=np.asarray(X, float), n=len(X), outputs=1, rows=len(X), model=model)


GOOD = Spectrum(eig_min=1.0, eig_max=4.0, rank_tol=1e-12)


def test_repeated_rows_finds_the_first_pair():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [3.0, 4.0], [1.0, 2.0]])
    assert _repeated_rows(X) in {(0, 4), (1, 3)}
    i, j = _repeated_rows(X)
    assert i < j and np.array_equal(X[i], X[j])
    assert _repeated_rows(np.eye(3)) is None


def test_full_rank_causes_in_their_order():
    """P < n first, then repeated inputs, the family's obstruction, J0 = 0, the rank."""
    X = [[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    fr = check_full_rank(_problem(X, params=2), GOOD)
    assert (fr.holds, fr.code, fr.data) == (False, "underparametrized", {"params": 2, "n": 3})
    fr = check_full_rank(_problem(X), GOOD)
    assert (fr.code, fr.data) == ("repeated_inputs", {"i": 0, "j": 1})
    X = [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    fr = check_full_rank(_problem(X, obstruction=Obstruction("zero_input", 2)), GOOD)
    assert (fr.code, fr.data) == ("zero_input", {"i": 2})
    zero = Spectrum(eig_min=0.0, eig_max=0.0, rank_tol=0.0)
    assert check_full_rank(_problem(X), zero).code == "zero_jacobian"
    low = Spectrum(eig_min=1e-15, eig_max=2.0, rank_tol=1e-13)
    fr = check_full_rank(_problem(X), low)
    assert (fr.code, fr.data) == ("numerical_rank", {"ratio": 5e-16, "n": 3})
    assert check_full_rank(_problem(X), GOOD).holds


def test_bounds_without_a_rigorous_gram_error_are_the_eigenvalues_labelled():
    b = _bounds_dense(GOOD, 10, GramError(1e-9, rigorous=False), None)
    assert (b.sigma_min_lower, b.sigma_max_upper) == (1.0, 2.0)
    assert (b.method, b.rigorous, b.gram_error) == ("unproved", False, 1e-9)
    b = _bounds_iterative(GOOD, GramError(1e-9, rigorous=False), np.eye(2))
    assert (b.method, b.rigorous) == ("lanczos", False)


def test_dense_bounds_enclose_the_eigenvalues_by_the_errors():
    """Weyl: λ_min − E ≤ λ_min(K0), λ_max(K0) ≤ λ_max + E, with E ≥ E_K."""
    E_K = 1e-3
    b = _bounds_dense(GOOD, 10, GramError(E_K), None)
    assert b.method == "dense" and b.rigorous and b.gram_error == E_K
    assert b.sigma_min_lower <= math.sqrt(1.0 - E_K)
    assert b.sigma_min_lower > math.sqrt(1.0 - 2 * E_K)  # E_eig ≪ E_K here
    assert b.sigma_max_upper >= math.sqrt(4.0 + E_K)


def test_dense_bounds_proved_by_cholesky():
    K = np.diag([1.0, 2.0, 4.0])
    spectrum = Spectrum(eig_min=1.0, eig_max=4.0, rank_tol=1e-15)
    b = _bounds_dense(spectrum, 3, GramError(0.0), K)
    assert b.method == "dense+cholesky" and b.rigorous
    assert 0.99 < b.sigma_min_lower <= 1.0


def test_iterative_bounds_are_proved_on_the_formed_gram_only():
    K = np.diag([1.0, 2.0, 4.0])
    spectrum = Spectrum(eig_min=1.0, eig_max=4.0, rank_tol=1e-15, method="lanczos")
    b = _bounds_iterative(spectrum, GramError(0.0), K)
    assert b.method == "cholesky" and b.rigorous
    assert b.sigma_min_lower <= 1.0 <= 2.0 <= b.sigma_max_upper
    b = _bounds_iterative(spectrum, GramError(0.0), None)  # matrix-free: estimates
    assert (b.method, b.rigorous, b.sigma_min_lower, b.sigma_max_upper) == (
        "lanczos", False, 1.0, 2.0,
    )  # fmt: skip


@pytest.fixture(scope="module")
def measured():
    return measure_spec(example_spec({**SMALL, "model.init": "gaussian"}), RunSettings())


def test_the_measurement_is_gamma_free_and_l0_is_at_gamma(measured):
    p, m = measured.problem, measured.measurement
    f0 = p.f0_trained
    assert m.f0_norm == pytest.approx(np.linalg.norm(f0), rel=1e-15)
    assert m.y_norm == pytest.approx(np.linalg.norm(p.y), rel=1e-15)
    assert m.f0_dot_y == pytest.approx(f0 @ p.y, rel=1e-12)
    for gamma in (0.1, 10.0):
        est = estimate_at(p, m, gamma)
        assert est.measurement is m
        assert est.loss0 == pytest.approx(0.5 * np.sum((gamma * f0 - p.y) ** 2), rel=1e-12)


def test_an_overflowing_l0_is_one_line(measured):
    with np.errstate(over="ignore"), pytest.raises(EstimationError, match=r"overflows float64"):
        estimate_at(measured.problem, measured.measurement, 1e300)


def test_estimate_properties_read_the_measurement(measured):
    est = estimate_at(measured.problem, measured.measurement, 1.0)
    m = measured.measurement
    assert est.sigma_min == m.spectrum.sigma_min and est.sigma_max == m.spectrum.sigma_max
    assert est.condition_number == pytest.approx(est.sigma_max / est.sigma_min, rel=1e-15)
    assert est.beta == m.beta.beta and est.beta_bound == m.beta.bound
    assert est.drift_bound == m.drift.kind and est.sigma_bounds is m.bounds
    assert est.beta_bounds == dict(m.beta.bounds) and est.beta_local is None


def test_local_beta_replaces_the_analytic_one_and_is_labelled():
    summary = BetaSummary(3.0, "frobenius", {"frobenius": 3.0}, 1.0)
    m = SimpleNamespace(beta_method="local", beta_local=0.5, beta=summary)
    est = Estimate(measurement=m, loss0=1.0)  # type: ignore[arg-type]
    assert (est.beta, est.beta_bound) == (0.5, "local")
    zero = SimpleNamespace(spectrum=Spectrum(eig_min=0.0, eig_max=1.0, rank_tol=0.0))
    assert Estimate(measurement=zero, loss0=1.0).condition_number == math.inf  # type: ignore[arg-type]


def test_measure_refuses_an_unknown_beta_method(measured):
    with pytest.raises(EstimationError, match=r"certify\.beta: 'other' is not one of"):
        measure(measured.problem, beta="other")
