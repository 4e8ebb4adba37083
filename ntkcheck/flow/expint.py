"""Exponential Runge–Kutta integration of ``y' = −A y + N(t, y)`` with ``A = J0ᵀJ0`` low rank.

Why. The deviation ``e`` of the true flow from the linearized one obeys
``de/dτ = F(τ, e)`` with ``F(τ, e) = −A e + N(τ, e)``, ``A = J0ᵀJ0`` (P×P, PSD,
rank ≤ n) and a remainder ``N`` that is small in the lazy regime. An explicit
Runge–Kutta method is held by *stability* on ``−A`` (h ≲ 6/λ_max for DOP853),
not by accuracy. An exponential integrator treats ``−A`` exactly, so its steps
are limited only by how fast ``N`` varies along the solution.

Functions of A through J0. With ``K0 = J0 J0ᵀ = V diag(λ) Vᵀ`` and
``φ_{k+1}(z) = (φ_k(z) − 1/k!)/z``, for every k ≥ 0 and scalar c

    φ_k(−c h A) v = v/k! − c h · J0ᵀ V diag(φ_{k+1}(−c h λ)) Vᵀ J0 v,

exact (also for λ = 0, where the factor is the limit 1/(k+1)!), and
``Vᵀ J0 (φ_k(−chA) v) = Vᵀ J0 v / k! − c h λ ⊙ φ_{k+1}(−c h λ) ⊙ Vᵀ J0 v`` because
``Vᵀ J0 J0ᵀ V = diag(λ)``. So a linear combination ``Σ_i φ_{k_i}(−c_i h A) v_i``
costs one product ``J0ᵀ(·)`` once the *coordinates* ``u_i = Vᵀ J0 v_i`` are known,
and yields the coordinates of the result for free. The integrator pushes every
stage derivative through ``J0`` once and every stage value through ``J0ᵀ`` once.

Method. RK43ZB, the robust embedded exponential Runge–Kutta (4,3) pair of
T. Zoto and J. C. Bowman, "Robust exponential Runge–Kutta embedded pairs",
arXiv:2303.12139 (2023); coefficients as in the authors' reference
implementation (``E_RK43ZB`` in github.com/dealias/triad, ``Exponential.h``),
checked here against the stiff order conditions of M. Hochbruck and
A. Ostermann, SIAM J. Numer. Anal. 43 (2005) 1069–1090 (tests/test_expint.py):

* five stages at c = (0, 1/6, 1/2, 1/2, 1); coefficients are combinations of
  φ_1..φ_3 at c·Z, Z = −hA;
* the propagated solution has stiff order 3 — every condition of order ≤ 3 holds
  for every Z (ψ_1 = ψ_2 = ψ_3 = 0, Σ_i b_i J ψ_{2,i} = 0 for every J) — and
  classical order 4: the four conditions of order 4 hold at Z = 0 only. So the
  order is 4 while hλ_max ≲ 1 and at least 3 for stiff steps (measured: 3.95 at
  hλ_max = 0.2, 3.6 at hλ_max = 1.6 on the convergence test);
* the embedded solution is the fifth stage: stiff order 2 (ψ_1 = ψ_2 = 0 for every
  Z), classical order 3. Its estimate is therefore conservative for stiff steps
  (in every test, Δ exceeded the true local error, by 6× to 130×). The pair is
  *robust*: its four distinct nodes make the estimate Δ = y1 − Y5 non-zero
  whenever N has a non-zero third total time derivative — in particular for a
  purely time-dependent source N(t), which is the dominant part of the
  ntkcheck remainder. (Pairs whose nodes are only 0, 1/2, 1 — ETDRK4,
  Krogstad, Hochbruck–Ostermann's 5-stage method with a Krogstad-type embedding
  — integrate such a source identically in both solutions, Δ = 0, and would
  accept any step.)

Error control as in SciPy: ``err = ‖Δ/(atol + rtol·max(|y0|, |y1|))‖_RMS ≤ 1``,
new step ``h·min(10, max(0.2, 0.9·err^(−1/4)))`` (the estimate is O(h⁴)), local
extrapolation (the 4th-order solution is propagated).

Dense output: the continuous extension ``b_j(θ) = Σ_k β_jk θ^k φ_k(θZ)`` of the
weights ``b_j = Σ_k β_jk φ_k(Z)`` (see ``ExpRKDenseOutput``); exact at both
ends, stiff order 3 (local error O(h⁴), the order of the controlled estimate),
so the error at a checkpoint is O(h⁴) like the global error — no extra
evaluations of N, one product ``J0ᵀ(·)`` per call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "NODES",
    "Combined",
    "ExpRK",
    "ExpRKDenseOutput",
    "LinearPart",
    "LowRankLinearPart",
    "PhiTerm",
    "phi",
    "phi_functions",
    "tableau",
]

Array = NDArray[np.float64]
#: ``(k, c, v, u)``: the term φ_k(−c·h·A) v, with u = coordinates of v (``coords(v)``).
PhiTerm = tuple[int, float, Array, Array]

#: |x| up to which φ_k(x), k ≥ 1, is summed as a Taylor series (beyond: the recurrence).
#: Measured against 80-digit values: ≤ 9e-16 relative for k ≤ 5 on x ∈ [−1e3, 3].
SERIES_RADIUS = 2.0
_SERIES_TERMS = 30  # 2^30/31! < 1e-24


def phi_functions(x: ArrayLike, kmax: int) -> Array:
    """``φ_0(x), …, φ_kmax(x)`` elementwise, shape ``(kmax + 1, *x.shape)``.

    ``φ_0 = exp``, ``φ_{k+1}(x) = (φ_k(x) − 1/k!)/x``, ``φ_k(0) = 1/k!``. Accurate to a
    few ulps for real x: Taylor series ``Σ_j x^j/(j+k)!`` for ``|x| ≤ SERIES_RADIUS``
    (all k at once: powers of x times a table of 1/(j+k)!), and ``expm1(x)/x`` then
    the recurrence beyond, where the recurrence loses at most a factor ~2 per step.
    """
    xa = np.asarray(x, dtype=float)
    flat = xa.ravel()
    out = np.empty((kmax + 1, flat.size))
    out[0] = np.exp(flat)
    if kmax > 0:
        small = np.abs(flat) <= SERIES_RADIUS
        if np.any(small):
            powers = np.vander(flat[small], _SERIES_TERMS, increasing=True)
            out[1:, small] = (powers @ _series_table(kmax)).T
        if not np.all(small):
            xl = flat[~small]
            with np.errstate(over="ignore", invalid="ignore"):
                rec = np.expm1(xl) / xl
                for k in range(1, kmax + 1):
                    out[k, ~small] = rec
                    rec = (rec - 1.0 / math.factorial(k)) / xl
    return out.reshape((kmax + 1, *xa.shape))


_INV_FACT = tuple(1.0 / math.factorial(j) for j in range(170))  # 1/170! underflows
_TABLES: dict[int, Array] = {}


def _series_table(kmax: int) -> Array:
    """``T[j, k−1] = 1/(j+k)!`` for j < _SERIES_TERMS, 1 ≤ k ≤ kmax."""
    table = _TABLES.get(kmax)
    if table is None:
        ks = range(1, kmax + 1)
        table = np.array([[1 / math.factorial(j + k) for k in ks] for j in range(_SERIES_TERMS)])
        _TABLES[kmax] = table
    return table


def phi(k: int, x: ArrayLike) -> Array:
    """``φ_k(x)`` elementwise (see ``phi_functions``)."""
    return phi_functions(x, k)[k]


class Combined(NamedTuple):
    """Result of ``combine``: values y (P, m), their coordinates u (n, m) and, if asked,
    ``A·y`` and its coordinates."""

    y: Array
    u: Array
    Ay: Array | None = None
    uAy: Array | None = None


class LinearPart(Protocol):
    """What ``ExpRK`` needs from the linear part ``−A``: coordinates and φ-combinations.

    ``coords(v)`` is a linear image of v (one or more columns) from which functions
    of A can be applied; ``combine(h, columns, times_A)`` returns, for each column (a
    list of ``(k, c, v, u)`` terms with ``u = coords(v)``), ``y = Σ φ_k(−c h A) v`` and
    its coordinates, shapes ``(P, m)`` and ``(n, m)``, and with ``times_A`` also ``A y``
    and its coordinates. ``lam``: the eigenvalues of ``J Jᵀ`` (A's non-zero spectrum),
    for the noise model.
    """

    lam: Array

    def coords(self, v: Array) -> Array: ...

    def combine(
        self, h: float, columns: Sequence[Sequence[PhiTerm]], times_A: bool = False
    ) -> Combined: ...


class LowRankLinearPart:
    """``A = J0ᵀJ0`` given by products with J0 and the eigendecomposition of ``K0 = J0J0ᵀ``.

    ``jvp: v ↦ J0 v`` ((P,) → (n,)), ``vjp: r ↦ J0ᵀ r`` ((n,) → (P,)), ``lam`` (n,) and
    ``V`` (n, n) with ``K0 = V diag(lam) Vᵀ``. With ``batched=True`` (default) the
    callables must also map stacked columns, (P, m) → (n, m) and (n, m) → (P, m), and
    several vectors go through ONE call; otherwise columns are sent one at a time.
    ``njvp``/``nvjp`` count the calls made to ``jvp``/``vjp``.

    Coordinates are ``u = Vᵀ J0 v``. ``phi(k, h, v)`` applies ``φ_k(−hA)`` with one
    jvp and one vjp; ``phi_batch`` applies several ``φ_k(−h_i A)`` to several
    vectors with one of each.
    """

    def __init__(
        self,
        jvp: Callable[[Array], Array],
        vjp: Callable[[Array], Array],
        lam: ArrayLike,
        V: ArrayLike,
        *,
        batched: bool = True,
    ) -> None:
        lam_a = np.asarray(lam, dtype=float)
        V_a = np.asarray(V, dtype=float)
        n = lam_a.shape[0] if lam_a.ndim == 1 else -1
        if n < 0 or V_a.shape != (n, n):
            raise ValueError(f"lam must be (n,) and V (n, n); got {lam_a.shape} and {V_a.shape}")
        if not (np.all(np.isfinite(lam_a)) and np.all(np.isfinite(V_a))):
            raise ValueError("lam and V must be finite")
        top = float(np.max(np.abs(lam_a))) if n else 0.0
        if n and float(np.min(lam_a)) < -1e-8 * top:
            raise ValueError(
                f"K0 must be positive semi-definite; smallest eigenvalue {float(np.min(lam_a)):.3g}"
            )
        self.lam: Array = lam_a
        self.V: Array = V_a
        self._jvp = jvp
        self._vjp = vjp
        self.batched = batched
        self.njvp = 0
        self.nvjp = 0
        self._tables: dict[float, Array] = {}

    @classmethod
    def from_jacobian(cls, J0: ArrayLike) -> LowRankLinearPart:
        """From a dense n×P matrix J0 (small problems, tests)."""
        J = np.asarray(J0, dtype=float)
        lam, V = np.linalg.eigh(J @ J.T)
        return cls(lambda v: J @ v, lambda r: J.T @ r, lam, V)

    @property
    def n(self) -> int:
        return int(self.lam.shape[0])

    # -- products -------------------------------------------------------------

    def _apply(self, fn: Callable[[Array], Array], M: Array, jvp: bool) -> Array:
        if M.ndim == 1 or self.batched:
            out = np.asarray(fn(M), dtype=float)
            calls = 1
        else:
            out = np.stack([np.asarray(fn(M[:, i]), dtype=float) for i in range(M.shape[1])], 1)
            calls = M.shape[1]
        if jvp:
            self.njvp += calls
        else:
            self.nvjp += calls
        return out

    def coords(self, v: Array) -> Array:
        """``Vᵀ J0 v`` for v of shape (P,) or (P, m): one jvp."""
        return self.V.T @ self._apply(self._jvp, np.asarray(v, dtype=float), True)

    def lift(self, s: Array) -> Array:
        """``J0ᵀ V s`` for s of shape (n,) or (n, m): one vjp."""
        return self._apply(self._vjp, self.V @ s, False)

    def _phi_table(self, x: float, kmax: int) -> Array:
        """``φ_0..φ_kmax`` at ``−x·λ`` (cached per x: a step reuses the same few)."""
        table = self._tables.get(x)
        if table is None or table.shape[0] <= kmax:
            if len(self._tables) > 64:
                self._tables.clear()
            table = phi_functions(-x * self.lam, max(kmax, 5))
            self._tables[x] = table
        return table

    def combine(
        self, h: float, columns: Sequence[Sequence[PhiTerm]], times_A: bool = False
    ) -> Combined:
        """For each column ``[(k, c, v, u), …]``: ``y = Σ φ_k(−c h A) v`` and its coordinates.

        Shapes (P, m) and (n, m), m = len(columns); one vjp. With ``times_A``, also
        ``A y = J0ᵀ V u`` and its coordinates ``λ ⊙ u``, in the same vjp (2m columns).
        """
        m = len(columns)
        S = np.zeros((self.n, m))
        U = np.zeros((self.n, m))
        parts: list[Array] = []
        for col, terms in enumerate(columns):
            if not terms:
                raise ValueError("combine: empty column")
            y: Array | None = None
            for k, c, v, u in terms:
                fk = _INV_FACT[k]
                y = fk * v if y is None else y + fk * v
                U[:, col] += fk * u
                S[:, col] += c * self._phi_table(c * h, k + 1)[k + 1] * u
            assert y is not None
            parts.append(y)
        U -= h * self.lam[:, None] * S
        base = np.stack(parts, axis=1)
        if not times_A:
            return Combined(base - h * self.lift(S), U)
        lifted = self.lift(np.hstack([S, U]))
        return Combined(base - h * lifted[:, :m], U, lifted[:, m:], self.lam[:, None] * U)

    # -- public conveniences ----------------------------------------------------

    def phi(self, k: int, h: float, v: ArrayLike) -> Array:
        """``φ_k(−hA) v`` (v of shape (P,) or (P, m), columns independent); one jvp, one vjp."""
        if k < 0:
            raise ValueError("phi: k must be ≥ 0")
        va = np.asarray(v, dtype=float)
        M = va[:, None] if va.ndim == 1 else va
        U = self.coords(M)
        Y = self.combine(h, [[(k, 1.0, M[:, i], U[:, i])] for i in range(M.shape[1])]).y
        return Y[:, 0] if va.ndim == 1 else Y

    def phi_batch(
        self, terms: Sequence[tuple[int, float, ArrayLike]], *, total: bool = False
    ) -> Array:
        """``[φ_{k_i}(−h_i A) v_i]_i`` as columns (P, m), or their sum (P,) if ``total``.

        One jvp on the m stacked vectors and one vjp (m columns, or one if ``total``).
        """
        if not terms:
            raise ValueError("phi_batch: no terms")
        M = np.stack([np.asarray(v, dtype=float) for _, _, v in terms], axis=1)
        U = self.coords(M)
        cols = [(k, float(h), M[:, i], U[:, i]) for i, (k, h, _) in enumerate(terms)]
        if total:
            return self.combine(1.0, [cols]).y[:, 0]
        return self.combine(1.0, [[term] for term in cols]).y


# -- the RK43ZB tableau ----------------------------------------------------------------

_Coef = dict[tuple[int, float], float]  # {(k, c): α} ↦ Σ α·φ_k(c·Z)

_C2, _C3, _C5 = 1.0 / 6.0, 0.5, 1.0
NODES = (0.0, _C2, _C3, _C3, _C5)


def _w(k: int, c: float) -> _Coef:
    return {(k, c): 1.0}


def _lin(*pairs: tuple[float, _Coef]) -> _Coef:
    out: _Coef = {}
    for alpha, coef in pairs:
        for key, val in coef.items():
            out[key] = out.get(key, 0.0) + alpha * val
    return {key: val for key, val in out.items() if val != 0.0}


def _rk43zb() -> tuple[list[list[_Coef]], list[_Coef]]:
    """Zoto–Bowman RK43ZB: ``a[i][j]`` (stage i uses G_j, j < i) and ``b[j]``, as φ-combinations."""
    w1_1, w2_1 = _w(1, _C2), _w(2, _C2)
    w1_2, w2_2, w3_2 = _w(1, _C3), _w(2, _C3), _w(3, _C3)
    w1, w2, w3 = _w(1, _C5), _w(2, _C5), _w(3, _C5)
    a21 = _lin((1 / 6, w1_1))
    a32 = _lin((1.5, w2_2), (0.5, w2_1))
    a31 = _lin((0.5, w1_2), (-1.0, a32))
    a42 = _lin((19 / 60, w1), (0.5, w1_2), (0.5, w1_1), (2.0, w2_2), (13 / 6, w2_1), (0.6, w3_2))
    a43 = _lin(
        (-19 / 180, w1), (-1 / 6, w1_2), (-1 / 6, w1_1), (-1 / 6, w2_2), (1 / 9, w2_1), (-0.2, w3_2)
    )
    a41 = _lin((0.5, w1_2), (-1.0, a42), (-1.0, a43))
    a54 = _lin((1.0, w2), (1.0, w2_2), (-6.0, w3), (-3.0, w3_2))
    a52 = _lin((3.0, w2), (-4.5, w2_2), (-2.5, w2_1), (6.0, a54), (1.0, a42))
    a53 = _lin((6.0, w3), (3.0, w3_2), (-2.0, a54), (1.0, a43))
    a51 = _lin((1.0, w1), (-1.0, a52), (-1.0, a53), (-1.0, a54))
    a = [[], [a21], [a31, a32], [a41, a42, a43], [a51, a52, a53, a54]]
    b = [
        _lin((1.0, w1), (-67 / 9, w2), (52 / 3, w3)),
        _lin((8.0, w2), (-24.0, w3)),
        _lin((26 / 3, w3), (-11 / 9, w2)),
        _lin((7 / 9, w2), (-10 / 3, w3)),
        _lin((4 / 3, w3), (-1 / 9, w2)),
    ]
    return a, b


_A, _B = _rk43zb()


_Group = tuple[int, float, Array]  # (k, c, α): the term φ_k(cZ) Σ_j α_j G_j


def _grouped(row: Sequence[_Coef]) -> list[_Group]:
    """``Σ_j a_j(Z) G_j`` regrouped as ``Σ_{(k,c)} φ_k(cZ) Σ_j α_j G_j`` (α over all 5 G_j)."""
    groups: dict[tuple[int, float], Array] = {}
    for j, coef in enumerate(row):
        for key, alpha in coef.items():
            groups.setdefault(key, np.zeros(5))[j] = alpha
    return [(k, c, alpha) for (k, c), alpha in sorted(groups.items())]


_STAGE_GROUPS = [_grouped(row) for row in _A]
_OUTPUT_GROUPS = _grouped(_B)
# b_j(θ) = Σ_k β_jk θ^k φ_k(θZ): the weights regrouped by k (all at c = 1)
assert all(c == 1.0 for _, c, _ in _OUTPUT_GROUPS)


def tableau(z: float) -> tuple[Array, Array, Array, Array]:
    """RK43ZB at a scalar ``z = −hλ``: ``(c, a, b, b_hat)`` with a (5×5), b and b_hat (5,).

    Coefficients are those multiplying ``h·G_j``; ``b_hat`` (the embedded, order-3
    solution) is the last row of ``a``. For analysis and tests.
    """
    zf = float(z)
    table = {c: phi_functions(c * zf, 3) for c in (_C2, _C3, _C5)}

    def value(coef: _Coef) -> float:
        return sum(alpha * float(table[c][k]) for (k, c), alpha in coef.items())

    a = np.zeros((5, 5))
    for i, row in enumerate(_A):
        for j, coef in enumerate(row):
            a[i, j] = value(coef)
    b = np.array([value(coef) for coef in _B])
    return np.array(NODES), a, b, a[4].copy()


def estimate_weights(z: ArrayLike) -> Array:
    """``w(z)² = Σ_j (b_j(z) − b̂_j(z))²`` elementwise at ``z = −hλ``: the error estimate is
    ``Δ = y1 − Y5 = h Σ_j (b_j − b̂_j)(Z) G_j``, so independent stage noises of standard
    deviation s along an eigen-direction of A give Δ a standard deviation ``h·s·w(−hλ)``
    there. ``w(0)² = 2·(…)`` of the classical weights; ``w(z) ~ 1/|z|`` for stiff z."""
    za = np.asarray(z, dtype=float).ravel()
    table = {c: phi_functions(c * za, 3) for c in (_C2, _C3, _C5)}

    def value(coef: _Coef) -> Array:
        out = np.zeros_like(za)
        for (k, c), alpha in coef.items():
            out += alpha * table[c][k]
        return out

    total = np.zeros_like(za)
    for j in range(5):
        diff = value(_B[j]) - (value(_A[4][j]) if j < 4 else 0.0)
        total += diff * diff
    return total.reshape(np.shape(z))


# -- the integrator --------------------------------------------------------------------

#: The error estimate's rounding noise (see ``ExpRK``'s ``noise``) is allowed this many
#: times over before a step is rejected for it.
NOISE_SAFETY = 2.0

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


def _rms(x: Array) -> float:
    return float(np.linalg.norm(x) / math.sqrt(x.size)) if x.size else 0.0


class ExpRK:
    """Adaptive exponential Runge–Kutta (RK43ZB) for ``y' = −A y + N(t, y)``, SciPy-style.

    ``nonlinear(t, y) -> N(t, y)`` (P,); ``linear_part`` gives functions of A
    (``LowRankLinearPart``). Step it by hand like ``scipy.integrate.DOP853``::

        solver = ExpRK(nonlinear, linear_part, t0, y0, t_bound, rtol=1e-8, atol=1e-12)
        while solver.status == "running":
            message = solver.step()          # None, or why it failed
            dense = solver.dense_output()    # y(t) for t in [solver.t_old, solver.t]

    With ``full_rhs=True`` the callable returns the whole right-hand side
    ``F(t, y) = −A y + N(t, y)`` (DOP853's ``fun``) and the solver adds ``A y`` itself:
    it knows the coordinates of every stage value, so ``A y`` comes out of the product
    that forms the stage (a second column), and the caller saves its product with A.

    Attributes as SciPy's ``OdeSolver``: ``t``, ``y``, ``t_old``, ``status``
    ("running" | "finished" | "failed"), ``step_size``, ``nfev`` (calls of
    ``nonlinear``); plus ``njvp``/``nvjp`` (calls of the products with J0 and J0ᵀ
    made by this solver, dense output included; one call may carry several
    columns), ``nlinear = njvp + nvjp``, ``n_accepted``, ``n_rejected``,
    ``error_norm`` (of the last attempted step) and ``error_estimate`` (its Δ).

    Cost of an accepted step without rejection: 5 calls of ``nonlinear``, 5 jvp, 5
    vjp (4 stage values and the solution).

    Tolerances. Δ is the error of the order-3 solution while the order-4 one is
    propagated, so the achieved error is usually far below rtol (on the ntkcheck-like
    tests, 100–1000× below DOP853's at equal rtol/atol). Δ also carries the rounding
    noise of the stage evaluations; steps are long, so an atol below it cannot be met
    and the solver shrinks steps and rejects (measured on a λ_max = 1e4 problem whose
    N has noise ~1e-15: fine at atol 1.6e-13, 1120 rejections at 1.6e-15). With
    ``noise = (ρ, ν⊥)`` — F's rounding is −Jᵀξ with ξ of ρ per component (ρσ_k along
    the k-th eigen-direction of A) plus ν⊥ (ℓ²) outside A's range — a step's noise
    level is ``ν(h) = h·√(ρ²Σ_k λ_k w(−hλ_k)² + ν⊥² w(0)²)`` (``noise_level``,
    ``estimate_weights``), and its atol is ``√(atol² + (NOISE_SAFETY·ν(h))²/P)`` per
    component: the tolerance, or the estimate's own noise where that is larger.
    ν(h) grows like √h while hλ_k ≲ 1 for many modes: without it, the steps of a
    stiff flow stop where ν(h) meets atol (specs/diabetes.yaml: h ≈ 2e-3·λ_min⁻¹,
    10,993 steps; with it, 68). ``atol_sum`` adds up each accepted step's ℓ² atol.

    Re-linearization. With ``relinearize(t, y, h)`` the solver asks at each step's
    start (but the first) for a new linear part at (t, y); None keeps the present
    one. The RK43ZB step is exact in its linear part whatever A is, and its order
    conditions hold for any A, so a step's A may differ from the last one's (an
    exponential Runge–Kutta method with a per-step linearization; the remainder
    ``N = F + A_n y`` then contains ``−(A_θ − A_n)y``, small while θ stays near θ_n).
    ``n_refactor`` counts the new linear parts taken.

    Forward integration only (t_bound ≥ t0: backward, −A is unstable). With
    ``adaptive=False`` every step has length ``first_step`` (the last one is cut at
    t_bound) and none is rejected — for order studies.
    """

    order = 4
    error_estimator_order = 3
    n_stages = 5

    def __init__(
        self,
        nonlinear: Callable[[float, Array], Array],
        linear_part: LinearPart,
        t0: float,
        y0: ArrayLike,
        t_bound: float,
        *,
        rtol: float = 1e-3,
        atol: float | ArrayLike = 1e-6,
        first_step: float | None = None,
        max_step: float = np.inf,
        adaptive: bool = True,
        full_rhs: bool = False,
        relinearize: Callable[[float, Array, float], LinearPart | None] | None = None,
        noise: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.t = float(t0)
        self.t_bound = float(t_bound)
        if self.t_bound < self.t:
            raise ValueError("ExpRK integrates forward only (t_bound ≥ t0)")
        y = np.array(y0, dtype=float)
        if y.ndim != 1:
            raise ValueError("y0 must be one-dimensional")
        self.y: Array = y
        if rtol < 100 * np.finfo(float).eps:
            warnings.warn(f"rtol raised to {100 * np.finfo(float).eps:.3g}", stacklevel=2)
            rtol = 100 * float(np.finfo(float).eps)
        atol_a = np.asarray(atol, dtype=float)
        if np.any(atol_a < 0) or (atol_a.ndim > 0 and atol_a.shape != y.shape):
            raise ValueError("atol must be ≥ 0, a scalar or of y0's shape")
        if max_step <= 0:
            raise ValueError("max_step must be positive")
        if not adaptive and (first_step is None or first_step <= 0):
            raise ValueError("adaptive=False needs first_step > 0 (the fixed step)")
        if first_step is not None and first_step <= 0:
            raise ValueError("first_step must be positive")
        self.rtol = float(rtol)
        self.atol = atol_a
        self.max_step = float(max_step)
        self.adaptive = adaptive
        self.full_rhs = full_rhs
        self._fun = nonlinear
        self._lp = linear_part
        self._relinearize = relinearize
        self.n_refactor = 0
        if not all(math.isfinite(x) and x >= 0 for x in noise):
            raise ValueError("noise must be two finite numbers ≥ 0")
        self.noise = (float(noise[0]), float(noise[1]))
        self.atol_sum = 0.0
        self.t_old: float | None = None
        self.status = "running"
        self.nfev = 0
        self.njvp = 0
        self.nvjp = 0
        self.n_accepted = 0
        self.n_rejected = 0
        self.error_norm = math.nan
        self.error_estimate: Array | None = None
        u0 = self._coords(self.y)
        # the current point: y, its coordinates and (full_rhs) A·y with its coordinates
        self._point = self._combine(0.0, [(0, 1.0, self.y, u0)]) if full_rhs else _Point(y, u0)
        self._G1: tuple[Array, Array] | None = self._nonlinear(self.t, self._point)
        self._last: _StepRecord | None = None
        if first_step is not None:
            self.step_size = float(first_step)
        else:
            self.step_size = self._initial_step()

    @property
    def nlinear(self) -> int:
        return self.njvp + self.nvjp

    # -- plumbing -------------------------------------------------------------------

    def _call(self, t: float, y: Array) -> Array:
        self.nfev += 1
        return np.asarray(self._fun(t, y), dtype=float)

    def _nonlinear(self, t: float, point: _Point) -> tuple[Array, Array]:
        """``N(t, y)`` and its coordinates (one call of the callable, one jvp)."""
        raw = self._call(t, point.y)
        if self.full_rhs:  # raw = F = −Ay + N: add A·y and its coordinates (known)
            assert point.Ay is not None and point.uAy is not None
            return raw + point.Ay, self._coords(raw) + point.uAy
        return raw, self._coords(raw)

    def _value(self, t: float, point: _Point) -> Array:
        """``N(t, y)`` alone (one call of the callable)."""
        raw = self._call(t, point.y)
        if self.full_rhs:
            assert point.Ay is not None
            return raw + point.Ay
        return raw

    def _coords(self, v: Array) -> Array:
        self.njvp += 1
        return self._lp.coords(v)

    def _combine(self, h: float, terms: Sequence[PhiTerm]) -> _Point:
        self.nvjp += 1
        c = self._lp.combine(h, [terms], times_A=self.full_rhs)
        if c.Ay is None or c.uAy is None:
            return _Point(c.y[:, 0], c.u[:, 0])
        return _Point(c.y[:, 0], c.u[:, 0], c.Ay[:, 0], c.uAy[:, 0])

    def _scale(self, y_old: Array, y_new: Array, atol: Array | None = None) -> Array:
        base = self.atol if atol is None else atol
        return base + self.rtol * np.maximum(np.abs(y_old), np.abs(y_new))

    def noise_level(self, h: float) -> float:
        """The ℓ² standard deviation of a step's error estimate Δ caused by F's rounding
        noise (``noise``, see the class): ``h·noise·√(Σ_k λ_k w(−hλ_k)²)``, with
        ``w`` from ``estimate_weights``."""
        rho, perp = self.noise
        if rho == 0.0 and perp == 0.0:
            return 0.0
        lam = self._lp.lam
        w2 = estimate_weights(-h * np.append(lam, 0.0))
        in_range = rho * math.sqrt(float(np.sum(lam * w2[:-1])))
        return h * math.hypot(in_range, perp * math.sqrt(float(w2[-1])))

    def _atol_at(self, h: float) -> Array:
        """The absolute tolerance of a step of length h: ``√(atol² + (NOISE_SAFETY·ν(h))²/P)``
        per component, ν(h) = ``noise_level(h)`` — atol, or the estimate's own rounding
        noise where that is larger, in the ℓ² sense (the error norm is an RMS over P)."""
        if self.noise == (0.0, 0.0):
            return self.atol
        floor = NOISE_SAFETY * self.noise_level(h) / math.sqrt(self.y.size)
        return np.hypot(self.atol, floor)

    def _initial_step(self) -> float:
        """SciPy's heuristic (Hairer–Nørsett–Wanner II.4) on N alone: −A needs no resolving."""
        span = self.t_bound - self.t
        if span == 0:
            return 0.0
        assert self._G1 is not None
        G, uG = self._G1
        y, u = self._point.y, self._point.u
        scale = self._scale(y, y)
        d0 = _rms(y / scale)
        d1 = _rms(G / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, span, self.max_step)
        probe = self._combine(h0, [(0, 1.0, y, u), (1, 1.0, h0 * G, h0 * uG)])
        d2 = _rms((self._value(self.t + h0, probe) - G) / scale) / h0
        if max(d1, d2) <= 1e-15:  # N ≈ 0 here: nothing to resolve, the error estimate guards
            return min(span, self.max_step)
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (self.error_estimator_order + 1))
        return min(100 * h0, h1, span, self.max_step)

    # -- stepping ---------------------------------------------------------------------

    def _attempt(self, h: float) -> tuple[_Point, Array, Array, Array]:
        """One RK43ZB step of length h from (t, y): (new point, Δ, G_j, coordinates of G_j)."""
        assert self._G1 is not None
        t, start = self.t, self._point
        G = np.zeros((start.y.shape[0], 5))
        UG = np.zeros((start.u.shape[0], 5))
        G[:, 0], UG[:, 0] = self._G1
        stage = start
        for i in range(1, 5):
            stage = self._combine(h, _terms(h, NODES[i], _STAGE_GROUPS[i], G, UG, start))
            G[:, i], UG[:, i] = self._nonlinear(t + NODES[i] * h, stage)
        new = self._combine(h, _terms(h, 1.0, _OUTPUT_GROUPS, G, UG, start))
        return new, new.y - stage.y, G, UG

    def step(self) -> str | None:
        """Advance one accepted step; return None, or a message if the solver failed."""
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self.t == self.t_bound:
            self.t_old = self.t
            self.status = "finished"
            return None
        message = self._step_impl()
        if message is not None:
            self.status = "failed"
        elif self.t == self.t_bound:
            self.status = "finished"
        return message

    def _refactor(self) -> None:
        """Ask ``relinearize(t, y, h)`` for a new linear part ``−A_n`` at the step's start;
        if it gives one, recompute the start's coordinates (and A_n·y) in it: one jvp,
        one vjp (full_rhs). A step's linear part is fixed during the step (its rejected
        attempts included) and kept by its dense output."""
        assert self._relinearize is not None
        lp = self._relinearize(self.t, self.y, min(self.step_size, self.max_step))
        if lp is None:
            return
        self._lp = lp
        self.n_refactor += 1
        u = self._coords(self.y)
        self._point = (
            self._combine(0.0, [(0, 1.0, self.y, u)]) if self.full_rhs else _Point(self.y, u)
        )
        self._G1 = None

    def _step_impl(self) -> str | None:
        t = self.t
        if self._relinearize is not None and self.n_accepted > 0:
            self._refactor()
        min_step = 10 * abs(np.nextafter(t, np.inf) - t)
        h_abs = min(self.step_size, self.max_step)
        rejected = False
        while True:
            if h_abs < min_step:
                return "Required step size is less than spacing between numbers."
            t_new = t + h_abs
            if t_new >= self.t_bound or self.t_bound - t_new < min_step:
                t_new = self.t_bound
            h = t_new - t
            if self._G1 is None:
                self._G1 = self._nonlinear(t, self._point)
            new, delta, G, UG = self._attempt(h)
            atol_h = self._atol_at(h)
            err = _rms(delta / self._scale(self.y, new.y, atol_h))
            self.error_norm, self.error_estimate = err, delta
            if not self.adaptive:
                h_abs = self.step_size
                break
            if err < 1.0:  # False for NaN
                factor = MAX_FACTOR if err == 0 else min(MAX_FACTOR, SAFETY * err**-0.25)
                if rejected:
                    factor = min(1.0, factor)
                h_abs *= factor
                break
            h_abs *= max(MIN_FACTOR, SAFETY * err**-0.25) if math.isfinite(err) else MIN_FACTOR
            rejected = True
            self.n_rejected += 1
        self.atol_sum += float(np.linalg.norm(np.broadcast_to(atol_h, self.y.shape)))
        self._last = _StepRecord(t, h, self._point, G, UG, new.y, self._lp)
        self.t_old, self.t, self.y, self._point = t, t_new, new.y, new
        self._G1 = None
        self.step_size = h_abs
        self.n_accepted += 1
        return None

    def dense_output(self) -> ExpRKDenseOutput:
        """``y(t)`` on ``[t_old, t]`` of the last step (see ``ExpRKDenseOutput``)."""
        if self._last is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        return ExpRKDenseOutput(self, self._last)


class _Point(NamedTuple):
    y: Array
    u: Array
    Ay: Array | None = None
    uAy: Array | None = None


def _terms(
    h: float, c0: float, groups: Sequence[_Group], G: Array, UG: Array, start: _Point
) -> list[PhiTerm]:
    """``e^{c0 Z} y0 + h Σ_{(k,c)} φ_k(cZ) Σ_j α_j G_j`` as φ-terms with coordinates.

    G and UG hold the G_j and their coordinates as columns."""
    terms: list[PhiTerm] = [(0, c0, start.y, start.u)]
    for k, c, alpha in groups:
        terms.append((k, c, G @ (h * alpha), UG @ (h * alpha)))
    return terms


class _StepRecord(NamedTuple):
    t: float
    h: float
    start: _Point
    G: Array
    UG: Array
    y1: Array
    lp: LinearPart


class ExpRKDenseOutput:
    """Continuous extension of one RK43ZB step: ``y(t0 + θh) = e^{θZ} y0 + h Σ_j b_j(θ) G_j``.

    ``b_j(θ) = Σ_k β_jk θ^k φ_k(θZ)`` where the step's weights are
    ``b_j = Σ_k β_jk φ_k(Z)``. Accuracy: for each k ≤ 3, Σ_j β_jk c_j^{m−1}/(m−1)! = δ_km
    (that is how ψ_m(Z) = 0, m ≤ 3, holds for every Z), so
    ``Σ_j b_j(θ) c_j^{m−1}/(m−1)! = θ^m φ_m(θZ)``: the exponential quadrature
    conditions of order 3 hold at every θ; and the stiff condition
    ``Σ_j b_j J ψ_{2,j} = 0`` holds per k, hence for b(θ) too. So the extension has
    stiff order 3 — local error O(h⁴) uniformly in θ, the order of the controlled
    estimate Δ — and the error at θ is the global error at t0 (O(h⁴)) plus that:
    the method's order. It equals y0 at θ = 0 and the step's y1 at θ = 1 exactly,
    and costs no evaluation of N: one product ``J0ᵀ(·)`` per call (all points of an
    array ``t`` in one).
    """

    def __init__(self, solver: ExpRK, rec: _StepRecord) -> None:
        self._solver = solver
        self._rec = rec
        self.t_old = rec.t
        self.t = rec.t + rec.h

    def __call__(self, t: ArrayLike) -> Array:
        """y at t: (P,) for scalar t, (P, len(t)) for a 1-D array (like SciPy's DenseOutput)."""
        ta = np.asarray(t, dtype=float)
        if ta.ndim > 1:
            raise ValueError("t must be a scalar or one-dimensional")
        times = np.atleast_1d(ta)
        rec = self._rec
        columns: list[Sequence[PhiTerm]] = []
        out = np.empty((rec.y1.shape[0], times.size))
        pending: list[int] = []
        for i, ti in enumerate(times):
            theta = (ti - rec.t) / rec.h if rec.h > 0 else 1.0
            if theta == 0.0:
                out[:, i] = rec.start.y
            elif theta == 1.0:
                out[:, i] = rec.y1
            else:
                columns.append(self._terms(theta))
                pending.append(i)
        if columns:
            self._solver.nvjp += 1
            out[:, pending] = rec.lp.combine(rec.h, columns).y
        return out[:, 0] if ta.ndim == 0 else out

    def _terms(self, theta: float) -> list[PhiTerm]:
        rec = self._rec
        terms: list[PhiTerm] = [(0, theta, rec.start.y, rec.start.u)]
        for k, _, alpha in _OUTPUT_GROUPS:
            w = (rec.h * theta**k) * alpha
            terms.append((k, theta, rec.G @ w, rec.UG @ w))
        return terms
