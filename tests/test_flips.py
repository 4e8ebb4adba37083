"""Tests of the activation-flip drift bound (ntkcheck/models/flips.py, THEORY.md §10).

Everything here is independent of the module under test: the margins, hulls and greedy
fill are recomputed with plain loops, the Jacobians are built densely from the row
formula, and the adversary constructs real weights with ``scipy.optimize.nnls``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import nnls

from ntkcheck.models.flips import FlipBound, _upper_hulls, flip_bound, jump_of

U = 2.0**-53
LEAKY = 0.2
# Reference ↔ module: same formula, different code (plain loops, 1-D dots instead of BLAS,
# gift wrapping instead of divide and conquer). Margins then differ by a few ulps, which
# moves G by ~d·u·α/m relative (α = Σ|w_k x_k|/‖x‖ ≥ m): ~1e-15 for these small random
# cases, whose smallest margins are not tiny; 1e-12 leaves three orders of magnitude.
RTOL = 1e-12


# ---------------------------------------------------------------- reference implementation


def ref_margin_sq(w: np.ndarray, x: np.ndarray) -> float:
    """The corrected squared margin of the module docstring, one pair at a time."""
    d = x.size
    e = math.frexp(float(np.max(np.abs(x))))[1]
    xs = np.ldexp(x, max(1 - e, 0))
    nu = math.sqrt(float(np.dot(xs, xs)))
    z = float(np.dot(w, xs))
    big_a = float(np.dot(np.abs(w), np.abs(xs)))
    m = max(abs(z) / nu - (2 * d + 4) * U * big_a / nu, 0.0)
    mu = m * m
    return mu if mu > 1e-280 and math.isfinite(mu) else 0.0


def ref_points(X, W):
    """Per neuron: list of (μ_ij, ‖x_j‖²) over the non-zero rows."""
    rows = [j for j in range(X.shape[0]) if float(np.dot(X[j], X[j])) > 0.0]
    return [
        [(ref_margin_sq(W[i], X[j]), float(np.dot(X[j], X[j]))) for j in rows]
        for i in range(W.shape[0])
    ]


def ref_hull(points):
    """Least concave majorant of g(u) = Σ_{μ ≤ u} gain: (g(0), [(Δμ, Δg)] in x order), O(n²)."""
    g0 = sum(g for mu, g in points if mu == 0.0)
    corners: list[tuple[float, float]] = []
    acc = g0
    for mu, g in sorted(p for p in points if p[0] > 0.0):
        acc += g
        if corners and corners[-1][0] == mu:
            corners[-1] = (mu, acc)
        else:
            corners.append((mu, acc))
    segs = []
    cx, cy = 0.0, g0
    rest = corners
    while rest:  # gift wrapping: steepest slope from the current vertex, farthest on ties
        best, kbest = -math.inf, 0
        for k, (px, py) in enumerate(rest):
            slope = (py - cy) / (px - cx)
            if slope >= best:
                best, kbest = slope, k
        px, py = rest[kbest]
        segs.append((px - cx, py - cy))
        cx, cy = px, py
        rest = rest[kbest + 1 :]
    return g0, segs


class RefG:
    """Reference G(u): per-neuron hulls + greedy fill by slope (plain Python)."""

    def __init__(self, X, W, a):
        self.free = 0.0
        segs = []
        for i, pts in enumerate(ref_points(X, W)):
            g0, hull = ref_hull(pts)
            w = float(a[i]) ** 2
            self.free += w * g0
            segs += [(w * dg / dl, dl, w * dg) for dl, dg in hull if w > 0.0]
        self.segs = sorted(segs, key=lambda t: -t[0])

    def __call__(self, u: float) -> float:
        total = self.free
        for slope, length, gain in self.segs:
            if u >= length:
                total += gain
                u -= length
            else:
                return total + slope * u
        return total


def budgets(fb: FlipBound, count: int = 40) -> np.ndarray:
    """Budgets u = ρ² spanning every segment: 0, geometric grid, and beyond the end."""
    top = float(fb.cum_lengths[-1]) if fb.n_segments else 1.0
    return np.concatenate(([0.0], np.geomspace(1e-6 * top + 1e-300, 2.0 * top, count)))


def random_case(rng, n, N, d, *, ties=False, zero_row=False):
    X = rng.standard_normal((n, d))
    if ties:
        X = np.round(X)  # repeated and collinear margins, some exactly zero
    if zero_row:
        X[rng.integers(n)] = 0.0
    W = rng.standard_normal((N, d))
    if ties:
        W = np.round(W)
    a = rng.choice([-1.0, 1.0, 0.5, -2.0], N)
    return X, W, a


# ------------------------------------------------------------------------------ jump_of


def test_jump_of():
    assert jump_of("relu") == 1.0
    assert jump_of("leaky_relu") == pytest.approx(0.99, abs=1e-15)
    assert jump_of("leaky_relu", 0.2) == pytest.approx(0.8, abs=1e-15)
    assert jump_of("abs") == 2.0
    for bad in ("tanh", "gelu", "ReLU", ""):
        with pytest.raises(ValueError):
            jump_of(bad)
    with pytest.raises(ValueError):
        jump_of("leaky_relu", math.nan)


# ------------------------------------------------------------------ exactness of G


@pytest.mark.parametrize("seed", range(12))
def test_brute_force_tiny(seed):
    """N ≤ 3, n ≤ 5: every subset of (neuron, point) flips, cost Σ_i max_{j∈S_i} m_ij².

    The exact combinatorial maximum within the budget never exceeds G (the relaxation
    dominates), and G equals the reference implementation.
    """
    rng = np.random.default_rng(seed)
    n, N, d = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    X, W, a = random_case(rng, n, N, d, ties=seed % 3 == 0, zero_row=seed % 4 == 1)
    fb = flip_bound(X, W, a, 1.0, 1.0)
    ref = RefG(X, W, a)
    pts = ref_points(X, W)
    per_neuron = []  # (costs, gains) of every subset S_i of points
    for i in range(N):
        costs, gains = [], []
        for mask in itertools.product((0, 1), repeat=len(pts[i])):
            chosen = [p for p, bit in zip(pts[i], mask, strict=True) if bit]
            costs.append(max((mu for mu, _ in chosen), default=0.0))
            gains.append(a[i] ** 2 * sum(g for _, g in chosen))
        per_neuron.append((np.array(costs), np.array(gains)))
    cost = sum(np.meshgrid(*[c for c, _ in per_neuron], indexing="ij")).ravel()
    gain = sum(np.meshgrid(*[g for _, g in per_neuron], indexing="ij")).ravel()
    for u in np.concatenate((budgets(fb), np.unique(cost))):
        exact = float(gain[cost <= u].max())
        relaxed = fb.gain(u)
        assert exact <= relaxed * (1 + RTOL) + 1e-300
        assert relaxed == pytest.approx(ref(u), rel=RTOL, abs=1e-300)
        assert fb.h(math.sqrt(u)) == pytest.approx(math.sqrt(relaxed), rel=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_matches_reference(seed):
    """Larger random networks, with ties, zero margins, a zero row, a_i of any size."""
    rng = np.random.default_rng(100 + seed)
    n, N, d = int(rng.integers(5, 40)), int(rng.integers(1, 12)), int(rng.integers(1, 6))
    X, W, a = random_case(rng, n, N, d, ties=seed % 2 == 0, zero_row=seed % 3 == 0)
    fb = flip_bound(X, W, a, 0.7, 1.0)
    ref = RefG(X, W, a)
    assert fb.n_segments == len(ref.segs)
    assert fb.free_gain == pytest.approx(ref.free, rel=RTOL, abs=0.0)
    for u in budgets(fb):
        assert fb.gain(u) == pytest.approx(ref(u), rel=RTOL, abs=1e-300)
    assert np.all(np.diff(fb.slopes) <= 0.0)
    assert np.all(fb.lengths > 0.0) and np.all(fb.gains > 0.0)


def test_divide_and_conquer_path(monkeypatch):
    """The cascade case: for neuron 0 the corners form a long concave chain followed by a
    point of huge gain, so local pruning removes one vertex per pass and the row goes to
    divide and conquer. The result still equals the reference."""
    import ntkcheck.models.flips as module

    n = 40
    cos = np.arange(1, n + 1) / n  # margins of w = e1: m_j = cos θ_j = j/n (concave corners)
    X = np.column_stack((cos, np.sqrt(1.0 - cos**2)))
    X[-1] *= 100.0  # largest margin, huge gain: the chain before it is not on the hull
    rng = np.random.default_rng(7)
    W = np.vstack(([1.0, 0.0], rng.standard_normal((5, 2))))
    a = np.ones(6)
    merged_rows: list[int] = []
    original = module._merge_hulls

    def spy(row, *args):
        merged_rows.append(len(np.unique(row)))
        return original(row, *args)

    monkeypatch.setattr(module, "_merge_hulls", spy)
    fb = flip_bound(X, W, a, 1.0, 1.0)
    assert merged_rows and merged_rows[0] >= 1  # some row did need divide and conquer
    ref = RefG(X, W, a)
    assert fb.n_segments == len(ref.segs)
    for u in budgets(fb):
        assert fb.gain(u) == pytest.approx(ref(u), rel=RTOL, abs=1e-300)
    # unfinished rows batched across blocks (flushes inside the loop) change nothing;
    # 1e-13: only the BLAS call shape differs (see test_block_size_independence)
    for block_values in (1, n + 1, 3 * n):
        merged_rows.clear()
        other = flip_bound(X, W, a, 1.0, 1.0, block_values=block_values)
        assert merged_rows and other.n_segments == fb.n_segments
        for u in budgets(fb):
            assert other.gain(u) == pytest.approx(fb.gain(u), rel=1e-13)


def _ref_row_hull(xr, yr):
    """Upper hull of one row's points by gift wrapping (ties in x: keep the highest)."""
    pts: list[tuple[float, float]] = []
    for px, py in zip(xr, yr, strict=True):
        if pts and pts[-1][0] == px:
            pts[-1] = (px, py)
        else:
            pts.append((px, py))
    out = [pts[0]]
    rest = pts[1:]
    while rest:
        cx, cy = out[-1]
        best, kbest = -math.inf, 0
        for k, (px, py) in enumerate(rest):
            slope = (py - cy) / (px - cx)
            if slope >= best:
                best, kbest = slope, k
        out.append(rest[kbest])
        rest = rest[kbest + 1 :]
    return out


