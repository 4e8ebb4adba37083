"""linalg.dense: the NumPy path (small orders, no SciPy import) and the SciPy path
(large orders, in place) compute the same kernels; the certificate does not depend on
which ran. The SciPy path is forced by setting NUMPY_MAX_N = 0."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ntkcheck.io.example import example_spec
from ntkcheck.linalg import dense, rigorous
from ntkcheck.run.job import certify_spec

from .conftest import explicit_jacobian, random_network


@pytest.fixture(params=["numpy", "scipy"])
def path(request, monkeypatch):
    if request.param == "scipy":
        monkeypatch.setattr(dense, "NUMPY_MAX_N", 0)
    return request.param


def test_kernels_match_their_definitions(path):
    rng = np.random.default_rng(0)
    n, k = 23, 40
    A = rng.standard_normal((k, n))
    G = dense.new_gram(n)
    G = dense.syrk_into(G, A[:17], 0.5)
    G = dense.syrk_into(G, A[17:], 0.5)
    G = dense.symmetric_from(G)
    assert G.flags.c_contiguous
    np.testing.assert_allclose(G, 0.5 * A.T @ A, rtol=1e-13, atol=1e-13 * np.abs(A).max() ** 2 * k)
    np.testing.assert_array_equal(G, G.T)
    X = rng.standard_normal((n, 5))
    XX = dense.symmetric_from(np.array(dense.gram_rows(X), order="F" if path == "scipy" else "C"))
    np.testing.assert_allclose(XX, X @ X.T, rtol=1e-13, atol=1e-13 * 5 * np.abs(X).max() ** 2)
    np.testing.assert_allclose(dense.matmul_nt(A[:, :5], X), A[:, :5] @ X.T, rtol=1e-13, atol=1e-12)
    lam = dense.eigvalsh(G.copy())
    ref = np.linalg.eigvalsh(0.5 * A.T @ A)
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-12 * ref[-1])
    assert dense.largest_singular_value(X) == pytest.approx(np.linalg.norm(X, 2), rel=1e-13)


def test_cholesky_succeeds_decides_definiteness(path):
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    lam = np.linspace(1.0, 2.0, 30)
    K = (Q * lam) @ Q.T
    K = (K + K.T) / 2
    assert dense.cholesky_succeeds(np.array(K, order="F"))
    assert not dense.cholesky_succeeds(np.array(K - 1.5 * np.eye(30), order="F"))
    assert not dense.cholesky_succeeds(np.full((3, 3), np.nan, order="F"))
    # the proofs built on it: λ_min = 1 proved above 1 − 1e-6, not above 1 + 1e-6
    assert rigorous.cholesky_proves(K, 1.0 - 1e-6, 0.0)
    assert not rigorous.cholesky_proves(K, 1.0 + 1e-6, 0.0)
    assert rigorous.cholesky_proves_upper(K, 2.0 + 1e-6, 0.0)
    assert not rigorous.cholesky_proves_upper(K, 2.0 - 1e-6, 0.0)


@pytest.mark.parametrize("name", ["tanh", "relu"])
def test_two_layer_gram_is_the_same_on_both_paths(monkeypatch, name):
    net, X = random_network(name, n=31, d=4, N=57, seed=7)
    K_numpy = net.gram(X)
    monkeypatch.setattr(dense, "NUMPY_MAX_N", 0)
    K_scipy = net.gram(X)
    J = explicit_jacobian(net, X)
    scale = np.abs(J).max() ** 2 * J.shape[1]
    np.testing.assert_allclose(K_numpy, K_scipy, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(K_numpy, J @ J.T, rtol=0, atol=1e-13 * scale)


def test_certificate_does_not_depend_on_the_path(monkeypatch):
    a = certify_spec(example_spec())
    monkeypatch.setattr(dense, "NUMPY_MAX_N", 0)
    b = certify_spec(example_spec())
    ma, mb = a.estimate.measurement, b.estimate.measurement
    assert ma.bounds.method == mb.bounds.method == "dense+cholesky"
    assert ma.spectrum.eig_min == pytest.approx(mb.spectrum.eig_min, rel=1e-11)
    assert ma.spectrum.eig_max == pytest.approx(mb.spectrum.eig_max, rel=1e-12)
    assert ma.bounds.sigma_min_lower == pytest.approx(mb.bounds.sigma_min_lower, rel=1e-9)
    assert a.certificate.status == b.certificate.status


def test_certify_of_a_small_problem_imports_no_scipy():
    code = (
        "import sys\n"
        "from ntkcheck.cli.app import main\n"
        "assert main(['certify', '-f', 'json']) == 0\n"
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_kernels_read_only_the_upper_triangle(path):
    """K's upper triangle defines the matrix (BLAS syrk fills only it): whatever lies below
    the diagonal must not change an eigenvalue or a proof."""
    rng = np.random.default_rng(2)
    n = 12
    V = rng.standard_normal((n, 30))
    K = V @ V.T
    lam = np.linalg.eigvalsh(K)
    garbage = np.triu(K) - 50.0 * np.tril(np.ones((n, n)), -1)  # below: far from K
    np.testing.assert_allclose(dense.eigvalsh(garbage.copy()), lam, rtol=0, atol=1e-12 * lam[-1])
    assert dense.cholesky_succeeds(np.array(garbage, order="F"))
    indefinite = np.triu(K - 2.0 * lam[0] * np.eye(n) - 1e-3 * lam[-1] * np.eye(n))
    indefinite += np.tril(K, -1)  # below: the definite matrix
    assert not dense.cholesky_succeeds(np.array(indefinite, order="F"))


def test_an_upper_only_matrix_proves_no_bound_below_its_largest_eigenvalue(path):
    """The mlp family proves ‖W‖²_op from the upper triangle of W Wᵀ (lower triangle
    zero): an estimate 10% low must not be 'proved' an upper bound."""
    rng = np.random.default_rng(4)
    V = rng.standard_normal((20, 50))
    M = np.triu(V @ V.T)
    top = float(np.linalg.eigvalsh(V @ V.T)[-1])
    assert rigorous.proven_upper_bound(M, 0.9 * top, 0.0) is None
    proved = rigorous.proven_upper_bound(M, top, 0.0)
    assert proved is not None and top <= proved <= top * (1 + 1e-5)
    assert not rigorous.cholesky_proves_upper(M, 0.99 * top, 0.0)
    low = float(np.linalg.eigvalsh(V @ V.T)[0])
    assert not rigorous.cholesky_proves(M, 1.01 * low, 0.0)
    assert rigorous.cholesky_proves(M, 0.99 * low, 0.0)
