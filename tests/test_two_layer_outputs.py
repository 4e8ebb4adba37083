"""The two-layer family with C outputs (THEORY.md §14; issue 19): a fixed ±1 readout
matrix a (N × C), rows stacked point-major (row j·C + c), m = n·C.

Every reference here is independent of the structured code: the dense Jacobian and the
Hessians come from ``torch.func`` (float64) on a forward pass written in this file, the
Gram's exact value from mpmath at 200 bits, the local β from a power iteration on the
dense third-order tensor and from a grid over the unit circle (d = 2), and the drift
bounds are attacked by the conformance suite's projected ascent and by constructed moves.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest

from ntkcheck.errors import DataError
from ntkcheck.models.activations import get_activation
from ntkcheck.models.flips import FlipDrift, flip_bound, jump_of
from ntkcheck.models.two_layer import TwoLayerNetwork, build, plan_bytes
from ntkcheck.models.two_layer.spec import ModelSpec
from ntkcheck.testing import check_model

ACTIVATIONS = ("tanh", "gelu", "relu")
INITS = ("gaussian", "symmetric", "file")


class FileContext:
    """The ``SpecContext`` of an ``init: file`` spec, with the arrays in memory."""

    def __init__(self, W: np.ndarray, a: np.ndarray) -> None:
        self.arrays = {"W": W, "a": a}

    def read_arrays(self, names, *, suffix_error, hint):
        return [self.arrays[k] for k in names]

    def error(self, message, *path):
        return ValueError(".".join(map(str, path)) + ": " + message)


def make(C, activation, init, *, n=7, d=4, N=16, scaling="ntk", seed=0):
    """A network with C outputs built as a spec would build it, and inputs X (n, d)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if init == "file":
        W = rng.standard_normal((N, d)) / math.sqrt(d)
        a = rng.choice([-1.0, 1.0], size=(N, C) if C > 1 else N)
        ms = ModelSpec(init="file", init_path="w0.npz", activation=activation, scaling=scaling)
        return build(ms, d, rng, FileContext(W, a), outputs=C), X
    ms = ModelSpec(width=N, init=init, activation=activation, scaling=scaling)
    return build(ms, d, rng, None, outputs=C), X


# ---------------------------------------------------------------- torch reference


def torch_model(net: TwoLayerNetwork, X: np.ndarray):
    """f(θ) (m,) in torch float64, written from the formula f_c = s Σ_i a_ic σ(⟨w_i, x⟩)."""
    torch = pytest.importorskip("torch")
    Xt = torch.tensor(X, dtype=torch.float64)
    A = net.a if net.a.ndim == 2 else net.a[:, None]
    at = torch.tensor(A, dtype=torch.float64)
    sig = {
        "tanh": torch.tanh,
        "gelu": lambda z: 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0))),
        "relu": torch.relu,
        "quadratic": lambda z: 0.5 * z * z,
    }[net.activation.name]
    N, d = net.W.shape

    def f(theta):
        return (net.s * (sig(Xt @ theta.reshape(N, d).T) @ at)).reshape(-1)

    return torch, f, torch.tensor(net.theta0.copy(), dtype=torch.float64)


def torch_jacobian(net, X, theta=None):
    torch, f, theta0 = torch_model(net, X)
    th = theta0 if theta is None else torch.tensor(theta, dtype=torch.float64)
    return torch.func.jacrev(f)(th).numpy(), f(th).detach().numpy()


# ------------------------------------------------------------------ the structure


