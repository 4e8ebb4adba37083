"""ntkcheck.linalg.rigorous and the two-layer Gram's rounding analysis
(ntkcheck.models.two_layer.rounding, THEORY.md §11) against independent references.

References, built here and sharing no code with the product:
- mpmath at 50 digits (n ≤ 12): the float64 X, W, s are taken as exact, z = ⟨w_i, x_j⟩
  and σ'(z) are evaluated in mpmath, K0 = (X Xᵀ) ⊙ (S Sᵀ) and its eigenvalues too, so
  λ_min(K0) is known to ~1e-45 relative — far below every bound tested.
- x87 extended precision (np.longdouble, u_ld = 2⁻⁶⁴ = u/2048) for larger n: K_ld is
  formed like K̂0 with u replaced by u_ld, so ‖K_ld − K0‖₂ ≤ E_ld := 2·E_K/2048 (E_K is
  linear in u; factor 2 of slack; valid as long as no entry sits at a kink of σ', which
  `_no_kink_entries` checks). λ_min(K_ld) is bracketed by the Rayleigh quotient ρ of the
  float64 eigenvector (upper) and Kato–Temple ρ − ‖r‖²/(λ₂ − ρ) (lower), all in
  longdouble. So λ_min(K0) ∈ [KT − E_ld, ρ + E_ld], an interval ~1e-3 E_K wide.

The matrix under test, K̂0, is formed as `TwoLayerNetwork.gram` forms it (dgemm, σ' of
the block, s²·dsyrk accumulated over neuron blocks, ⊙ dsyrk(X)), with small blocks so
that the block accumulation is exercised.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mpmath import mp
from scipy.linalg import blas, eigh, eigvalsh, qr
from scipy.sparse.linalg import eigsh

from ntkcheck.linalg import rigorous as R
from ntkcheck.models.two_layer import rounding as TR

U = 2.0**-53
LEAKY = 0.01
# name: (L = sup|σ''| on the smooth pieces, jump of σ' at 0, derivative_scale D)
ACT = {
    "tanh": (4.0 / (3.0 * math.sqrt(3.0)), 0.0, 1.0),
    "sin": (1.0, 0.0, 1.0),
    "relu": (0.0, 1.0, 1.0),
    "leaky_relu": (0.0, 1.0 - LEAKY, 1.0),
}
EXTENDED = np.finfo(np.longdouble).eps < 1e-18
needs_extended = pytest.mark.skipif(not EXTENDED, reason="np.longdouble is not x87 extended")


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    """σ' as the model computes it (1 − tanh² with its cancellation), any float dtype."""
    if name == "tanh":
        t = np.tanh(z)
        return 1.0 - t * t
    if name == "sin":
        return np.cos(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY).astype(z.dtype)
    raise KeyError(name)


def sigma_prime_mp(name: str, z):
    if name == "tanh":
        return 1 - mp.tanh(z) ** 2
    if name == "sin":
        return mp.cos(z)
    if name == "relu":
        return mp.mpf(1 if z > 0 else 0)
    if name == "leaky_relu":
        return mp.mpf(1) if z > 0 else mp.mpf(LEAKY)
    raise KeyError(name)


def model_gram(X: np.ndarray, W: np.ndarray, s: float, name: str, block: int = 7) -> np.ndarray:
    """K̂0 by the operations of TwoLayerNetwork.gram (upper triangle mirrored, exactly symmetric)."""
    n = X.shape[0]
    G = np.zeros((n, n), order="F")
    Xt = np.asfortranarray(X.T)
    for start in range(0, W.shape[0], block):
        St = blas.dgemm(1.0, W[start : start + block].T, Xt, trans_a=1)
        St = np.asfortranarray(sigma_prime(name, St))
        G = blas.dsyrk(s**2, St, beta=1.0, c=G, trans=1, lower=0, overwrite_c=1)
    G *= blas.dsyrk(1.0, Xt, trans=1, lower=0)
    Up = np.triu(G)
    return Up + np.triu(Up, 1).T


def make_net(
    seed: int, n: int, N: int, d: int, repeat_eps: float | None = None, scale: float = 1.0
):
    """Random two-layer net; with repeat_eps, odd inputs are even ones moved by repeat_eps."""
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((n, d)) / math.sqrt(d)
    if repeat_eps is not None:
        m = n // 2
        X[1 : 2 * m : 2] = X[0 : 2 * m : 2] + scale * repeat_eps * rng.standard_normal((m, d))
    W = rng.standard_normal((N, d))
    return X, W, 1.0 / math.sqrt(N)