@pytest.mark.parametrize("passes", [0, 1, 2, 12])
def test_upper_hulls_all_paths(passes):
    """The vectorized hull (pruning only, divide and conquer only, mixed) equals gift
    wrapping exactly (same vertices, bit for bit), on random, tied, collinear and cascade
    rows; and each row's hull is the same whether computed alone or within a block."""
    rng = np.random.default_rng(11)
    for trial in range(60):
        b, length = int(rng.integers(1, 6)), int(rng.integers(1, 70))
        kind = trial % 5
        x = np.sort(rng.random((b, length)), axis=1)
        g = rng.random((b, length)) + 0.01
        if kind == 1:  # ties in x
            x = np.sort(np.round(x * 5) / 5, axis=1)
        elif kind == 2:  # cascade: the last point dominates
            g[:, -1] = 1000.0
        elif kind == 3:  # concave-ish, like chi-square margins
            x = np.sort(rng.random((b, length)) ** 3, axis=1)
            g = np.ones((b, length))
        elif kind == 4:  # exactly collinear runs
            x = np.sort(rng.integers(0, 8, (b, length)).astype(float), axis=1)
            g = np.where(rng.random((b, length)) < 0.5, 1.0, 2.0)
        x[:, 0] = 0.0
        y = np.cumsum(g, axis=1)
        row, xs, ys = _upper_hulls(x, y, passes=passes)
        for r in range(b):
            got = list(zip(xs[row == r], ys[row == r], strict=True))
            assert got == _ref_row_hull(x[r], y[r])
            alone = _upper_hulls(x[r : r + 1], y[r : r + 1], passes=passes)
            assert np.array_equal(alone[1], xs[row == r]) and np.array_equal(alone[2], ys[row == r])