@pytest.mark.parametrize("C", [2, 3, 4, 5])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("init", INITS)
def test_against_the_dense_jacobian(C, activation, init):
    """forward, jvp/vjp, the Gram (model, linearization, operator), drift_gram and
    σ_min/σ_max against J from torch.func.jacrev (float64)."""
    net, X = make(C, activation, init, seed=C)
    m, P = X.shape[0] * C, net.n_params
    assert net.outputs == C and net.a.shape == (net.width, C)
    J, f = torch_jacobian(net, X)
    assert J.shape == (m, P)
    np.testing.assert_allclose(net.forward(X), f, rtol=1e-13, atol=1e-15)
    lin = net.linearize(X)
    np.testing.assert_allclose(lin.f, f, rtol=1e-13, atol=1e-15)
    scale = float(np.abs(J).max())
    rng = np.random.default_rng(1)
    V, R = rng.standard_normal((P, 3)), rng.standard_normal((m, 3))
    for Jv in (lin.jvp(V), np.stack([net.jvp(X, V[:, k]) for k in range(3)], axis=1)):
        np.testing.assert_allclose(Jv, J @ V, rtol=0, atol=1e-13 * scale * P)
    for JtR in (lin.vjp(R), np.stack([net.vjp(X, R[:, k]) for k in range(3)], axis=1)):
        np.testing.assert_allclose(JtR, J.T @ R, rtol=0, atol=1e-13 * scale * m)
    adjoint = abs(lin.jvp(V[:, 0]) @ R[:, 0] - V[:, 0] @ lin.vjp(R[:, 0]))
    assert adjoint <= 1e-13 * np.linalg.norm(J @ V[:, 0]) * np.linalg.norm(R[:, 0])
    K_ref = J @ J.T
    K = net.gram(X)
    assert K.shape == (m, m) and np.array_equal(K, K.T)
    tol = 1e-13 * float(np.trace(K_ref))
    assert np.abs(K - K_ref).max() <= tol
    assert np.abs(lin.gram() - K_ref).max() <= tol
    for cache in (True, False):
        Kv = net.gram_operator(X, cache=cache)(R[:, 0])  # |Kv − K_ref v| ≤ m·tol·max|v|
        np.testing.assert_allclose(Kv, K_ref @ R[:, 0], rtol=0, atol=m * tol * np.abs(R).max())
    # σ's: Weyl, |λ̂ − λ| ≤ ‖K̂ − K‖₂, with the reference's own rounding in the tolerance
    lam, lam_ref = np.linalg.eigvalsh(K), np.linalg.svd(J, compute_uv=False)[::-1] ** 2
    np.testing.assert_allclose(lam, lam_ref[-m:], rtol=0, atol=2 * tol)
    # a Jacobian difference, its Gram formed without cancellation
    theta1 = net.theta0 + 0.3 * rng.standard_normal(P) / math.sqrt(P)
    J1, f1 = torch_jacobian(net, X, theta1)
    np.testing.assert_allclose(net.forward(X, theta1), f1, rtol=1e-13, atol=1e-15)
    dJ = J1 - J
    np.testing.assert_allclose(net.linearize(X, theta1).drift_gram(lin), dJ @ dJ.T, rtol=0,
                               atol=1e-13 * float(np.trace(K_ref)))  # fmt: skip


@pytest.mark.parametrize("C", [2, 3, 5])
def test_symmetric_init_gives_f0_zero_exactly(C):
    """Opposite readout rows: every f_c(x_j) is a sum of exactly cancelling pairs (an
    exact sum, math.fsum, gives 0.0), and the floating-point forward is 0 to rounding."""
    net, X = make(C, "tanh", "symmetric", N=20)
    half = net.width // 2
    np.testing.assert_array_equal(net.W[:half], net.W[half:])
    np.testing.assert_array_equal(net.a[:half], -net.a[half:])
    terms = net.s * net.activation.sigma(X @ net.W.T)[:, :, None] * net.a[None, :, :]
    exact = [math.fsum(terms[j, :, c]) for j in range(X.shape[0]) for c in range(C)]
    assert exact == [0.0] * (X.shape[0] * C)
    assert np.abs(net.forward(X)).max() <= 1e-14