def error_bounds(X, W, s, name, K_hat, *, jump_override=None):
    """(E_K, factor part F, tr) for K̂0, as the tool would compute them."""
    L, jump, D = ACT[name]
    if jump_override is not None:
        jump = jump_override
    tr = R.trace_upper(K_hat)
    F = TR.factor_error_bound(X, W, s, L, trace_K=tr, derivative_scale=D, jump=jump)
    E = R.gram_formation_error(tr, TR.gram_n_terms(W.shape[0], X.shape[1]), factor_error=F)
    return E, F, tr


def mp_gram(X, W, s, name):
    """K0 at 50 digits from the float64 data taken as exact."""
    n, d = X.shape
    N = W.shape[0]
    with mp.workdps(50):
        Xm = [[mp.mpf(float(v)) for v in row] for row in X]
        Wm = [[mp.mpf(float(v)) for v in row] for row in W]
        sm = mp.mpf(s)
        S = [
            [
                sm * sigma_prime_mp(name, mp.fsum(Wm[i][c] * Xm[j][c] for c in range(d)))
                for i in range(N)
            ]
            for j in range(n)
        ]
        K = mp.matrix(n, n)
        for j in range(n):
            for k in range(j, n):
                g = mp.fsum(Xm[j][c] * Xm[k][c] for c in range(d))
                K[j, k] = K[k, j] = g * mp.fsum(S[j][i] * S[k][i] for i in range(N))
    return K


def mp_eigvals(K) -> list:
    with mp.workdps(50):
        return sorted(mp.eigsy(K, eigvals_only=True))


def _no_kink_entries(X, W, name) -> None:
    """E_ld scales E_K by u_ld/u only if no σ' can flip: every |z| ≫ γ_d (|X||W|ᵀ)."""
    if ACT[name][1] > 0.0:
        Z = np.abs(X @ W.T)
        A = np.abs(X) @ np.abs(W).T
        assert (Z > 1e-10 * A).all()


def _kato_temple(Kl, v64: np.ndarray, eta: float, bottom: bool) -> float:
    """Kato–Temple in longdouble: ρ − ‖r‖²/(η − ρ) ≤ λ_min if ρ < η ≤ λ₂ (bottom), else
    λ_max ≤ ρ + ‖r‖²/(ρ − η) if λ_{n−1} ≤ η < ρ; ρ, r the Rayleigh quotient and residual."""
    v = v64.astype(np.longdouble)
    v /= np.sqrt(v @ v)
    Kv = Kl @ v
    rho = v @ Kv
    r = Kv - rho * v
    gap = np.longdouble(eta) - rho if bottom else rho - np.longdouble(eta)
    assert gap > 0
    return float(rho - (r @ r) / gap) if bottom else float(rho + (r @ r) / gap)


def extended_reference(X, W, s, name, E_K: float):
    """(lower, upper) on λ_min(K0) and an upper bound on λ_max(K0), from longdouble."""
    _no_kink_entries(X, W, name)
    Xl = X.astype(np.longdouble)
    S = sigma_prime(name, Xl @ W.astype(np.longdouble).T) * np.longdouble(s)
    Kl = (Xl @ Xl.T) * (S @ S.T)
    lam, V = eigh(Kl.astype(np.float64))
    n = X.shape[0]
    # E_ld: the same formation at u_ld = u/2048 (factor 2 of slack), plus the longdouble
    # rounding of ρ = vᵀ K v (≤ 2 n u_ld λ_max).
    E_ld = 2.0 * E_K / 2048.0 + 2.0 * n * 2.0**-64 * lam[-1]
    # η from the float64 eigenvalues of K_ld, moved by 1e-12 λ_max outward (they are good to
    # ~n u λ_max ≈ 2e-14 λ_max here; the gaps in these tests are ≥ 1e-9 λ_max).
    slack = 1e-12 * lam[-1]
    low = _kato_temple(Kl, V[:, 0], lam[1] - slack, bottom=True)
    top = _kato_temple(Kl, V[:, -1], lam[-2] + slack, bottom=False)
    rho_min = float(V[:, 0].astype(np.longdouble) @ (Kl @ V[:, 0].astype(np.longdouble)))
    rho_min /= float(V[:, 0] @ V[:, 0])
    return low - E_ld, rho_min + E_ld, top + E_ld