# ------------------------------------------------------------ rigour by search (§11)


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    """σ' with the project's conventions at 0: relu 0, leaky_relu α, abs 0."""
    if name == "relu":
        return (z > 0.0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(z > 0.0, 1.0, LEAKY)
    return np.sign(z)


def true_drift(X, W0, W, a, s, name) -> float:
    """‖J_W − J_W0‖_op from the dense Jacobian built with the row formula."""
    D = s * a[None, :] * (sigma_prime(name, X @ W.T) - sigma_prime(name, X @ W0.T))
    J = (D[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
    return float(np.linalg.norm(J, 2))


def min_move(w0, Xs, eta):
    """Least-norm δ with ⟨w0 + δ, x⟩ strictly across 0 for every row x of Xs (by η‖x‖).

    Least-distance programming min ‖δ‖ s.t. Gδ ≥ h through NNLS (Lawson & Hanson, ch. 23):
    with E = [Gᵀ; hᵀ], f = e_{d+1}, û = argmin_{u≥0} ‖Eu − f‖, r = Eû − f: δ = −r[:d]/r[d]
    (None when r = 0: the flips are incompatible).
    """
    z0 = Xs @ w0
    G = -np.sign(z0)[:, None] * Xs
    h = np.abs(z0) + eta * np.linalg.norm(Xs, axis=1)
    E = np.vstack((G.T, h[None, :]))
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f)
    r = E @ u - f
    if abs(r[-1]) < 1e-12:
        return None
    delta = -r[:-1] / r[-1]
    return delta if np.all(np.sign(Xs @ (w0 + delta)) == -np.sign(z0)) else None


def adversarial_moves(X, W0, rho, rng):
    """Weight moves with ‖Δ‖_F ≤ ρ that try to make ‖J − J0‖_op large.

    Strategies: (1) one point, as many neurons as the budget allows, cheapest first (rank
    one: op = Frobenius); (2) greedy over all (neuron, point) pairs, cheapest margin
    first; (3) greedy in random orders; (4) random directions of norm ρ. Moves are
    least-norm (``min_move``) and a flip is kept only if the total stays within ρ².
    """
    n, N = X.shape[0], W0.shape[0]
    eta = 1e-9
    margins = np.abs(W0 @ X.T) / np.linalg.norm(X, axis=1)  # (N, n)

    def greedy(pairs):
        sets: list[list[int]] = [[] for _ in range(N)]
        delta = np.zeros_like(W0)
        used = 0.0
        for i, j in pairs:
            step = min_move(W0[i], X[sets[i] + [j]], eta)
            if step is None:
                continue
            new_used = used - float(delta[i] @ delta[i]) + float(step @ step)
            if new_used <= rho * rho:
                sets[i].append(j)
                delta[i] = step
                used = new_used
        return delta

    for j in range(n):
        yield greedy([(int(i), j) for i in np.argsort(margins[:, j])])
    pairs = [(i, j) for i in range(N) for j in range(n)]
    yield greedy(sorted(pairs, key=lambda p: margins[p]))
    for _ in range(3):
        yield greedy([pairs[k] for k in rng.permutation(len(pairs))])
    for _ in range(3):
        v = rng.standard_normal(W0.shape)
        yield rho * (1.0 - 1e-12) * v / np.linalg.norm(v)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs"])
def test_rigour_by_search(name):
    """No constructed W beats the bound: ‖J_W − J0‖_op ≤ h(‖W − W0‖_F), for random
    networks and budgets ρ from below the smallest margin to beyond all of them.

    Measured slack min h(ρ)/‖J_W − J0‖_op over all moves (seeds below): relu 1.000000000,
    leaky_relu 1.000000009, abs 1.000000002 — the bound is attained just past the smallest
    margin, where one flip realizes the first hull corner (rank one, op = Frobenius); at
    ρ = 2·max margin the best moves found reach 1.114 (relu), 1.103 (leaky_relu), 1.182
    (abs). The (1 + 1e-12) factor only absorbs the rounding of h and of the dense SVD.
    """
    rng = np.random.default_rng({"relu": 1, "leaky_relu": 2, "abs": 3}[name])
    c = jump_of(name, LEAKY)
    worst = math.inf
    for _ in range(3):
        n, N, d = int(rng.integers(4, 9)), int(rng.integers(3, 7)), int(rng.integers(2, 5))
        X = rng.standard_normal((n, d))
        W0 = rng.standard_normal((N, d))
        a = rng.choice([-1.0, 1.0, 0.5], N)
        s = float(rng.uniform(0.2, 2.0))
        fb = flip_bound(X, W0, a, s, c)
        m = np.sort((np.abs(W0 @ X.T) / np.linalg.norm(X, axis=1)).ravel())
        for rho in (0.5 * m[0], m[0] * 1.01, m[len(m) // 4], m[len(m) // 2], 2.0 * m[-1]):
            for delta in adversarial_moves(X, W0, float(rho), rng):
                moved = float(np.linalg.norm(delta))
                assert moved <= rho * (1 + 1e-12)
                drift = true_drift(X, W0, W0 + delta, a, s, name)
                bound = fb.h(moved)
                assert drift <= bound * (1 + 1e-12)
                if drift > 0.0:
                    worst = min(worst, bound / drift)
    assert 1.0 <= worst < 2.0, worst  # the adversary does get close: the search is not idle


# ------------------------------------------------------------------- the two details


def test_underflowing_margin_is_flippable():
    """|⟨w, x⟩|/‖x‖ = 1e-160: its square (1e-320) underflows, so it is a zero margin and
    free at every ρ. Dropping it would certify a radius at which the sign really flips."""
    X = np.array([[1.0, 0.0]])
    W0 = np.array([[1e-160, 1.0]])
    a = np.ones(1)
    fb = flip_bound(X, W0, a, 1.0, 1.0)
    assert fb.free_gain == 1.0 and fb.min_margin == 0.0
    assert fb.h(0.0) == 1.0 and fb.safe_radius(0.5) == 0.0
    W = W0 - np.array([[2e-160, 0.0]])  # ‖W − W0‖ = 2e-160 flips the relu
    assert true_drift(X, W0, W, a, 1.0, "relu") == 1.0 <= fb.h(2e-160)
    # A margin whose square is representable (1e-100 → 1e-200 > 1e-280) is not free.
    fb = flip_bound(X, np.array([[1e-100, 1.0]]), a, 1.0, 1.0)
    assert fb.free_gain == 0.0 and fb.h(0.0) == 0.0
    assert fb.min_margin == pytest.approx(1e-100, rel=1e-14)
    assert fb.h(1e-100) == pytest.approx(1.0, rel=1e-14)
    assert fb.safe_radius(0.5) == pytest.approx(0.5e-100, rel=1e-14)  # G(u) = u/m² up to m²


def test_tiny_rows_scaled_exactly():
    """A row whose ‖x‖² is subnormal (2^-1040·25) has the same margins as its normal
    multiple: rows are rescaled by a power of two (exact) before the margins."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((7, 2))
    big = flip_bound(np.array([[3.0, 4.0]]), W, np.ones(7), 1.0, 1.0)
    tiny = flip_bound(np.array([[3.0, 4.0]]) * 2.0**-520, W, np.ones(7), 1.0, 1.0)
    assert tiny.min_margin == big.min_margin
    assert np.array_equal(np.sort(tiny.lengths), np.sort(big.lengths))


def test_zero_row_ignored():
    rng = np.random.default_rng(6)
    X, W, a = random_case(rng, 9, 5, 3)
    with_zero = np.insert(X, 4, 0.0, axis=0)
    fb0, fb1 = flip_bound(X, W, a, 1.0, 1.0), flip_bound(with_zero, W, a, 1.0, 1.0)
    assert fb0.free_gain == fb1.free_gain and fb0.min_margin == fb1.min_margin
    for field in ("slopes", "lengths", "gains"):
        assert np.array_equal(getattr(fb0, field), getattr(fb1, field))
    # all rows zero: no gain at all, every radius is safe
    fb = flip_bound(np.zeros((3, 2)), W[:, :2], a, 1.0, 1.0)
    assert fb.n_segments == 0 and fb.h(1e9) == 0.0 and fb.safe_radius(0.0) == math.inf


def test_output_weights_enter_squared():
    rng = np.random.default_rng(8)
    X, W, _ = random_case(rng, 12, 4, 3)
    a = np.array([2.0, -0.5, 0.0, 3.0])
    fb = flip_bound(X, W, a, 1.0, 1.0)
    ref = RefG(X, W, a)
    for u in budgets(fb):
        assert fb.gain(u) == pytest.approx(ref(u), rel=RTOL, abs=1e-300)
    # a = 0 is the same as no neuron; a → λa multiplies G by λ² (power of two: exactly)
    drop = flip_bound(X, W[a != 0], a[a != 0], 1.0, 1.0)
    scaled = flip_bound(X, W, 4.0 * a, 1.0, 1.0)
    for u in budgets(fb):
        assert drop.gain(u) == pytest.approx(fb.gain(u), rel=1e-14)
        assert scaled.gain(u) == pytest.approx(16.0 * fb.gain(u), rel=1e-14)
    # s and c only scale h
    other = flip_bound(X, W, a, 0.25, 2.0)
    assert other.h(0.3) == pytest.approx(0.5 * fb.h(0.3), rel=1e-15)


# -------------------------------------------------------------------- safe radius


@pytest.mark.parametrize("seed", range(6))
def test_safe_radius_inverts_h(seed):
    rng = np.random.default_rng(200 + seed)
    X, W, a = random_case(rng, 25, 6, 3, ties=seed % 2 == 1)
    fb = flip_bound(X, W, a, 0.5, jump_of("abs"))
    low, high = fb.h(0.0), fb.h(math.inf)
    assert high == pytest.approx(fb.scale * math.sqrt(fb.total_gain), rel=1e-15)
    for frac in np.linspace(0.0, 1.0, 23)[1:-1]:
        target = low + frac * (high - low)
        rho = fb.safe_radius(target)
        assert 0.0 < rho < math.inf
        # 1e-9 is far above the rounding of the inversion (≈1e-15 relative) and far below
        # any change of slope: h is strictly increasing around ρ*
        assert fb.h(rho * (1 - 1e-9)) <= target <= fb.h(rho * (1 + 1e-9))
    # at exactly h(∞) the squaring of the target may land an ulp below G(∞): ρ* is then
    # the end of the last segment instead of ∞; just above h(∞) it is ∞
    assert fb.safe_radius(high * (1 + 1e-12)) == math.inf == fb.safe_radius(2.0 * high)
    assert fb.safe_radius(high) >= math.sqrt(fb.cum_lengths[-1]) * (1 - 1e-12)
    if low > 0.0:
        assert fb.safe_radius(0.5 * low) == 0.0
    assert fb.h(fb.safe_radius(low) * (1 + 1e-9) + 1e-300) >= low  # ρ*(h(0)) ≈ 0 up to rounding


def test_safe_radius_edge_cases():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    W = np.array([[0.0, 2.0]])  # margin 0 on x_1 (free), 2 on x_2
    fb = flip_bound(X, W, np.ones(1), 1.0, 1.0)
    assert fb.free_gain == 1.0 and fb.n_segments == 1
    assert fb.safe_radius(0.999) == 0.0  # h(0) = 1 already
    assert fb.safe_radius(1.0) == 0.0  # h(ρ) > 1 for every ρ > 0
    assert fb.safe_radius(math.sqrt(2.0)) == math.inf
    # G(u) = 1 + u/4 on [0, 4]: h(ρ) = √(1 + ρ²/4) = 1.2 at ρ = √(4·0.44)
    assert fb.safe_radius(1.2) == pytest.approx(math.sqrt(1.76), rel=1e-15)
    assert flip_bound(X, W, np.ones(1), 1.0, 0.0).safe_radius(0.0) == math.inf  # c = 0
    with pytest.raises(ValueError):
        fb.safe_radius(-1.0)
    with pytest.raises(ValueError):
        fb.h(math.nan)


# --------------------------------------------------------------------- block size


def test_block_size_independence():
    """Every per-neuron step is row-local, so the blocking changes nothing but the BLAS call
    shape, whose rounding can differ in the last bit (OpenBLAS: gemv for one row, other
    kernels for thin blocks). So: same segment count, G equal to 1e-13 relative."""
    rng = np.random.default_rng(9)
    X, W, a = random_case(rng, 50, 37, 6, zero_row=True)
    ref = flip_bound(X, W, a, 1.0, 1.0)
    for block_values in (1, 49, 50, 151, 1000, 1 << 21):
        fb = flip_bound(X, W, a, 1.0, 1.0, block_values=block_values)
        assert fb.n_segments == ref.n_segments
        assert fb.free_gain == pytest.approx(ref.free_gain, rel=1e-13)
        for u in budgets(ref):
            assert fb.gain(u) == pytest.approx(ref.gain(u), rel=1e-13)
    # with identical margins (same call shapes) the results are bitwise identical
    one = flip_bound(X, W, a, 1.0, 1.0, block_values=50 * 37)
    assert np.array_equal(one.slopes, ref.slopes) and one.free_gain == ref.free_gain


# --------------------------------------------------------------------- validation


def test_bad_input():
    X, W, a = np.ones((3, 2)), np.ones((4, 2)), np.ones(4)
    for args in (
        (np.ones((3, 3)), W, a, 1.0, 1.0),
        (X, W, np.ones(3), 1.0, 1.0),
        (X, W, a, 0.0, 1.0),
        (X, W, a, 1.0, -1.0),
        (X, W, a, math.inf, 1.0),
        (np.full((3, 2), math.nan), W, a, 1.0, 1.0),
        (X, np.full((4, 2), math.inf), a, 1.0, 1.0),
        (np.full((3, 2), 1e200), W, a, 1.0, 1.0),  # ‖x‖² overflows
    ):
        with pytest.raises(ValueError):
            flip_bound(*args)
    with pytest.raises(ValueError):
        flip_bound(X, W, a, 1.0, 1.0, block_values=0)
    fb = flip_bound(X, np.zeros((0, 2)), np.zeros(0), 1.0, 1.0)
    assert fb.n_segments == 0 and fb.h(1.0) == 0.0 and fb.min_margin == math.inf


def test_overflowing_margin_is_flippable():
    """⟨w, x⟩ overflows (true margin ~1e300): treated as a zero margin, conservatively."""
    fb = flip_bound(np.array([[1e10, 1e10]]), np.array([[1e300, 1e300]]), np.ones(1), 1.0, 1.0)
    assert fb.free_gain == 2e20 and fb.min_margin == 0.0


def test_segments_that_do_not_fit_are_refused_with_their_count(monkeypatch):
    """The kept hull segments (up to n·N) are counted against the usable memory: a
    bound that would not fit is refused with a clear message, not an out-of-memory."""
    from ntkcheck.errors import EstimationError

    rng = np.random.default_rng(3)
    X, W = rng.standard_normal((40, 5)), rng.standard_normal((300, 5))
    a = rng.choice([-1.0, 1.0], 300)
    fb = flip_bound(X, W, a, 0.1, 1.0, block_values=40 * 50)
    assert fb.n_segments > 1000  # so that 40 kB cannot hold them at 96 bytes each
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "40K")
    with pytest.raises(EstimationError, match=r"activation-flip bound \(.* hull segments"):
        flip_bound(X, W, a, 0.1, 1.0, block_values=40 * 50)
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "4G")
    again = flip_bound(X, W, a, 0.1, 1.0, block_values=40 * 50)
    assert again.n_segments == fb.n_segments and math.isclose(again.free_gain, fb.free_gain)