def test_one_output_is_todays_network_bit_for_bit():
    """outputs=1 draws exactly today's stream (W, then a of shape (N,)); a readout of shape
    (N, 1) is stored as (N,); C = 1 results therefore do not change (also checked by
    benchmarks/compare_json.py against main)."""
    for init in ("gaussian", "symmetric"):
        ms = ModelSpec(width=12, init=init, activation="tanh")
        one = build(ms, 3, np.random.default_rng(5), None)
        explicit = build(ms, 3, np.random.default_rng(5), None, outputs=1)
        rng = np.random.default_rng(5)
        if init == "gaussian":
            W = (1.0 / np.sqrt(3)) * rng.standard_normal((12, 3))
            a = rng.choice(np.array([-1.0, 1.0]), size=12)
        else:
            Wh = (1.0 / np.sqrt(3)) * rng.standard_normal((6, 3))
            ah = rng.choice(np.array([-1.0, 1.0]), size=6)
            W, a = np.concatenate([Wh, Wh]), np.concatenate([ah, -ah])
        for net in (one, explicit):
            assert net.outputs == 1 and net.a.shape == (12,)
            np.testing.assert_array_equal(net.W, W)
            np.testing.assert_array_equal(net.a, a)
    column = TwoLayerNetwork(W, a[:, None], 1.0, get_activation("tanh"))
    assert column.a.shape == (12,) and column.outputs == 1


def test_init_file_readout_shapes():
    rng = np.random.default_rng(0)
    W, a = rng.standard_normal((6, 3)), rng.choice([-1.0, 1.0], size=(6, 4))
    ms = ModelSpec(init="file", init_path="w0.npz")
    net = build(ms, 3, rng, FileContext(W, a), outputs=4)
    assert net.outputs == 4 and np.array_equal(net.a, a)
    net1 = build(ms, 3, rng, FileContext(W, a[:, :1]), outputs=1)
    assert net1.a.shape == (6,)
    with pytest.raises(DataError, match=r"a has shape \(6,\), one output, .* C = 4 outputs; "
                       r"save the readout as a of shape \(6, 4\)"):  # fmt: skip
        build(ms, 3, rng, FileContext(W, a[:, 0]), outputs=4)
    with pytest.raises(DataError, match=r"a must have shape \(6, 3\) to match W, got \(6, 4\)"):
        build(ms, 3, rng, FileContext(W, a), outputs=3)
    with pytest.raises(DataError, match=r"4 outputs, but the data have one target"):
        build(ms, 3, rng, FileContext(W, a), outputs=1)
    bad = a.copy()
    bad[2, 1] = 0.5
    with pytest.raises(DataError, match=r"a\[2, 1\] = 0.5; output weights must be ±1"):
        build(ms, 3, rng, FileContext(W, bad), outputs=4)


# ------------------------------------------------------------------ drift bounds


@pytest.mark.parametrize("C", [2, 4, 5])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu"])
def test_conformance_suite_with_outputs(C, activation):
    """Every check of ntkcheck.testing on the m rows: finite-difference Gram, operator,
    drift_gram, the drift bound against projected ascent inside the ball (THEORY.md §11),
    the proved Gram error, the memory plan against tracemalloc."""
    net, X = make(C, activation, "gaussian", n=6, d=3, N=12, seed=10 + C)
    result = check_model(net, X, radii=(1e-2, 1e-1, 1.0))
    assert result.drift_ratio <= 1.0
    assert result.peak_ratio <= 1.0