def lanczos_min(K: np.ndarray) -> float:
    """ARPACK's λ_min (an upper estimate); a wide Krylov space for the clustered bottom."""
    n = K.shape[0]
    return float(
        eigsh(K, k=1, which="SA", tol=1e-14, v0=np.ones(n), ncv=min(n, 80), maxiter=100 * n)[0][0]
    )


# --- formulas ------------------------------------------------------------------------------------


def test_gamma_and_closed_forms():
    assert R.gamma(0) == 0.0
    g = R.gamma(1000)
    assert 1000 * U / (1 - 1000 * U) <= g <= 1000 * U / (1 - 1000 * U) * (1 + 1e-14)
    assert R.gamma(2**52) == math.inf
    assert TR.gram_n_terms(100, 7) == 100 + 7 + 5
    # E_K = γ_m/(1 − γ_m)·tr + F, rounded up by a hair.
    m, tr, F = 1234, 5.0, 1e-9
    exact = (m * U / (1 - m * U)) / (1 - m * U / (1 - m * U)) * tr + F
    E = R.gram_formation_error(tr, m, factor_error=F)
    assert exact <= E <= exact * (1 + 1e-8)
    # E_eig = 4n u/(1 − 4n u)·max|λ̂|.
    assert 4 * 300 * U * 7.0 <= R.eigensolver_error(300, 7.0) <= 4 * 300 * U * 7.0 * (1 + 1e-10)
    with pytest.raises(ValueError):
        R.gram_formation_error(-1.0, 10)
    lb = R.dense_lower_bound(1.0, 2.0, 10, 0.25)
    assert lb.eig_min_lower <= 1.0 - 0.25 - 40 * U * 2.0
    assert lb.sigma_min_lower <= math.sqrt(lb.eig_min_lower)
    assert lb.rigorous is False and lb.method == "dense-evr"
    with pytest.raises(AttributeError):
        lb.error = 0.0  # type: ignore[misc]  # frozen
    assert R.upper_bound_eig_max(2.0, 10, 0.25) >= 2.0 + 0.25 + 40 * U * 2.0
    assert R.dense_lower_bound(1e-20, 1.0, 10, 1e-10).sigma_min_lower == 0.0


def test_factor_error_bound_blocks_and_guards():
    X, W, s = make_net(0, 30, 101, 5)
    K = model_gram(X, W, s, "tanh")
    tr = R.trace_upper(K)
    kw = dict(trace_K=tr, derivative_scale=1.0)
    big = TR.factor_error_bound(X, W, s, 0.77, **kw)
    small = TR.factor_error_bound(X, W, s, 0.77, block_values=30 * 3, **kw)
    assert small == pytest.approx(big, rel=1e-12)  # blocking changes only the summation order
    # size: ‖ΔJ‖_F ≈ s(c u D + L γ_d a)·√(N Σ‖x‖²) ~ 20 u √tr, F ≈ 2√tr ‖ΔJ‖_F ≈ 40 u tr
    assert 1e-16 * tr < big < 1e-13 * tr
    assert TR.factor_error_bound(X, W, s, math.inf, **kw) == math.inf
    with pytest.raises(ValueError):
        TR.factor_error_bound(X, W, s, math.inf, jump=1.0, **kw)
    # a step σ' costs nothing when no z is near the kink
    relu = TR.factor_error_bound(X, W, s, 0.0, jump=1.0, **kw)
    assert relu == pytest.approx(TR.factor_error_bound(X, W, s, 0.0, **kw), rel=1e-12)


@pytest.mark.parametrize(
    "seed, n, N, d, scale", [(0, 7, 13, 3, 1.0), (1, 30, 40, 9, 1e3), (2, 9, 5, 1, 1e-3)]
)
def test_smooth_factor_bound_closed_form_matches_the_entrywise_sum(seed, n, N, d, scale):
    """The O((N + n) d²) closed form bounds Σ_ji (c̄ + ℓ a_ji)² ‖x_j‖² (a = |X||W|ᵀ exact,
    summed here at 40 digits) from above, and is tight to the rounding of the sums."""
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((n, d))
    W = rng.standard_normal((N, d))
    s, L, D = 0.37, 0.77, 1.0
    tr = 5.0
    F = TR.factor_error_bound(X, W, s, L, trace_K=tr, derivative_scale=D)
    c, ell = TR.DERIVATIVE_ULPS * U * D, L * R.gamma(d)
    with mp.workdps(40):
        total = mp.mpf(0)
        for j in range(n):
            x2 = mp.fsum(mp.mpf(float(v)) ** 2 for v in X[j])
            for i in range(N):
                a = mp.fsum(abs(mp.mpf(float(X[j, k])) * mp.mpf(float(W[i, k]))) for k in range(d))
                total += (mp.mpf(c) + mp.mpf(ell) * a) ** 2 * x2
        dJ = mp.mpf(s) * mp.sqrt(total)
        J = mp.sqrt(mp.mpf(tr) / (1 - mp.mpf(R.gamma(TR.gram_n_terms(N, d)))))
        exact = 2 * J * dJ + dJ**2
    assert exact <= F <= exact * (1 + 1e-12)


