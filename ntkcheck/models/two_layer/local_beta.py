"""Local β (THEORY.md §6): the spectral norm of the third-order derivative tensor at θ0.

``β_loc = max_{‖U‖=‖V‖=1} ‖DJ_θ0[U] V‖`` with
``T(U, V)_j = s Σ_i a_i σ''(⟨w_i,x_j⟩) ⟨u_i,x_j⟩ ⟨v_i,x_j⟩``. The tensor is
block-diagonal over neurons, so by Cauchy–Schwarz ``β_loc = max_i β_i`` with

    β_i = s |a_i| · max_{‖u‖=1} ‖σ''_i ⊙ (X u)²‖₂ ,   σ''_i = σ''(X w_i)  (n,)

(for fixed u the best w is σ''_i ⊙ (Xu)² normalized). Each β_i is the maximum
of the convex quartic ``F_i(u) = Σ_j σ''_ij² ⟨x_j,u⟩⁴`` on the sphere, which has
many local maxima; the search is built so that it does not stop at lesser ones:

1. identical neurons (same row w_i and same |a_i|, e.g. the pairs of a
   symmetric initialization) are one problem, solved once;
2. a cheap first pass ascends every distinct neuron (loosely) from its best
   input direction — of the inputs with the largest σ''_ij²‖x_j‖⁴, the one
   where F_i is largest — and ranks them;
3. the candidates — at least ``top`` distinct neurons and all those within a
   factor ``within`` of the best first-pass value, at most ``max_candidates`` —
   are restarted from their first-pass iterate, the quartic's natural
   directions (top eigenvectors of ``Xᵀ diag(σ''_ij² ‖x_j‖²) X``, whose quadratic
   form bounds F_i from above, and of ``Xᵀ diag(|σ''_ij|) X``), their best input
   directions and random directions, each run to ``tol`` (starts of one neuron
   that meet are merged);
4. a final check runs the alternating power iteration of §6 over the whole
   tensor (all distinct neurons at once, from random starts), then polishes the
   neurons it concentrates on; a larger value found there is taken (it is
   attained too) and recorded.

Each sweep costs O(n·d) per neuron and start, done in blocks of
``BLOCK_VALUES`` numbers; besides those blocks the memory is O(N), plus
``tensor_restarts·N·d`` for the whole-tensor iterates. Every value reported is
attained by unit vectors, so it is a lower bound on any Lipschitz constant of J
around θ0; a certificate from it is an estimate, not a proof.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from ..protocol import LocalBeta
from .memory import BLOCK_VALUES


class SearchedNetwork(Protocol):
    """What the search reads of the network (``network.TwoLayerNetwork``)."""

    @property
    def W(self) -> np.ndarray: ...

    @property
    def a(self) -> np.ndarray: ...

    @property
    def s(self) -> float: ...

    @property
    def activation(self) -> Any: ...


#: The first pass only ranks neurons: a loose tolerance and a short budget.
FIRST_TOL = 1e-6
FIRST_ITER = 50
#: Input directions whose F_i is evaluated to pick each neuron's first-pass start.
FIRST_INPUTS = 4
#: Natural starts per candidate: top eigenvectors of Xᵀ diag(σ''²‖x‖²) X and of Xᵀ diag(|σ''|) X.
EIG_QUARTIC = 3
EIG_ABS = 2
#: Subspace iterations for those eigenvectors (they are starting points, not results).
EIG_ITER = 30
#: Merging starts of one neuron that have met (see _ascend).
MERGE_EVERY = 10
MERGE_CELL = 1e-6
#: Neurons polished after each whole-tensor restart (those carrying the most of ‖U‖).
TENSOR_POLISH = 2
#: A whole-tensor value counts as larger when it beats the per-neuron one beyond convergence noise.
TENSOR_MARGIN = 1e-9


def _ascend(
    X: np.ndarray,
    C: np.ndarray,
    U: np.ndarray,
    tol: float,
    max_iter: int,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Maximize ``F_i(u) = Σ_j C_ji ⟨x_j, u⟩⁴`` on the unit sphere for every column i at once.

    With ``C = σ''²`` this is ``‖σ''_i ⊙ (Xu)²‖²``, and the §6 update
    ``u ← M_i(w) u/‖·‖`` (w the best weights for u) is ``u ← ∇F_i(u)/‖∇F_i(u)‖``
    with ``∇F_i = 4 Σ_j C_ji ⟨x_j,u⟩³ x_j``. F_i is convex, so each update
    ascends (F(u') ≥ F(u) + ∇F·(u' − u) ≥ F(u)). A column stops once a sweep
    gains at most ``tol`` relatively; stopped columns are dropped from the
    products. With ``owner`` (the neuron of each column; columns of one neuron
    share C), every ``MERGE_EVERY`` sweeps the columns of one neuron whose
    iterates agree to ``MERGE_CELL`` (up to sign) are merged: they follow one
    trajectory to one local maximum, so only the first is iterated and the
    others take its result. Returns √F_i and the unit iterate u_i where it was
    evaluated, the most sweeps used and whether every column met ``tol``.
    """
    b = U.shape[0]
    value = np.zeros(b)
    at = U.copy()
    done = np.zeros(b, dtype=bool)  # met tol
    finished = np.zeros(b, dtype=bool)  # met tol or merged: needs no more sweeps
    same = np.arange(b)  # the column whose result each column takes
    active = np.arange(b)
    Ca, Ua = C, U
    previous = np.full(b, -np.inf)
    it = 0
    while active.size and it < max_iter:
        it += 1
        P = X @ Ua.T  # ⟨x_j, u_i⟩ (n, b)
        R = P * P
        R *= Ca
        R *= P  # C ⟨x_j,u_i⟩³ (P**3 would call pow: ten times slower)
        current = np.sqrt(np.einsum("ji,ji->i", R, P))  # √F_i(u_i)
        value[active] = current
        at[active] = Ua
        grad = R.T @ X  # ∇F_i/4 (b, d)
        norms = np.linalg.norm(grad, axis=1, keepdims=True)
        Ua = np.where(norms > 0, grad / np.where(norms > 0, norms, 1.0), Ua)
        met = current - previous <= tol * current
        done[active] |= met
        stopped = finished[active] | met
        previous = current
        if owner is not None and it % MERGE_EVERY == 0:
            first = _first_alike(owner[active], Ua)
            merged = first != np.arange(active.size)
            same[active[merged]] = active[first[merged]]
            stopped |= merged
        finished[active] = stopped
        count = int(stopped.sum())
        if count == active.size:
            break
        if count >= max(1, active.size // 4):  # compact: drop the columns that stopped
            keep = ~stopped
            active, Ca, Ua, previous = active[keep], Ca[:, keep], Ua[keep], previous[keep]
    while np.any(same[same] != same):  # a representative may itself have been merged
        same = same[same]
    return value[same], at[same], it, bool(done[same].all())


def _first_alike(owner: np.ndarray, U: np.ndarray) -> np.ndarray:
    """For each row, the first row with the same owner and the same ±u rounded to ``MERGE_CELL``."""
    pivot = np.take_along_axis(U, np.argmax(np.abs(U), axis=1)[:, None], axis=1)
    cells = np.rint(U * (np.sign(pivot) / MERGE_CELL)).astype(np.int64)
    keys = np.column_stack([owner.astype(np.int64), cells])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


def _ascend_columns(
    X: np.ndarray, C: np.ndarray, owner: np.ndarray, U: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """:func:`_ascend` for starts ``U`` (m, d) of neurons ``owner`` (m,) with weights C (n, K)."""
    step = max(1, BLOCK_VALUES // max(X.shape[0], 1))
    value, at = np.zeros(U.shape[0]), np.empty_like(U)
    iterations, converged = 0, True
    for start in range(0, U.shape[0], step):
        b = slice(start, min(start + step, U.shape[0]))
        value[b], at[b], it, ok = _ascend(X, C[:, owner[b]], U[b], tol, max_iter, owner[b])
        iterations, converged = max(iterations, it), converged and ok
    return value, at, iterations, converged


def _unit_rows(U: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(U, axis=-1, keepdims=True)
    return U / np.where(norms > 0, norms, 1.0)


def _best_inputs(X: np.ndarray, C: np.ndarray, m: int) -> np.ndarray:
    """For each column i, the m inputs with the largest single-point value C_ji ‖x_j‖⁴.

    Returns their indices (m, b), best first.
    """
    m = min(m, X.shape[0])
    if m <= 0:
        return np.zeros((0, C.shape[1]), dtype=np.intp)
    sq = np.einsum("jk,jk->j", X, X)
    score = C * (sq * sq)[:, None]
    idx = np.argpartition(-score, m - 1, axis=0)[:m]
    ranks = np.argsort(-np.take_along_axis(score, idx, axis=0), axis=0)
    return np.take_along_axis(idx, ranks, axis=0)


def _top_eigvecs(
    X: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Top-k eigenvectors of ``Xᵀ diag(weights_i) X`` for every column i (weights ≥ 0).

    Subspace iteration through X (O(n·d·k) per step, never a d×d matrix), then
    Rayleigh–Ritz; returns (K, k, d), largest eigenvalue first.
    """
    K, d = weights.shape[1], X.shape[1]
    k = min(k, d)
    Wt = weights.T[:, :, None]  # (K, n, 1)
    V = np.linalg.qr(rng.standard_normal((K, d, k)))[0]
    for _ in range(EIG_ITER):
        V = np.linalg.qr(X.T @ (Wt * (X @ V)))[0]  # (K, d, k)
    P = X @ V
    H = np.swapaxes(P, 1, 2) @ (Wt * P)  # (K, k, k)
    _, Y = np.linalg.eigh(H)
    return np.swapaxes(V @ Y[:, :, ::-1], 1, 2)


def _distinct(net: SearchedNetwork) -> np.ndarray:
    """Index of the first neuron of each group with the same row w_i and the same |a_i|.

    Rows are keyed by a fixed random projection, accumulated column by column so
    that equal rows get equal keys bit for bit; a row whose key equals an
    earlier one is merged when the rows are equal too. O(N) memory besides W
    and blocks of rows.
    """
    W, a = net.W, np.abs(net.a)
    N, d = W.shape
    r = np.random.default_rng(0x5EED).standard_normal(d + 1)
    key = a * r[d]
    for k in range(d):
        key += W[:, k] * r[k]
    order = np.argsort(key, kind="stable")  # equal keys keep the neurons' order
    ks = key[order]
    starts = np.r_[True, ks[1:] != ks[:-1]]
    first = order[np.maximum.accumulate(np.where(starts, np.arange(N), 0))]
    later = np.flatnonzero(~starts)  # positions (in key order) with an earlier equal key
    keep = np.ones(N, dtype=bool)
    step = max(1, BLOCK_VALUES // max(d, 1))
    for begin in range(0, len(later), step):
        i = order[later[begin : begin + step]]
        j = first[later[begin : begin + step]]
        keep[i[np.all(W[i] == W[j], axis=1) & (a[i] == a[j])]] = False
    return np.flatnonzero(keep)


class _Search:
    """The per-neuron problems of the distinct neurons ``W`` (K, d), ``scale = s|a_i|``."""

    def __init__(self, net: SearchedNetwork, X: np.ndarray, rng: np.random.Generator) -> None:
        self.net, self.X, self.rng = net, X, rng
        self.index = _distinct(net)
        self.size = len(self.index)
        self.unit = _unit_rows(X)
        self.scale = net.s * np.abs(net.a[self.index])
        self.signed = net.s * net.a[self.index]

    def weights(self, rows: np.ndarray | slice) -> np.ndarray:
        """``σ''(X w_iᵀ)`` for the given distinct neurons (n, |rows|)."""
        return np.asarray(self.net.activation.sigma_second(self.X @ self.net.W[self.index[rows]].T))

    def first_pass(self) -> np.ndarray:
        """Every distinct neuron ascended loosely from its best input direction: s|a_i|·√F_i."""
        n, K = self.X.shape[0], self.size
        values = np.zeros(K)
        step = max(1, min(K, BLOCK_VALUES // max(n, 1)))
        for start in range(0, K, step):
            b = np.arange(start, min(start + step, K))
            values[b] = self.scale[b] * self.first_ascent(b)[0]
        return values

    def first_ascent(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first pass on the distinct neurons ``rows``: √F_i and the iterates (|rows|, d).

        Each column is independent of the others, so a candidate's first-pass
        iterate is recomputed here rather than stored for every neuron.
        """
        C = self.weights(rows) ** 2
        v, at, _, _ = _ascend(self.X, C, self._best_input_start(C), FIRST_TOL, FIRST_ITER)
        return v, at

    def _best_input_start(self, C: np.ndarray) -> np.ndarray:
        """Per column i, the input direction x̂_k with the largest F_i(x̂_k) among the
        ``FIRST_INPUTS`` inputs with the best single-point values (b, d)."""
        idx = _best_inputs(self.X, C, FIRST_INPUTS)  # (m, b)
        values = np.empty(idx.shape)
        for r in range(idx.shape[0]):
            P = self.X @ self.unit[idx[r]].T
            P *= P
            values[r] = np.einsum("ji,ji->i", C * P, P)
        pick = idx[np.argmax(values, axis=0), np.arange(idx.shape[1])]
        return self.unit[pick]

    def restart(
        self, rows: np.ndarray, restarts: int, tol: float, max_iter: int
    ) -> tuple[np.ndarray, int, bool]:
        """Local maxima (K, starts) of the distinct neurons ``rows`` from all their starts.

        Starts: their first-pass iterates, the natural directions,
        the ``restarts`` best input directions and ``restarts`` random ones. The
        neurons go in groups of about ``BLOCK_VALUES/(n·starts)``.
        """
        (n, d), K = self.X.shape, len(rows)
        starts = 1 + min(EIG_QUARTIC, d) + min(EIG_ABS, d) + min(restarts, n) + restarts
        group = max(1, BLOCK_VALUES // max(n * starts, 1))
        values, iterations, converged = [], 0, True
        for begin in range(0, K, group):
            g = rows[begin : begin + group]
            U = self._starts(g, restarts)  # (k, S, d)
            (k, S, _), C = U.shape, self.weights(g) ** 2
            v, _, it, ok = _ascend_columns(
                self.X, C, np.repeat(np.arange(k), S), U.reshape(k * S, d), tol, max_iter
            )
            values.append(v.reshape(k, S) * self.scale[g][:, None])
            iterations, converged = max(iterations, it), converged and ok
        return np.vstack(values), iterations, converged

    def _starts(self, rows: np.ndarray, restarts: int) -> np.ndarray:
        """The starts of :meth:`restart` for the distinct neurons ``rows`` (K, starts, d)."""
        X, K, d = self.X, len(rows), self.X.shape[1]
        sig = self.weights(rows)
        C = sig**2
        sq = np.einsum("jk,jk->j", X, X)
        starts = [
            self.first_ascent(rows)[1][:, None, :],
            _top_eigvecs(X, C * sq[:, None], EIG_QUARTIC, self.rng),
            _top_eigvecs(X, np.abs(sig), EIG_ABS, self.rng),
            self.unit[_best_inputs(X, C, restarts)].transpose(1, 0, 2),
            _unit_rows(self.rng.standard_normal((K, restarts, d))),
        ]
        return np.concatenate(starts, axis=1)

    def tensor(self, restarts: int, sweeps: int, tol: float, max_iter: int) -> tuple[float, int]:
        """Alternating power iteration over the whole tensor (THEORY.md §6), all neurons at once.

        With U = V (the maximum is attained there: for fixed weights w the
        bilinear form is symmetric), a sweep is ``w = t/‖t‖``,
        ``U ← M(w) U/‖M(w) U‖``, ``t = T(U,U)``, with ``M(w)`` block-diagonal,
        ``M_i(w) = s a_i Σ_j w_j σ''_ij x_j x_jᵀ``: one pass over the neuron
        blocks per sweep, all restarts together. ‖T(U,U)‖ is attained at every
        iterate; at the end the ``TENSOR_POLISH`` neurons carrying most of each
        restart's ‖U‖ are polished by the per-neuron ascent (values attained by
        U supported on one neuron). Returns the best value and its distinct
        neuron (for a whole-tensor value, the one carrying most of ‖U‖).
        """
        X = self.X
        (n, d), K = X.shape, self.size
        U = self.rng.standard_normal((restarts, K, d))  # the only P-sized state: restarts·K·d
        U /= np.linalg.norm(U, axis=(1, 2), keepdims=True)
        best = np.zeros(restarts)
        w: np.ndarray | None = None
        step = max(1, min(K, BLOCK_VALUES // max(n, 1)))
        blocks = [np.arange(start, min(start + step, K)) for start in range(0, K, step)]
        cached = self.weights(blocks[0]) * self.signed[blocks[0]] if len(blocks) == 1 else None
        for _ in range(sweeps + 1):
            t = np.zeros((restarts, n))
            for b in blocks:
                S2 = self.weights(b) * self.signed[b] if cached is None else cached  # s a σ''
                for r in range(restarts):
                    if w is not None:  # U_b ← M_b(w) U_b
                        P = X @ U[r, b].T
                        P *= S2
                        P *= w[r][:, None]
                        U[r, b] = P.T @ X
                    P = X @ U[r, b].T
                    P *= P
                    P *= S2
                    t[r] += P.sum(axis=1)
            norms = np.linalg.norm(U, axis=(1, 2))
            norms = np.where(norms > 0, norms, 1.0)
            U /= norms[:, None, None]
            t /= (norms**2)[:, None]
            value = np.linalg.norm(t, axis=1)
            best = np.maximum(best, value)
            if not (np.all(np.isfinite(value)) and np.all(value > 0)):
                break
            w = t / value[:, None]
        mass = np.linalg.norm(U, axis=2)  # (restarts, K)
        top_value, top_neuron = float(best.max()), int(np.argmax(mass[int(np.argmax(best))]))
        if not (math.isfinite(top_value) and top_value > 0):
            return top_value, top_neuron
        k = min(TENSOR_POLISH, K)
        rows = np.argpartition(-mass, k - 1, axis=1)[:, :k]  # (restarts, k)
        U0 = _unit_rows(U[np.arange(restarts)[:, None], rows].reshape(-1, d))
        rows = rows.reshape(-1)
        unique, owner = np.unique(rows, return_inverse=True)
        v, _, _, _ = _ascend_columns(X, self.weights(unique) ** 2, owner, U0, tol, max_iter)
        v *= self.scale[rows]
        i = int(np.argmax(v))
        if v[i] >= top_value:
            top_value, top_neuron = float(v[i]), int(rows[i])
        return top_value, top_neuron


def local_beta(
    net: SearchedNetwork,
    X: np.ndarray,
    *,
    seed: int = 0,
    restarts: int = 8,
    top: int = 16,
    within: float = 0.7,
    max_candidates: int = 64,
    tensor_restarts: int = 3,
    tensor_sweeps: int = 10,
    tol: float = 1e-12,
    max_iter: int = 2000,
) -> LocalBeta:
    """β_loc = max_i β_i (THEORY.md §6), by the search in the module docstring.

    ``restarts`` input and ``restarts`` random directions (besides the first-pass
    iterate and the natural directions) start each candidate; candidates are the
    best ``top`` distinct neurons of the first pass and all within a factor
    ``within`` of its best value, at most ``max_candidates`` (never fewer than
    ``top``). ``tensor_restarts`` whole-tensor power iterations of
    ``tensor_sweeps`` sweeps make the final check (0 skips it). ``converged``
    in the result refers to the candidates' starts (the first pass is loose by
    design, and the whole-tensor check is a fixed number of sweeps).
    """
    rng = np.random.default_rng(seed)
    search = _Search(net, X, rng)
    K = search.size
    first = search.first_pass()
    if not np.all(np.isfinite(first)):  # overflow: X too large for float64
        bad = int(np.argmin(np.isfinite(first)))
        return _local(math.inf, int(search.index[bad]), 0, False, 0, 0.0, K, 0)
    order = np.argsort(-first, kind="stable")
    if first[order[0]] == 0.0:  # σ'' vanishes on the data (e.g. identity): J is constant
        return _local(0.0, int(search.index[0]), 0, True, 0, 0.0, K, 0)
    near = int(np.count_nonzero(first >= within * first[order[0]]))
    count = min(K, max(1, top, min(near, max_candidates)))
    rows = order[:count]
    runs, iterations, converged = search.restart(rows, restarts, tol, max_iter)
    best = runs.max(axis=1)
    tensor_value, tensor_improved = 0.0, False
    if tensor_restarts > 0:
        tensor_value, neuron = search.tensor(tensor_restarts, tensor_sweeps, tol, max_iter)
        if tensor_value > best.max() * (1 + TENSOR_MARGIN):  # missed: take it, restart there
            tensor_improved = True
            if neuron not in rows:
                extra, it, ok = search.restart(np.array([neuron]), restarts, tol, max_iter)
                rows, runs = np.append(rows, neuron), np.vstack([runs, extra])
                best = runs.max(axis=1)
                iterations, converged = max(iterations, it), converged and ok
            j = int(np.flatnonzero(rows == neuron)[0])
            best[j] = max(best[j], tensor_value)
    k = int(np.argmax(best))
    value = float(best[k])
    spread = float((value - runs[k].min()) / value) if value > 0 else 0.0
    return _local(
        value if math.isfinite(value) else math.inf,
        int(search.index[rows[k]]),
        iterations,
        converged,
        runs.shape[1],
        spread,
        K,
        len(rows),
        tensor_value,
        tensor_improved,
    )


def _local(
    value: float,
    neuron: int,
    iterations: int,
    converged: bool,
    restarts: int,
    spread: float,
    distinct: int,
    candidates: int,
    tensor_value: float = 0.0,
    tensor_improved: bool = False,
) -> LocalBeta:
    """β_loc with the two-layer diagnostics: the arg-max ``neuron`` (its first index
    among identical neurons) and the ``distinct_neurons`` left after merging."""
    return LocalBeta(
        value=value,
        iterations=iterations,
        converged=converged,
        restarts=restarts,
        spread=spread,
        candidates=candidates,
        tensor_value=tensor_value,
        tensor_improved=tensor_improved,
        where=f"neuron {neuron}",
        extra={"neuron": neuron, "distinct_neurons": distinct},
    )