def test_beta_gains_the_readout_norm_and_is_attained():
    """β = L s max_i‖a_i‖ (…): √C for a ±1 readout. With σ = z²/2 (σ'' ≡ 1, J linear in W)
    and one input, a move of one neuron along x makes ΔJ rank one with ‖ΔJ‖ = s√C‖x‖²‖δ‖:
    the Frobenius bound is attained, so the factor √C cannot be dropped."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1, 3))
    for C in (1, 2, 5):
        a = rng.choice([-1.0, 1.0], size=(8, C) if C > 1 else 8)
        net = TwoLayerNetwork(rng.standard_normal((8, 3)), a, 0.7, get_activation("quadratic"))
        beta = net.beta(X)
        assert beta.bounds["frobenius"] == pytest.approx(0.7 * math.sqrt(C) * (X[0] @ X[0]))
        delta = np.zeros((8, 3))
        delta[2] = 0.1 * X[0] / np.linalg.norm(X[0])
        J0, _ = torch_jacobian(net, X)
        J1, _ = torch_jacobian(net, X, net.theta0 + delta.ravel())
        measured = np.linalg.norm(J1 - J0, 2)
        assert measured == pytest.approx(net.drift(X).h(0.1), rel=1e-12)
        # attained: equal up to the rounding of ‖δ‖ = 0.1 and of the two sides (~1e-16)
        assert measured <= net.drift(X).h(float(np.linalg.norm(delta))) * (1 + 1e-14)


def _dense_jacobian_relu(X, W, a, s, name):
    from tests.test_flips import sigma_prime

    D = s * sigma_prime(name, X @ W.T)  # (n, N)
    rows = D[:, None, :, None] * a.T[None, :, :, None] * X[:, None, None, :]  # (n, C, N, d)
    return rows.reshape(X.shape[0] * a.shape[1], -1)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs"])
def test_flip_bound_with_outputs_by_search(name):
    """No constructed move beats the C-output flip bound, h(ρ) (gains ‖a_i‖²), nor its
    pair bound min(2h(ρ), h(√2ρ)) for two moves in the ball; readouts ±1 and general."""
    from tests.test_flips import LEAKY, adversarial_moves

    rng = np.random.default_rng({"relu": 11, "leaky_relu": 12, "abs": 13}[name])
    c = jump_of(name, LEAKY)
    worst = math.inf
    for trial in range(3):
        n, N, d, C = int(rng.integers(4, 8)), int(rng.integers(3, 6)), 3, int(rng.integers(2, 5))
        X, W0 = rng.standard_normal((n, d)), rng.standard_normal((N, d))
        a = rng.choice([-1.0, 1.0], size=(N, C)) if trial < 2 else rng.normal(size=(N, C))
        s = float(rng.uniform(0.2, 2.0))
        fb = flip_bound(X, W0, a, s, c)
        drift = FlipDrift(fb)
        J0 = _dense_jacobian_relu(X, W0, a, s, name)
        m = np.sort((np.abs(W0 @ X.T) / np.linalg.norm(X, axis=1)).ravel())
        for rho in (m[0] * 1.01, m[len(m) // 2], 2.0 * m[-1]):
            moves = list(adversarial_moves(X, W0, float(rho), rng))
            for delta in moves:
                moved = float(np.linalg.norm(delta))
                got = np.linalg.norm(_dense_jacobian_relu(X, W0 + delta, a, s, name) - J0, 2)
                assert got <= fb.h(moved) * (1 + 1e-12)
                if got > 0:
                    worst = min(worst, fb.h(moved) / got)
            for d1, d2 in itertools.pairwise(moves):
                pair = np.linalg.norm(
                    _dense_jacobian_relu(X, W0 + d1, a, s, name)
                    - _dense_jacobian_relu(X, W0 + d2, a, s, name),
                    2,
                )
                assert pair <= drift.pair(float(rho)) * (1 + 1e-12)
    assert 1.0 <= worst < 2.0, worst  # the adversary gets close: the search is not idle


def test_flip_gains_weigh_the_readout_rows():
    """A ±1 readout with C columns weighs every neuron by C: G_C = C·G_1 (exactly, C a
    power of two), and a general one by ‖a_i‖² (the same bound as one output with
    a_i = ‖a_i‖)."""
    rng = np.random.default_rng(4)
    X, W = rng.standard_normal((9, 3)), rng.standard_normal((5, 3))
    one = flip_bound(X, W, np.ones(5), 1.0, 1.0)
    four = flip_bound(X, W, rng.choice([-1.0, 1.0], size=(5, 4)), 1.0, 1.0)
    for u in (0.0, 0.01, 0.1, 1.0, 10.0):
        assert four.gain(u) == 4.0 * one.gain(u)
    A = rng.normal(size=(5, 3))
    general = flip_bound(X, W, A, 1.0, 1.0)
    norms = flip_bound(X, W, np.linalg.norm(A, axis=1), 1.0, 1.0)
    for u in (0.0, 0.01, 0.1, 1.0, 10.0):
        assert general.gain(u) == pytest.approx(norms.gain(u), rel=1e-14)
        assert general.gain(u) >= norms.gain(u) * (1 - 1e-16)  # rounded up, never down


# ---------------------------------------------------------------------- local β


def _tensor_power_iteration(T: np.ndarray, restarts: int, rng) -> float:
    """max over unit z, u of zᵀ T(u, u) for the dense tensor T (m, P, P) (symmetric in its
    last two indices): alternate z ← T(u,u)/‖·‖ and u ← the top |eigen|vector of Σ_r z_r T_r."""
    best = 0.0
    for _ in range(restarts):
        u = rng.standard_normal(T.shape[1])
        u /= np.linalg.norm(u)
        value = 0.0
        for _ in range(500):
            z = np.einsum("rpq,p,q->r", T, u, u)
            z /= max(np.linalg.norm(z), 1e-300)
            lam, V = np.linalg.eigh(np.einsum("r,rpq->pq", z, T))
            k = int(np.argmax(np.abs(lam)))
            u, new = V[:, k], abs(float(lam[k]))
            if new - value <= 1e-15 * new:
                break
            value = new
        best = max(best, value)
    return best


def _grid_beta(net: TwoLayerNetwork, X: np.ndarray) -> float:
    """d = 2: s max_i ‖a_i‖ max_θ ‖σ''_i ⊙ (X u_θ)²‖ on a fine grid of the circle, refined."""
    s2 = net.activation.sigma_second(X @ net.W.T)  # (n, N)
    norms = np.linalg.norm(net.a, axis=1)

    def value(t):
        U = np.stack([np.cos(t), np.sin(t)])  # (2, k)
        P = (X @ U) ** 2  # (n, k)
        return np.linalg.norm(s2[:, :, None] * P[:, None, :], axis=0)  # (N, k)

    t = np.linspace(0.0, math.pi, 20001)
    v = value(t)
    i, k = np.unravel_index(np.argmax(v * norms[:, None]), v.shape)
    fine = np.linspace(t[max(k - 1, 0)], t[min(k + 1, t.size - 1)], 20001)
    return float(net.s * norms[i] * value(fine)[i].max())


@pytest.mark.parametrize("C", [2, 3, 4])
@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_local_beta_with_outputs(C, activation):
    """β_loc = s max_i ‖a_i‖ max_{‖w‖=1} ‖Σ_j w_j σ''_ij x_j x_jᵀ‖ equals the spectral norm
    of the dense third-order tensor ∂²f_r/∂θ∂θ (torch.func Hessians of all m outputs; a
    power iteration with restarts) and a grid over the unit circle (d = 2)."""
    torch = pytest.importorskip("torch")
    net, X = make(C, activation, "gaussian", n=5, d=2, N=6, scaling="standard", seed=C)
    _, f, theta0 = torch_model(net, X)
    T = torch.func.jacfwd(torch.func.jacrev(f))(theta0).numpy()  # (m, P, P)
    dense = _tensor_power_iteration(T, 60, np.random.default_rng(0))
    grid = _grid_beta(net, X)
    got = net.local_beta(X)
    assert got is not None
    assert got.value == pytest.approx(grid, rel=1e-9)
    assert got.value == pytest.approx(dense, rel=1e-9)
    one = TwoLayerNetwork(net.W, net.a[:, 0], net.s, net.activation)
    assert got.value == pytest.approx(math.sqrt(C) * one.local_beta(X).value, rel=1e-9)


# ------------------------------------------------------------------ rounding


def _mp_gram(net: TwoLayerNetwork, X: np.ndarray):
    """K0 at 200 bits from the float inputs: z exact, σ' by mpmath, sums exact to ~1e-50."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp
    mp.prec = 200
    n, d = X.shape
    N, C = net.a.shape
    name = net.activation.name

    def prime(z):
        if name == "tanh":
            return 1 - mpmath.tanh(z) ** 2
        if name == "gelu":
            return mpmath.ncdf(z) + z * mpmath.npdf(z)
        return mp.mpf(1) if z > 0 else mp.mpf(0)

    Xm = [[mp.mpf(float(v)) for v in row] for row in X]
    Wm = [[mp.mpf(float(v)) for v in row] for row in net.W]
    S = [[net.s * prime(mp.fsum(Xm[j][k] * Wm[i][k] for k in range(d))) for i in range(N)]
         for j in range(n)]  # fmt: skip
    K = [[mp.mpf(0)] * (n * C) for _ in range(n * C)]
    for j in range(n):
        for k in range(j, n):
            xx = mp.fsum(Xm[j][t] * Xm[k][t] for t in range(d))
            prods = [S[j][i] * S[k][i] for i in range(N)]
            for c in range(C):
                for c2 in range(C):
                    v = xx * mp.fsum(net.a[i, c] * net.a[i, c2] * prods[i] for i in range(N))
                    K[j * C + c][k * C + c2] = K[k * C + c2][j * C + c] = v
    return K


