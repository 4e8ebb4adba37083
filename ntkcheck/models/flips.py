"""Activation-flip drift bound for ReLU-like two-layer networks (THEORY.md §10), shared
by the families whose network has that form (``two_layer``; ``mlp`` with one hidden
layer, no bias and a frozen output layer).

Network ``f_W(x) = s Σ_i a_i σ(⟨w_i, x⟩)``, ``θ = W ∈ R^{N×d}``, inputs ``X ∈ R^{n×d}``,
fixed output weights ``a_i``, factor ``s > 0``, and σ' a step with jump ``c``
(:func:`jump_of`: relu 1, leaky_relu ``|1 − α|``, abs 2). Row j, block i of ``J_θ − J0``
is ``s a_i (σ'(⟨w_i,x_j⟩) − σ'(⟨w_i⁰,x_j⟩)) x_j``; it is non-zero only if neuron i
changes side on x_j, which needs ``‖w_i − w_i⁰‖ ≥ m_ij = |⟨w_i⁰,x_j⟩| / ‖x_j‖``. Hence,
with ``δ_i = w_i − w_i⁰``,

    ‖J_θ − J0‖²_op ≤ ‖J_θ − J0‖²_F ≤ s²c² Σ_i a_i² g_i(‖δ_i‖²),
    g_i(u) = Σ_{j : m_ij² ≤ u} ‖x_j‖²,

and ``h(ρ)² = s²c² max{Σ_i a_i² g_i(u_i) : u_i ≥ 0, Σ_i u_i ≤ ρ²}``. Replacing each step
function g_i by its least concave majorant ĝ_i on [0, ∞) (it starts at ``(0, g_i(0))``
— zero margins are free — and passes through the upper corners ``(m_ij², g_i(m_ij²))``)
gives an upper bound, and the relaxed problem is solved exactly by the greedy fill: sort
the hull segments of all neurons by slope (descending, slopes weighted by a_i²) and fill
the budget u = ρ²,

    G(u) = Σ_i a_i² g_i(0) + (greedy fill of segments of total length u),
    h(ρ) = s·c·√G(ρ²).

The safe radius for a drift target t (``t = σ_min/2``) is ``ρ* = sup{ρ : h(ρ) ≤ t}``:
with ``T = t²/(s c)²``, ``ρ* = √(max{u : G(u) ≤ T})``, 0 if ``G(0) > T``, ∞ if the total
gain ``G(∞) ≤ T``.

Several outputs (THEORY.md §14; docs/THEORY.md §12 notes). With a readout matrix whose
row i is ``a_i ∈ R^C`` (``a`` of shape (N, C)), row (j, c), block i of ``J_θ − J0`` is
``s a_ic (σ'(⟨w_i,x_j⟩) − σ'(⟨w_i⁰,x_j⟩)) x_j``: it is non-zero under the same flip
condition, and the C rows of point j together weigh ``Σ_c a_ic² = ‖a_i‖²`` where one
output weighs ``a_i²``. Every statement here holds with ``a_i² → ‖a_i‖²`` (for a ±1
readout, C): the gains, ``G``, ``h``, the safe radius, the pair bound of :class:`FlipDrift`
(the pair's differing blocks, union of two nested flip sets, carry the same weights)
and refinement (1) below, where block i of the C-output ``J_θ − J0`` is
``s·(diag(Δσ'_i) X) ⊗ a_i`` (rows (j, c)), of operator norm ``s ‖a_i‖ ‖diag(Δσ'_i) X‖_op
≤ s ‖a_i‖ c ‖X‖_op``. ``a`` of shape (N,) is one output, as before, bit for bit.

Two further refinements are valid and deliberately NOT applied (the numbers must equal
the formula above): (1) ``‖J_θ − J0‖²_op ≤ Σ_i ‖block_i‖²_op`` and
``‖block_i‖_op ≤ s‖a_i‖c‖X‖_op``, so every g_i may be capped at ``‖X‖²_op``; (2) no sign
can change while ``ρ`` is below the smallest margin, so ``h(ρ) = 0`` for
``ρ < min_ij m_ij`` (:attr:`FlipBound.min_margin`).

Floating point. The margins are the only outward-rounded quantity: a rounding there can
decide whether a sign change is possible at all. Everything else (cumulative sums,
slopes, the orientation tests of the hull, the inversion in ``safe_radius``) is plain
float64: it moves the result by a few ulps of the quantities involved (a near-collinear
hull vertex may be kept or dropped), the sums over up to n·N segments by at most
``γ_{nN}`` relative.

* Rows with ``x_j = 0`` are dropped (gain 0, no division); so are neurons with
  ``a_i = 0``. A non-zero row whose computed ``‖x_j‖²`` is 0 (every ``x_jk²`` underflows)
  is dropped too: its true gain is at most ``d·2^-1075``; likewise a neuron whose a_i²
  underflows to 0.
* Margins are scale invariant in x_j, so each row with ``max_k |x_jk| < 1`` is first
  multiplied by a power of two (exact) to bring ``max_k |x_jk|`` into [1, 2); then
  ``ν_j = ‖x_j‖ ≥ 1`` and nothing in ν underflows.
* Each margin is lowered by its rounding bound, ``m_ij ← max(0, m̃_ij − e_ij)`` with
  ``e_ij = fl(fl(K·u·Ã_ij) / ν̃_j)``, ``K = 2d + 4``, ``u = 2^-53``,
  ``Ã_ij = fl(Σ_k |w_ik x_jk|)``. Why K = 2d + 4 (and not d + 2): with ``α = A/ν ≥ m``,
  the dot product costs ``|z̃ − z| ≤ γ_d A`` (any summation order, with or without FMA —
  BLAS does not use Strassen), the norm ``ν̃ ≥ ν √(1 − γ_d) (1 − u)`` (d products and
  d − 1 additions of non-negative terms, then the square root), the division one more
  u: ``m̃ − m ≤ (d + d/2 + 2)·u·α + O(d²u²α)``. The norm's ``d/2`` is relative to m,
  and m can be as large as α, so a bound ``(d + 2)·u·α`` does not cover it. On top, the
  correction itself is rounded: ``ẽ ≥ K u α (1 − O(d u))``, the subtraction rounds up by
  at most u, and squaring the margin by another u (half an ulp of m). The total need is
  ``(3d/2 + 7/2)·u·α``; K = 2d + 4 leaves ``(d/2 + 1/2)·u·α ≥ u·α``, which for
  ``d ≤ 2^20`` covers the second-order terms (about ``5d²u·u·α ≤ 2^-10·u·α``) and every
  underflow (absolute errors ``≤ (d + 5)·2^-1074`` in all, far below ``u·α`` whenever the
  corrected ``m² > 1e-280``, since then ``α ≥ m̃ > 1e-140``). Larger d is refused.
* Conditioning: a rounding δ in a margin moves the slope of its hull segment by about
  2δ/m relative, so near the smallest margins h is sensitive to how the dot products
  are summed. Two implementations of this formula with different summation orders agree
  to about ``d·u·α/m`` relative there (measured at n = 1024, d = 64, N = 2048: 6e-11 at
  ρ = 3e-7, ≤ 2e-12 for ρ ≥ 1e-5), and one using ``K = d + 2`` differs by up to 2e-7.
* Corrected margins whose square is ``≤ 1e-280`` (or underflows) count as ZERO margins
  (always flippable); dropping them would give a false certificate. A non-finite
  computed margin (overflow in ``⟨w_i, x_j⟩``) is also treated as zero (conservative).

Cost: ``O(nNd)`` for the two matrix products; ``O(nN log n)`` for the per-neuron sorts;
the hulls cost ``O(nN)`` per local-pruning pass (:func:`_prune_hulls`, at most
``PRUNE_PASSES``) plus ``O(n log n)`` per neuron that pruning leaves unfinished
(:func:`_merge_hulls`, divide and conquer); ``O(S log S)`` for the final sort of the
``S ≤ n·N`` segments. No Python loop runs per point or per neuron. Neurons are processed
in blocks of ``max(1, block_values // n)`` (a few ``n × block`` float64 arrays live at
once); the unfinished neurons of several blocks are merged together in batches of about
``block_values`` vertices, so small blocks do not multiply the fixed cost of the divide
and conquer. Only the hull segments are kept across blocks (three float64 and one index
per segment). S can reach n·N (every corner on its neuron's hull), i.e. as much memory
as one ``n × N`` array; it is kept, not spilled (for random data S is much smaller:
about 52 per neuron at n = 1024), and counted as it grows: when ``SEGMENT_BYTES·S``
would not fit in the usable memory the bound refuses with the count instead of
running out of memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..linalg.memory import require
from ..theory.drift import DriftKind

_U = 2.0**-53
ZERO_MARGIN_SQ = 1e-280
#: Peak bytes per kept hull segment: the per-block parts (index, length, gain), their
#: concatenation, the slopes, the sort order and the sorted copies.
SEGMENT_BYTES = 96
MAX_DIM = 1 << 20
PRUNE_PASSES = 12

__all__ = ["FlipBound", "flip_bound", "jump_of"]


def jump_of(name: str, leaky_slope: float = 0.01) -> float:
    """Jump ``c = sup|σ'(z) − σ'(z')|`` of σ': relu 1, leaky_relu ``|1 − α|``, abs 2.

    ``leaky_slope`` is α (only used for leaky_relu). Other names raise ValueError: their
    σ' is continuous (use the Lipschitz β of THEORY.md §6) or unknown.
    """
    if name == "relu":
        return 1.0
    if name == "leaky_relu":
        alpha = float(leaky_slope)
        if not math.isfinite(alpha):
            raise ValueError(f"leaky_slope must be finite, got {leaky_slope!r}")
        return abs(1.0 - alpha)
    if name == "abs":
        return 2.0
    raise ValueError(f"no activation-flip bound for {name!r}: expected relu, leaky_relu or abs")


def _readonly(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    x.setflags(write=False)
    return x


@dataclass(frozen=True, eq=False)
class FlipBound:
    """The drift bound ``h(ρ) = scale·√G(ρ²)`` of THEORY.md §10 (see the module docstring).

    ``slopes``, ``lengths``, ``gains``: the hull segments of all neurons (gain already
    weighted by a_i², ``slope = gain / length``), sorted by slope, descending.
    ``free_gain = Σ_i a_i² g_i(0) = G(0)``; ``scale = s·c``; ``min_margin`` is the smallest
    corrected margin ``min_ij m_ij`` (0 when some margin is zero, ∞ when there is no pair).
    ``cum_lengths``/``cum_gains`` (derived, length S + 1, starting at 0) serve the O(log S)
    evaluations. Arrays are read-only; instances compare by identity (``eq=False``).
    """

    free_gain: float
    slopes: np.ndarray
    lengths: np.ndarray
    gains: np.ndarray
    scale: float
    n_segments: int
    min_margin: float
    cum_lengths: np.ndarray = field(init=False, repr=False)
    cum_gains: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        slopes, lengths, gains = (_readonly(v) for v in (self.slopes, self.lengths, self.gains))
        if not slopes.ndim == lengths.ndim == gains.ndim == 1:
            raise ValueError("slopes, lengths and gains must be 1-D")
        if not slopes.size == lengths.size == gains.size == self.n_segments:
            raise ValueError("slopes, lengths, gains and n_segments disagree")
        object.__setattr__(self, "slopes", slopes)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "gains", gains)
        object.__setattr__(
            self, "cum_lengths", _readonly(np.concatenate(([0.0], np.cumsum(lengths))))
        )
        object.__setattr__(self, "cum_gains", _readonly(np.concatenate(([0.0], np.cumsum(gains)))))

    @property
    def total_gain(self) -> float:
        """``G(∞) = free_gain + Σ gains``: the gain when every sign may change."""
        return self.free_gain + float(self.cum_gains[-1])

    def gain(self, u: float) -> float:
        """``G(u)``: free gain plus the greedy fill of the segments up to total length u ≥ 0."""
        u = float(u)
        if not u >= 0.0:
            raise ValueError(f"u must be ≥ 0, got {u!r}")
        if u >= self.cum_lengths[-1]:
            return self.total_gain
        k = int(np.searchsorted(self.cum_lengths, u, side="right")) - 1
        rest = u - float(self.cum_lengths[k])
        partial = min(float(self.gains[k]), float(self.slopes[k]) * rest) if rest > 0.0 else 0.0
        return self.free_gain + float(self.cum_gains[k]) + partial

    def h(self, rho: float) -> float:
        """``h(ρ) = s·c·√G(ρ²)`` ≥ ``‖J_θ − J0‖_op`` for every ``‖θ − θ0‖ ≤ ρ``; O(log S)."""
        rho = float(rho)
        if not rho >= 0.0:
            raise ValueError(f"rho must be ≥ 0, got {rho!r}")
        return self.scale * math.sqrt(self.gain(rho * rho))

    def safe_radius(self, target: float) -> float:
        """``ρ* = sup{ρ : h(ρ) ≤ target}``, by exact inversion of the piecewise-linear G.

        With ``T = (target/scale)²``: 0 if ``G(0) > T``, ``math.inf`` if ``G(∞) ≤ T``
        (also when ``scale = 0``), else ``√u`` for the u in the segment where G crosses T.
        """
        target = float(target)
        if not target >= 0.0:
            raise ValueError(f"target must be ≥ 0, got {target!r}")
        if self.scale == 0.0:
            return math.inf
        t = (target / self.scale) ** 2
        if self.free_gain > t:
            return 0.0
        if self.total_gain <= t:
            return math.inf
        rest = t - self.free_gain  # 0 ≤ rest < cum_gains[-1]
        k = int(np.searchsorted(self.cum_gains, rest, side="right")) - 1
        k = min(max(k, 0), self.n_segments - 1)
        over = rest - float(self.cum_gains[k])
        step = over / float(self.slopes[k]) if over > 0.0 else 0.0
        u = min(float(self.cum_lengths[k]) + step, float(self.cum_lengths[k + 1]))
        return math.sqrt(u)


def flip_bound(
    X: np.ndarray,
    W: np.ndarray,
    a: np.ndarray,
    s: float,
    jump: float,
    *,
    block_values: int = 1 << 21,
) -> FlipBound:
    """The flip bound of THEORY.md §10 for ``f_W(x) = s Σ_i a_i σ(⟨w_i, x⟩)`` at ``W0 = W``.

    ``X`` (n, d) inputs, ``W`` (N, d) the initial weights ``W0``, ``a`` (N,) output weights
    (one output), or (N, C) with rows a_i (C outputs: the gains weighted by ``‖a_i‖²``),
    ``s > 0`` output factor, ``jump = c ≥ 0`` (:func:`jump_of`). Neurons are processed in
    blocks of ``max(1, block_values // n)``; the result does not depend on the block size.
    Margins are outward-rounded as described in the module docstring.
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"X (n, d) and W (N, d) must share d; got {X.shape} and {W.shape}")
    if a.ndim not in (1, 2) or a.shape[0] != W.shape[0] or (a.ndim == 2 and a.shape[1] < 1):
        raise ValueError(f"a must have shape ({W.shape[0]},) or ({W.shape[0]}, C), got {a.shape}")
    for label, arr in (("X", X), ("W", W), ("a", a)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} has a non-finite entry")
    s, jump = float(s), float(jump)
    if not (math.isfinite(s) and s > 0.0):
        raise ValueError(f"s must be finite and > 0, got {s!r}")
    if not (math.isfinite(jump) and jump >= 0.0):
        raise ValueError(f"jump must be finite and ≥ 0, got {jump!r}")
    if int(block_values) < 1:
        raise ValueError(f"block_values must be ≥ 1, got {block_values!r}")
    d = X.shape[1]
    if d > MAX_DIM:
        raise ValueError(f"d = {d} > 2^20: the margin rounding bound is proved for d ≤ 2^20")

    sq = np.einsum("jk,jk->j", X, X)
    X = X[sq > 0.0]  # zero rows (and rows whose ‖x‖² underflows): no gain, no margin
    row_gain = sq[sq > 0.0]
    if a.ndim == 1:
        a2 = a * a
    else:  # ‖a_i‖² (C outputs): exact for a ±1 readout, else rounded up past its γ_C
        a2 = np.einsum("ic,ic->i", a, a)
        if not np.all(np.abs(a) == 1.0):
            a2 *= 1.0 + (a.shape[1] + 2) * _U
    W, a2 = W[a2 > 0.0], a2[a2 > 0.0]  # a_i = 0 (or a_i² below 2^-1074): no gain
    n, big_n = X.shape[0], W.shape[0]
    if not math.isfinite(float(np.sum(a2)) * float(np.sum(row_gain))):
        raise ValueError("G(∞) = Σ_i a_i² ‖X‖²_F overflows float64")
    empty = np.empty(0)
    if n == 0 or big_n == 0:
        return FlipBound(0.0, empty, empty, empty, s * jump, 0, math.inf)

    # Exact power-of-two row scaling (only up) so that max_k |x̂_jk| ∈ [1, 2) or ≥ 1.
    _, expo = np.frexp(np.abs(X).max(axis=1))
    Xs = np.ldexp(X, np.maximum(1 - expo, 0)[:, None])
    nu = np.sqrt(np.einsum("jk,jk->j", Xs, Xs))
    Xs_t, absXs_t = np.ascontiguousarray(Xs.T), np.ascontiguousarray(np.abs(Xs).T)
    coef = (2 * d + 4) * _U

    per_block = max(1, int(block_values) // n)
    free = np.zeros(big_n)
    min_mu = math.inf
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (neuron, length, gain)
    pending: list[tuple[np.ndarray, ...]] = []  # unfinished rows, batched for _merge_hulls
    pending_size = 0
    kept = [0]  # hull segments kept so far

    def collect(row: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
        """Free gain and weighted segments of finished hulls (row = neuron index)."""
        first = np.ones(row.size, dtype=bool)
        np.not_equal(row[1:], row[:-1], out=first[1:])
        free[row[first]] = ys[first] * a2[row[first]]
        inner = ~first[1:]
        seg_row = row[1:][inner]
        parts.append((seg_row, np.diff(xs)[inner], np.diff(ys)[inner] * a2[seg_row]))
        kept[0] += seg_row.size
        require(
            SEGMENT_BYTES * kept[0],
            f"the activation-flip bound ({kept[0]:,} hull segments so far, of at most "
            f"n·N = {n * big_n:,})",
            "reduce data.n or model.width, or use a smooth activation",
        )

    def flush() -> None:
        nonlocal pending_size
        if pending:
            row, pos, xs, ys = (np.concatenate(v) for v in zip(*pending, strict=True))
            pending.clear()
            pending_size = 0
            collect(*_merge_hulls(row, pos, xs, ys, n + 1))

    for i0 in range(0, big_n, per_block):
        mu = _corrected_margins_sq(W[i0 : i0 + per_block], Xs_t, absXs_t, nu, coef)
        min_mu = min(min_mu, float(mu.min()))
        order = np.argsort(mu, axis=1)
        b = mu.shape[0]
        x = np.zeros((b, n + 1))
        y = np.zeros((b, n + 1))
        x[:, 1:] = np.take_along_axis(mu, order, axis=1)
        del mu
        np.cumsum(row_gain[order], axis=1, out=y[:, 1:])
        del order
        row, pos, xs, ys, todo = _prune_hulls(x, y, PRUNE_PASSES)
        del x, y
        row += i0
        done = ~todo
        collect(row[done], xs[done], ys[done])
        if todo.any():
            pending.append((row[todo], pos[todo], xs[todo], ys[todo]))
            pending_size += int(np.count_nonzero(todo))
            if pending_size >= block_values:
                flush()
    flush()

    seg_row, lengths, gains = (np.concatenate(v) for v in zip(*parts, strict=True))
    parts.clear()
    slopes = gains / lengths
    # by slope, descending; ties by neuron, then x: an order that ignores the blocking
    order = np.lexsort((seg_row, -slopes))
    return FlipBound(
        free_gain=math.fsum(free),
        slopes=slopes[order],
        lengths=lengths[order],
        gains=gains[order],
        scale=s * jump,
        n_segments=int(lengths.size),
        min_margin=math.sqrt(min_mu),
    )


def _corrected_margins_sq(
    Wb: np.ndarray, Xs_t: np.ndarray, absXs_t: np.ndarray, nu: np.ndarray, coef: float
) -> np.ndarray:
    """Squared margins ``max(0, m̃ − e)²`` (b, n), with tiny or non-finite ones set to 0."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        m = np.abs(Wb @ Xs_t)
        m /= nu
        e = np.abs(Wb) @ absXs_t
        e *= coef
        e /= nu
        m -= e
        del e
        np.maximum(m, 0.0, out=m)
        m *= m
    m[~(m > ZERO_MARGIN_SQ) | ~np.isfinite(m)] = 0.0
    return m


def _upper_hulls(
    x: np.ndarray, y: np.ndarray, *, passes: int = PRUNE_PASSES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strict vertices of the upper concave hull of each row's points ``(x[r,k], y[r,k])``.

    Rows have ``x[r, 0] = 0``, x non-decreasing and y strictly increasing in k. Returns flat
    arrays ``(row, x, y)`` of the vertices, row by row, x increasing (of points tied in x
    only the last, highest, can stay): :func:`_prune_hulls`, then :func:`_merge_hulls` for
    the rows that pruning did not finish. (:func:`flip_bound` runs the two steps itself,
    batching the unfinished rows of several blocks.)
    """
    row, pos, xs, ys, todo = _prune_hulls(x, y, passes)
    if not todo.any():
        return row, xs, ys
    done = ~todo
    merged = _merge_hulls(row[todo], pos[todo], xs[todo], ys[todo], x.shape[1])
    row = np.concatenate((row[done], merged[0]))
    order = np.argsort(row, kind="stable")
    return (
        row[order],
        np.concatenate((xs[done], merged[1]))[order],
        np.concatenate((ys[done], merged[2]))[order],
    )


def _prune_hulls(
    x: np.ndarray, y: np.ndarray, passes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local pruning of the rows of (x, y) (same input as :func:`_upper_hulls`).

    A point on or below the chord of two other points of its row is not a strict hull
    vertex and may be dropped at any time, any number at once. Of points tied in x all but
    the last are dropped; then at most ``passes`` passes drop every vertex where (previous,
    vertex, next) does not turn right, each ``O(#alive)``, all rows at once. A row left
    without such a vertex is a concave chain, i.e. its own hull: finished. Returns the
    survivors as flat arrays ``(row, pos, x, y, todo)`` (``pos``: index in the row,
    ``todo``: the vertex's row is unfinished and needs :func:`_merge_hulls`; with
    ``passes = 0`` every row). What happens to a row depends on that row only.
    """
    b, length = x.shape
    alive = np.ones((b, length), dtype=bool)
    np.less(x[:, :-1], x[:, 1:], out=alive[:, :-1])
    if passes > 0 and length > 2:
        turn = (x[:, 1:-1] - x[:, :-2]) * (y[:, 2:] - y[:, 1:-1])
        turn -= (y[:, 1:-1] - y[:, :-2]) * (x[:, 2:] - x[:, 1:-1])
        alive[:, 1:-1] &= turn < 0.0
        del turn
    flat = np.flatnonzero(alive)
    del alive
    xs = x.ravel()[flat]
    ys = y.ravel()[flat]
    todo = None
    for _ in range(passes):
        drop = _local_drops(xs, ys)
        if not drop.any():
            todo = np.zeros(xs.size, dtype=bool)
            break
        keep = np.ones(xs.size, dtype=bool)
        np.logical_not(drop, out=keep[1:-1])
        xs, ys, flat = xs[keep], ys[keep], flat[keep]
    row = flat // length
    pos = flat - row * length
    del flat
    if todo is None:
        if passes > 0:
            unfinished = np.zeros(b, dtype=bool)
            unfinished[row[1:-1][_local_drops(xs, ys)]] = True
            todo = unfinished[row]
        else:
            todo = np.ones(xs.size, dtype=bool)
    return row, pos, xs, ys, todo


def _local_drops(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """For the vertices 1..size-2 of the flat chains: interior to its row and not a right turn.

    Each row's first vertex is the only one with x = 0 (x is strictly increasing within a
    row and starts at 0), so vertex k is interior iff ``x[k] > 0`` and ``x[k+1] > 0``.
    """
    if xs.size < 3:
        return np.zeros(0, dtype=bool)
    turn = (xs[1:-1] - xs[:-2]) * (ys[2:] - ys[1:-1])
    turn -= (ys[1:-1] - ys[:-2]) * (xs[2:] - xs[1:-1])
    drop = turn >= 0.0
    drop &= xs[1:-1] > 0.0
    drop &= xs[2:] > 0.0
    return drop


def _merge_hulls(
    row: np.ndarray, pos: np.ndarray, xs: np.ndarray, ys: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Divide and conquer over the original positions ``pos`` (x strictly increasing per row).

    At level ℓ the hulls of the runs ``[2^ℓ q, 2^ℓ (q+1))`` are merged in pairs through their
    upper bridge (:func:`_bridges`: a binary search over the left hull nested with one over
    the right hull, both concave chains), vectorized over all rows and pairs: ``O(#pairs·ℓ²)``
    per level, ``O(b·n)`` over all levels, plus ``O(#alive)`` bookkeeping per level.
    """
    level = 0
    while (1 << level) < length and xs.size:
        size = xs.size
        key = row * ((length >> (level + 1)) + 1) + (pos >> (level + 1))
        brk = np.flatnonzero(key[1:] != key[:-1]) + 1
        del key
        starts = np.concatenate(([0], brk))
        ends = np.concatenate((brk, [size]))
        is_left = ((pos >> level) & 1) == 0
        split = starts + np.add.reduceat(is_left.astype(np.int64), starts)
        merge = (split > starts) & (split < ends)
        if merge.any():
            r0, r1 = split[merge], ends[merge]
            a_star, b_star = _bridges(xs, ys, starts[merge], r0, r1)
            delta = np.zeros(size + 1, dtype=np.int64)
            delta[a_star + 1] += 1
            delta[b_star] -= 1
            keep = np.cumsum(delta[:size]) == 0
            xs, ys, row, pos = xs[keep], ys[keep], row[keep], pos[keep]
        level += 1
    return row, xs, ys


def _cross(
    xs: np.ndarray, ys: np.ndarray, p: np.ndarray, q: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """Orientation of p → q → r (indices): > 0 left turn, < 0 right turn (concave)."""
    return (xs[q] - xs[p]) * (ys[r] - ys[q]) - (ys[q] - ys[p]) * (xs[r] - xs[q])


def _tangents(
    xs: np.ndarray, ys: np.ndarray, a: np.ndarray, r0: np.ndarray, r1: np.ndarray
) -> np.ndarray:
    """For each point a left of the concave chain ``r0..r1-1``: the farthest vertex of
    steepest slope from a (first k where a → k → k+1 turns right; the last if none)."""
    lo, hi = r0.copy(), r1 - 1
    act = np.flatnonzero(lo < hi)
    while act.size:
        k = (lo[act] + hi[act]) >> 1
        up = _cross(xs, ys, a[act], k, k + 1) >= 0.0
        lo[act] = np.where(up, k + 1, lo[act])
        hi[act] = np.where(up, hi[act], k)
        act = act[lo[act] < hi[act]]
    return lo


def _bridges(
    xs: np.ndarray, ys: np.ndarray, l0: np.ndarray, r0: np.ndarray, r1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Upper bridge (a*, b*) between the hulls ``l0..r0-1`` and ``r0..r1-1`` (x-separated).

    A left vertex a stays iff it is strictly above the line from its predecessor to its
    tangent point in the right hull; that holds on a prefix of the left hull (the first
    vertex always stays), so a* is found by binary search, and b* is a*'s tangent point.
    """
    lo, hi = l0.copy(), r0 - 1
    act = np.flatnonzero(lo < hi)
    while act.size:
        mid = (lo[act] + hi[act] + 1) >> 1
        tan = _tangents(xs, ys, mid, r0[act], r1[act])
        stays = _cross(xs, ys, mid - 1, mid, tan) < 0.0
        lo[act] = np.where(stays, mid, lo[act])
        hi[act] = np.where(stays, hi[act], mid - 1)
        act = act[lo[act] < hi[act]]
    return lo, _tangents(xs, ys, lo, r0, r1)


@dataclass(frozen=True, eq=False)
class FlipDrift:
    """The activation-flip drift bound (THEORY.md §10) as a ``Drift``."""

    bound: FlipBound
    rigorous: bool = True
    kind: DriftKind = DriftKind.flip_count

    def h(self, rho: float) -> float:
        return self.bound.h(rho)

    def safe_radius(self, target: float) -> float:
        return self.bound.safe_radius(target)

    def lipschitz(self, rho: float) -> float | None:
        return None  # σ' jumps: J is not Lipschitz

    def pair(self, rho: float) -> float:
        """min(2h(ρ), h(√2ρ)) (THEORY.md §13 (G)): a pair's differing blocks lie in the
        union of the two flip sets, which costs at most 2ρ² of budget (nested margins)."""
        return min(2.0 * self.h(rho), self.h(math.sqrt(2.0) * rho))