def test_factor_error_bound_with_many_inputs_sums_entry_by_entry(monkeypatch):
    """d(N + n) > nN: the closed form would cost more than the entrywise sum (and a d×d
    array); the entrywise path runs and agrees with the closed form's value."""
    rng = np.random.default_rng(5)
    X, W = rng.standard_normal((6, 40)), rng.standard_normal((7, 40))
    called = []
    monkeypatch.setattr(TR, "_smooth_factor_sum", lambda *a: called.append(1) or 0.0)
    entrywise = TR.factor_error_bound(X, W, 0.3, 0.77, trace_K=4.0, derivative_scale=1.0)
    assert called == [] and entrywise > 0.0
    monkeypatch.undo()
    x2 = np.einsum("jl,jl->j", X, X)
    closed = TR._smooth_factor_sum(X, W, x2, TR.DERIVATIVE_ULPS * U, 0.77 * R.gamma(40))
    J = math.sqrt(4.0 / (1 - R.gamma(TR.gram_n_terms(7, 40))))
    dJ = 0.3 * math.sqrt(closed)
    assert entrywise == pytest.approx(2 * J * dJ + dJ * dJ, rel=1e-9)


def test_factor_error_bound_closed_form_agrees_with_the_blocked_loop():
    """Smooth σ': the closed form and the blocked per-entry sum (taken with a jump whose
    flags never fire: the same δ) agree up to their different rounding allowances."""
    X, W, s = make_net(3, 20, 64, 6)
    kw = dict(trace_K=4.0, derivative_scale=1.0)
    closed = TR.factor_error_bound(X, W, s, 0.77, **kw)
    looped = TR.factor_error_bound(X, W, s, 0.77, jump=1e-300, **kw)
    assert closed == pytest.approx(looped, rel=1e-9)


# --- dense bound and Cholesky proof on two-layer nets --------------------------------------------

SMALL = [  # (seed, n, N, d, repeat_eps)
    (1, 5, 16, 3, None),
    (2, 8, 40, 6, None),
    (3, 12, 40, 4, None),
    (4, 12, 60, 6, 1e-3),  # nearly repeated inputs: κ(K0) ~ 1e6–1e8
]


@pytest.mark.parametrize("name", list(ACT))
@pytest.mark.parametrize("case", SMALL)
def test_small_nets_against_mpmath(name, case):
    seed, n, N, d, eps = case
    X, W, s = make_net(seed, n, N, d, eps)
    K = model_gram(X, W, s, name)
    lam = eigvalsh(K, driver="evr")
    E, _, _ = error_bounds(X, W, s, name, K)
    ev = mp_eigvals(mp_gram(X, W, s, name))
    true_min, true_max = float(ev[0]), float(ev[-1])

    lb = R.dense_lower_bound(lam[0], lam[-1], n, E)
    assert lb.eig_min_lower <= true_min
    assert R.upper_bound_eig_max(lam[-1], n, E) >= true_max
    # Tight: error = 4n u λ̂_max + γ_m tr/(1−γ_m) + F ≈ (4n + (N + d + 5 + ~40) tr/λ_max) u
    # ≤ ~1e-13 λ_max for these sizes; 1e-10 leaves three orders of margin.
    assert lb.error / lam[-1] <= 1e-10
    if true_max / true_min < 1e4:  # well conditioned: σ_min to 1e-6 (expected ~1e-10)
        assert lb.sigma_min_lower >= math.sqrt(true_min) * (1 - 1e-6)

    pb = R.proven_lower_bound(K, lam[0], E, estimate_method="dense")
    assert pb.rigorous and pb.method == "cholesky"
    assert pb.eig_min_lower <= true_min
    assert pb.eig_min_lower >= true_min * (1 - 1e-6) - 1e-10 * true_max