@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu"])
def test_rounding_bound_covers_the_error(activation):
    """‖K̂0 − K0‖₂ ≤ E_K with K0 from mpmath at 200 bits (C = 3 outputs, m = 18)."""
    mpmath = pytest.importorskip("mpmath")
    net, X = make(3, activation, "gaussian", n=6, d=3, N=300, seed=7)
    K_hat = net.gram(X)
    K = _mp_gram(net, X)
    err = np.array([[float(mpmath.mpf(float(K_hat[r, q])) - K[r][q]) for q in range(18)]
                    for r in range(18)])  # fmt: skip
    measured = float(np.linalg.norm(err, 2))
    bound = net.gram_error(X, float(np.trace(K_hat))).value
    assert 0.0 < measured <= bound
    assert bound <= 1e-11 * float(np.trace(K_hat))  # useful: O((N + d)·u)·tr K


# -------------------------------------------------------------------- memory


def test_memory_plans_count_the_output_gram():
    net, _ = make(10, "tanh", "gaussian", n=512, d=64, N=64)
    m = 512 * 10
    assert net.peak_bytes("gram", 512) >= 8 * 2 * m * m
    assert net.gram_flops(512) == m * m * 64
    one = TwoLayerNetwork(net.W, net.a[:, 0], net.s, net.activation)
    # the Gram and its workspace are C² = 100 times the one-output ones
    assert net.peak_bytes("gram", 512) - one.peak_bytes("gram", 512) >= 99 * 8 * 2 * 512**2
    ms = ModelSpec(width=8192, activation="tanh", init="gaussian")
    size, words = plan_bytes(ms, 512, 64, outputs=10)
    assert "m = n·C = 5,120" in words and "100×" in words
    assert size >= plan_bytes(ms, 512, 64)[0]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gram_through_scipys_blas(activation):
    """m = 516 > 512: the Gram goes through SciPy's dsyrk (a Fortran accumulator, its
    transpose multiplied by X Xᵀ's transpose); it equals J Jᵀ from the torch Jacobian."""
    net, X = make(4, activation, "symmetric", n=129, d=3, N=10, seed=2)
    J, _ = torch_jacobian(net, X)
    K = net.gram(X)
    assert K.shape == (516, 516) and np.array_equal(K, K.T) and K.flags.c_contiguous
    assert np.abs(K - J @ J.T).max() <= 1e-13 * float(np.trace(K))


# ------------------------------------------------------ (H2): a readout of rank < C


def _rank_deficient_readout(N: int, C: int, rng) -> np.ndarray:
    """±1 readout (N, C) whose last column repeats the first: a v = 0 for v = e_0 − e_{C−1}."""
    a = rng.choice([-1.0, 1.0], size=(N, C))
    a[:, -1] = a[:, 0]
    return a


@pytest.mark.parametrize(("N", "C", "dependent"), [(2, 3, False), (6, 3, True), (8, 4, True)])
def test_readout_of_rank_below_c_is_an_obstruction(N, C, dependent):
    """rank a < C (N < C, or dependent columns): each point's C rows of the dense J0 are
    dependent, so σ_min(J0) = 0 (≤ a few u·σ_max), and ``obstruction`` names it with the
    rank; with m ≤ P (n·C ≤ N·d) the cause is the readout alone, not the parameter count."""
    rng = np.random.default_rng(C + N)
    n, d = 2, 6
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((N, d)) / math.sqrt(d)
    a = _rank_deficient_readout(N, C, rng) if dependent else rng.choice([-1.0, 1.0], (N, C))
    ms = ModelSpec(init="file", init_path="w0.npz", activation="tanh")
    net = build(ms, d, rng, FileContext(W, a), outputs=C)
    m, P = n * C, net.n_params
    assert m <= P
    rank = int(np.linalg.matrix_rank(a))
    assert rank < C
    J, _ = torch_jacobian(net, X)
    sv = np.linalg.svd(J, compute_uv=False)
    assert sv[m - 1] <= 8 * m * np.finfo(float).eps * sv[0]
    assert np.linalg.matrix_rank(J) <= n * rank
    obstruction = net.obstruction(X)
    assert obstruction is not None
    assert (obstruction.code, obstruction.rank) == ("readout_rank", rank)
    # a full-rank readout of the same shape has none (random ±1 columns, N ≥ C)
    if N >= C:
        a_full = a.copy()
        a_full[:, -1] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0) * a[:, 0]
        assert np.linalg.matrix_rank(a_full) == C
        assert build(ms, d, rng, FileContext(W, a_full), outputs=C).obstruction(X) is None