LARGE = [  # (seed, n, N, d, repeat_eps)
    (11, 50, 300, 10, None),
    (12, 200, 1000, 20, None),
    (13, 100, 600, 8, 1e-3),  # κ(K0) ≈ 5e7–1e8 (κ(J0)² ~ 1e8)
]


@needs_extended
@pytest.mark.parametrize("name", list(ACT))
@pytest.mark.parametrize("case", LARGE)
def test_larger_nets_against_extended_precision(name, case):
    seed, n, N, d, eps = case
    X, W, s = make_net(seed, n, N, d, eps)
    K = model_gram(X, W, s, name, block=max(1, N // 3))
    lam = eigvalsh(K, driver="evr")
    E, fac, _ = error_bounds(X, W, s, name, K)
    assert fac < 0.5 * E  # with |x| ~ 1 the inner products dominate, F ≈ 1e-14 tr (expected)
    lo, hi, lmax_hi = extended_reference(X, W, s, name, E)
    assert hi - lo < 1e-2 * E  # the reference is far sharper than the bound it checks

    lb = R.dense_lower_bound(lam[0], lam[-1], n, E)
    assert lb.eig_min_lower <= lo
    assert lb.eig_min_lower > 0.0  # still a useful bound at κ ~ 1e8
    assert R.upper_bound_eig_max(lam[-1], n, E) >= lmax_hi
    # error/λ_max ≈ 4n u + (N + d + 45) u tr/λ_max ≤ 1e-10 (tr/λ_max ≤ ~25 here, so ~3e-12)
    assert lb.error / lam[-1] <= 1e-10
    if lam[-1] / lam[0] < 1e4:
        assert lb.sigma_min_lower >= math.sqrt(hi) * (1 - 1e-6)

    # Lanczos gives an upper estimate of λ_min; the Cholesky test turns it into a proof.
    est = lanczos_min(K)
    pb = R.proven_lower_bound(K, est, E)
    assert pb.rigorous and pb.method == "cholesky"
    assert pb.eig_min_lower <= lo
    if lam[-1] / lam[0] < 1e4:
        assert pb.eig_min_lower >= hi * (1 - 1e-6)
    else:  # κ ~ 1e8: the margin μ ~ n u tr + E_K ~ 1e-12 λ_max is ~1e-4 of λ_min
        assert pb.eig_min_lower >= hi * (1 - 1e-2)


@needs_extended
@pytest.mark.parametrize("name", ["tanh", "leaky_relu"])
def test_measured_formation_error_is_below_the_bound(name):
    """‖K̂0 − K0‖₂ ≤ E_K, measured against K_ld (whose own error is ≤ 1e-3 E_K)."""
    X, W, s = make_net(21, 120, 2000, 30)
    K = model_gram(X, W, s, name, block=500)
    E, _, _ = error_bounds(X, W, s, name, K)
    Xl = X.astype(np.longdouble)
    S = sigma_prime(name, Xl @ W.astype(np.longdouble).T) * np.longdouble(s)
    D = ((Xl @ Xl.T) * (S @ S.T) - K).astype(np.float64)
    actual = float(np.linalg.norm(D, 2))
    assert actual + 2.0 * E / 2048.0 <= E
    # The worst case assumes aligned roundings; random ones are ~√m smaller or more.
    assert actual < 0.1 * E


# --- Cholesky proof on an explicit spectrum ------------------------------------------------------


def explicit_spectrum(n: int, lam: np.ndarray, seed: int = 0):
    """A = fl(Q̂ diag(λ) Q̂ᵀ), its E_K, and bounds on λ_min of the exact Q̂ diag(λ) Q̂ᵀ."""
    Q, _ = qr(np.random.default_rng(seed).standard_normal((n, n)))
    A = (Q * lam) @ Q.T
    A = np.triu(A) + np.triu(A, 1).T
    # |fl(Q̂ΛQ̂ᵀ) − Q̂ΛQ̂ᵀ| ≤ γ_{n+1} |Q̂|Λ|Q̂|ᵀ, a PSD matrix of trace Σλ_i‖q̂_i‖² whose
    # diagonal is that of A up to γ_{n+1}: exactly the situation of gram_formation_error.
    E = R.gram_formation_error(R.trace_upper(A), n + 1)
    # Ostrowski: λ_i(Q̂ΛQ̂ᵀ) = θ_i λ_i with θ_i ∈ [σ_min(Q̂)², σ_max(Q̂)²].
    sv = np.linalg.svd(Q, compute_uv=False)
    slack = 4 * n * U  # svd's own error on σ(Q̂) ≈ 1
    return A, E, lam.min() * (sv.min() ** 2 - slack), lam.min() * (sv.max() ** 2 + slack)


def test_cholesky_proves_on_known_spectrum():
    n = 60
    lam = np.logspace(-3, 0, n)
    A, E, _, hi = explicit_spectrum(n, lam)
    lmin = lam.min()
    assert R.cholesky_proves(A, 0.5 * lmin, E)
    # margin μ ≈ (n+2) u tr + E_K ≈ 3e-13 ≪ 1e-9 λ_min = 1e-12: provable this close
    assert R.cholesky_proves(A, lmin * (1 - 1e-9), E)
    assert R.cholesky_margin(A, E) < 1e-9 * lmin
    # soundness: nothing at or above the true λ_min may be "proved"
    for tau in (hi * (1 + 1e-12), hi * (1 + 1e-6), 1.1 * lmin, 2.0 * lmin, 10.0):
        assert not R.cholesky_proves(A, tau, E)
    assert R.cholesky_proves(A, -1.0, E)  # K0 ⪰ 0 proves every τ < 0
    assert not R.cholesky_proves(A, math.nan, E)
    assert not R.cholesky_proves(A, 0.5 * lmin, lmin)  # a margin larger than λ_min: no proof
    bad = A.copy()
    bad[3, 4] = math.inf
    assert not R.cholesky_proves(bad, 0.0, E)
    # K̂ is only read, never overwritten
    before = A.copy()
    R.cholesky_proves(A, 0.5 * lmin, E)
    assert np.array_equal(A, before)


def test_proven_lower_bound_on_known_spectrum():
    n = 60
    lam = np.logspace(-3, 0, n)
    A, E, lo, _ = explicit_spectrum(n, lam, seed=1)
    lmin = lam.min()
    est = lanczos_min(A)
    pb = R.proven_lower_bound(A, est, E)
    assert pb.rigorous and pb.method == "cholesky"
    assert pb.eig_min_lower <= lo
    assert pb.eig_min_lower >= lmin * (1 - 1e-6)
    assert pb.sigma_min_lower <= math.sqrt(lo)
    assert pb.error == pytest.approx(est - pb.eig_min_lower, rel=1e-12)
    # a low estimate is still proved (and stays a lower bound)
    low = R.proven_lower_bound(A, 0.5 * lmin, E)
    assert low.rigorous and 0.49 * lmin < low.eig_min_lower <= 0.5 * lmin
    # an estimate 2× too high cannot be shrunk enough by f ≤ 1e-2: unproved, labelled
    high = R.proven_lower_bound(A, 2.0 * lmin, E)
    assert not high.rigorous and high.method == "lanczos" and high.eig_min_lower == 2.0 * lmin
    assert not R.proven_lower_bound(A, -1.0, E).rigorous


# --- adversarial cases ---------------------------------------------------------------------------


def test_adversarial_entrywise_rounding_along_the_bottom_eigenvector():
    """K̂ = K0 − γ_m (M ⊙ sign(v vᵀ)), M = (|S||S|ᵀ) ⊙ (|X||X|ᵀ): the largest drop of vᵀK̂v that
    the entrywise model |K̂ − K0| ≤ γ_m M allows. m is inflated (10⁸ roundings) so the drop,
    ~1e-8 λ_max, dwarfs the eigensolver's own error; the bound must still cover it."""
    X, W, s = make_net(5, 12, 50, 4, repeat_eps=1e-2)
    name = "tanh"
    K0m = mp_gram(X, W, s, name)
    ev_true = mp_eigvals(K0m)
    K0 = np.array(K0m.tolist(), dtype=np.float64)
    _, V = eigh(K0)
    v = V[:, 0]
    S = np.abs(sigma_prime(name, X @ W.T)) * s
    M = (S @ S.T) * (np.abs(X) @ np.abs(X).T)
    m = 10**8
    # γ_{m−2} for the construction: the rounding of K0 to float64 and of the product below
    # stay within the two spare roundings (|K0_jk| ≤ M_jk).
    K_hat = K0 - R.gamma(m - 2) * (M * np.sign(np.outer(v, v)))
    K_hat = np.triu(K_hat) + np.triu(K_hat, 1).T
    lam = eigvalsh(K_hat, driver="evr")
    drop = float(ev_true[0]) - lam[0]
    E = R.gram_formation_error(R.trace_upper(K_hat), m)
    assert drop > 0.1 * E  # the construction really uses a good part of the budget …
    lb = R.dense_lower_bound(lam[0], lam[-1], K_hat.shape[0], E)
    assert lb.eig_min_lower <= float(ev_true[0])  # … and the bound is not beaten
    pb = R.proven_lower_bound(K_hat, lam[0], E)
    assert pb.rigorous and pb.eig_min_lower <= float(ev_true[0])


def test_adversarial_relu_sign_flip():
    """fl(⟨w, x⟩) = 0 < ⟨w, x⟩: the computed σ' is wrong for one entry. x₁ and x₂ differ by
    2⁻⁵², so K0 is singular to ~1e-32, while K̂0, with one σ' flipped, has λ̂_min ≈ 0.16."""
    t = 2.0**-60
    X = np.array([[1.0, t, -1.0], [1.0, t + 2.0**-52, -1.0]])
    rng = np.random.default_rng(0)
    W = np.vstack([[1.0, 1.0, 1.0], rng.standard_normal((5, 3))])
    W[1:, 0] = np.abs(W[1:, 0]) + 1.0  # z = w₀ − w₂ + O(2⁻⁵²) ≥ 1 for the other neurons
    W[1:, 2] = -np.abs(W[1:, 2])
    s = 1.0 / math.sqrt(W.shape[0])
    Z = np.zeros((2, W.shape[0]))  # summed left to right: one valid dgemm order
    for col in range(3):
        Z = Z + X[:, [col]] * W[:, col][None, :]
    assert Z[0, 0] == 0.0 and Z[1, 0] > 0.0  # the flip happened
    S = s * sigma_prime("relu", Z)
    K = (X @ X.T) * (S @ S.T)
    K = np.triu(K) + np.triu(K, 1).T
    true_min = float(mp_eigvals(mp_gram(X, W, s, "relu"))[0])
    assert 0.0 < true_min < 1e-30
    lam = eigvalsh(K, driver="evr")
    assert lam[0] > 0.1

    E, fac, _ = error_bounds(X, W, s, "relu", K)
    assert fac > lam[0]  # the flagged entry alone accounts for all of λ̂_min
    assert R.dense_lower_bound(lam[0], lam[-1], 2, E).eig_min_lower <= true_min
    pb = R.proven_lower_bound(K, lam[0], E)
    assert not pb.rigorous  # nothing positive can be proved, and nothing is claimed
    # Teeth: without the jump term the "proof" would be false.
    E_nojump, _, _ = error_bounds(X, W, s, "relu", K, jump_override=0.0)
    assert R.dense_lower_bound(lam[0], lam[-1], 2, E_nojump).eig_min_lower > true_min
    wrong = R.proven_lower_bound(K, lam[0], E_nojump)
    assert wrong.rigorous and wrong.eig_min_lower > true_min


def test_adversarial_large_inputs_need_the_factor_term():
    """|x| ~ 1e8: z = ⟨w, x⟩ carries absolute rounding ~1e-8, so cos(ẑ) differs from cos(z)
    by ~1e-8 — far above the inner-product rounding γ_m tr. The factor term must cover it."""
    X, W, s = make_net(7, 8, 30, 4, scale=1e8)
    K = model_gram(X, W, s, "sin")
    lam = eigvalsh(K, driver="evr")
    ev = mp_eigvals(mp_gram(X, W, s, "sin"))
    true_min = float(ev[0])
    E, fac, tr = error_bounds(X, W, s, "sin", K)
    assert fac > 1e3 * (E - fac)  # here the factor term is the bound
    E_formation_only = R.gram_formation_error(tr, TR.gram_n_terms(30, 4))
    actual = abs(lam[0] - true_min)
    assert actual > 100 * E_formation_only  # the inner-product bound alone is wrong here
    assert R.dense_lower_bound(lam[0], lam[-1], 8, E).eig_min_lower <= true_min
    pb = R.proven_lower_bound(K, lam[0], E)
    assert pb.rigorous and pb.eig_min_lower <= true_min
    assert pb.eig_min_lower >= true_min * (1 - 1e-3)  # F ~ 1e-6 λ_max still leaves a tight bound