def test_readout_rank_through_the_cli(spec_file, tmp_path, capsys):
    """`ntkcheck certify` says NOT APPLICABLE with the reason and the fix: a dependent
    readout given by init: file, and a width below C."""
    from ntkcheck.cli import main

    rng = np.random.default_rng(0)
    d, N, C = 6, 6, 3
    a = _rank_deficient_readout(N, C, rng)
    np.savez(tmp_path / "w0.npz", W=rng.standard_normal((N, d)) / math.sqrt(d), a=a)
    data = f"data: {{n: 4, d: {d}, outputs: {C}, target: random}}\n"
    specs = {
        "file": "model: {init: file, init_path: w0.npz, activation: tanh}\n",
        "narrow": "model: {width: 2, activation: tanh}\n",
    }
    for name, model in specs.items():
        path = spec_file(f"seed: 0\ngamma: 1.0\n{data}{model}", f"{name}.yaml")
        code = main(["certify", str(path), "--format", "json"])
        out = json.loads(capsys.readouterr().out)["results"][0]
        # the file's readout has rank ≤ 2; a 2 × 3 random ±1 readout rank 1 or 2
        rank = int(np.linalg.matrix_rank(a)) if name == "file" else None
        if rank is None:
            found = re.search(r"rank (\d) < C", out["certificate"]["message"])
            assert found is not None
            rank = int(found.group(1))
            assert rank in (1, 2)
        assert code == 1
        assert out["certificate"]["status"] == "not_applicable"
        assert out["certificate"]["message"] == (
            f"(H2) fails: the model's 3 outputs are linearly dependent at every input (its "
            f"fixed output weights have rank {rank} < C = 3): each point's 3 rows of J0 are "
            "dependent, so σ_min = 0; the readout a (model.width × C) needs rank C: "
            "model.width ≥ C neurons and linearly independent columns of a"
        )
        main(["certify", str(path)])
        text = capsys.readouterr().out
        assert "NOT APPLICABLE" in text and "linearly dependent" in text
