"""Power laws fitted to a sweep's rows, and the empirical lazy threshold.

``fit_power_laws``: for a quantity q, one joint least-squares fit of
``log(median over seeds of q) = c + Σ_j e_j log x_j`` over the grid points, x_j the
numeric grid axes (seed excluded) — so that, e.g., γ* ∝ n^{e_n} N^{e_N}. Axes
that are not numbers, or not all positive, are not regressors: a separate fit is
made for each of their values (``where``). An axis that varies with another
(linked keys, ``data.n,data.d``) is absorbed into it (``collinear``). Rows where q
is null or not positive are left out. 95% intervals are bootstrap percentiles
(a fixed RNG seed, so they are reproducible): the seeds are resampled jointly —
a seed is the random unit, the same data at every model size — or, with one seed, the
grid points. With few seeds the intervals are coarse (3 seeds have 10 distinct
resamples).

``lazy_thresholds``: for each point of the other axes (e.g. each model size), the
smallest γ of the grid from which on the medians over seeds of the relative
kernel change and the relative linearization gap are below a tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_BOOTSTRAP = 1000
BOOTSTRAP_SEED = 0
#: The fewest bootstrap replicates with a full-rank design for an interval.
MIN_REPLICATES = 100

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Fit:
    """One exponent of a power law: q ∝ axis^exponent (others held fixed), with its 95%
    bootstrap interval; ``intercept`` is c (natural log), shared by one fit's axes."""

    quantity: str
    axis: str
    exponent: float
    ci_low: float
    ci_high: float
    intercept: float
    points: int
    where: dict[str, Any] = field(default_factory=dict)
    collinear: tuple[str, ...] = ()


@dataclass(frozen=True)
class Threshold:
    """The empirical lazy threshold at one point of the non-γ axes (``at``):
    ``gamma_lazy`` is the smallest grid γ from which on the run is lazy (None: not
    even at the largest γ), ``gamma_below`` the grid γ before it (None: lazy from the
    grid's smallest γ on), beside the medians of both theorems' γ*."""

    at: dict[str, Any]
    gamma_lazy: float | None
    gamma_below: float | None
    gamma_star_lecture: float | None
    gamma_star_path: float | None
    tol: float


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def split_axes(rows: Sequence[Row], axes: Sequence[str]) -> tuple[list[str], list[str]]:
    """(regressors, categorical): axes whose values are all positive numbers and vary,
    and the other axes that vary (each of their values gets its own fit)."""
    numeric, categorical = [], []
    for key in axes:
        values = [r[key] for r in rows]
        if len({repr(v) for v in values}) < 2:
            continue
        if all(_number(v) and v > 0 for v in values):
            numeric.append(key)
        else:
            categorical.append(key)
    return numeric, categorical


def positive_median(values: Sequence[Any]) -> float | None:
    """The median of the positive numbers among ``values``; None if there are none."""
    good = [float(v) for v in values if _number(v) and v > 0]
    return float(np.median(good)) if good else None


def _columns(logs: np.ndarray, names: list[str]) -> tuple[list[int], dict[int, list[str]]]:
    """Columns kept for a full-rank design (with the intercept), and the absorbed ones."""
    kept: list[int] = []
    absorbed: dict[int, list[str]] = {}
    ones = np.ones((logs.shape[0], 1))
    for j in range(logs.shape[1]):
        trial = np.hstack([ones, logs[:, [*kept, j]]])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            kept.append(j)
            continue
        col = logs[:, j] - logs[:, j].mean()
        best = None
        for k in kept:
            other = logs[:, k] - logs[:, k].mean()
            denom = np.linalg.norm(col) * np.linalg.norm(other)
            if denom > 0 and abs(col @ other) / denom > 1 - 1e-9:
                best = k
                break
        if best is not None:
            absorbed.setdefault(best, []).append(names[j])
    return kept, absorbed


def _bootstrap(
    design: np.ndarray, table: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Coefficients of ``n_boot`` refits. ``table[i, s]``: the quantity at point i for
    seed s (NaN where missing). With several seeds, the seeds are resampled jointly —
    a seed is the experiment's random unit, shared by every point (the same data at
    every model size) — and each point's median recomputed; with one seed, the points are
    resampled. Replicates whose design is rank-deficient are skipped."""
    P, columns = design.shape
    S = table.shape[1]
    full = bool(np.all(np.isfinite(table)))  # np.median is 50× faster than nanmedian
    out = []
    for _ in range(n_boot):
        if S > 1:
            cols = rng.integers(0, S, S)
            sub = table[:, cols]
            keep = np.any(np.isfinite(sub), axis=1)
            with np.errstate(all="ignore"):
                y = np.log(np.median(sub, axis=1) if full else np.nanmedian(sub[keep], axis=1))
            X = design[keep]
        else:
            pick = rng.integers(0, P, P)
            y, X = np.log(table[pick, 0]), design[pick]
        if X.shape[0] <= columns:
            continue
        coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
        if rank == columns:
            out.append(coef)
    return np.array(out).reshape(-1, columns)


def fit_power_law(
    rows: Sequence[Row],
    quantity: str,
    axes: Sequence[str],
    *,
    seed_key: str = "seed",
    n_boot: int = N_BOOTSTRAP,
    rng_seed: int = BOOTSTRAP_SEED,
) -> list[Fit]:
    """The fits of ``quantity`` on the numeric ``axes`` (see the module docstring)."""
    axes = [a for a in axes if a != seed_key]
    numeric, categorical = split_axes(rows, axes)
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(repr(r[k]) for k in categorical), []).append(r)
    fits: list[Fit] = []
    for members in groups.values():
        where = {k: members[0][k] for k in categorical}
        points: dict[tuple[Any, ...], dict[str, float]] = {}
        for r in members:
            value = r[quantity]
            cell = points.setdefault(tuple(r[k] for k in numeric), {})
            if _number(value) and value > 0:
                cell[repr(r.get(seed_key))] = float(value)
        used = [(x, cell) for x, cell in points.items() if cell]
        if not used or not numeric:
            continue
        logs = np.log(np.array([x for x, _ in used], dtype=float))
        vary = [j for j in range(len(numeric)) if np.ptp(logs[:, j]) > 0]
        names = [numeric[j] for j in vary]
        kept, absorbed = _columns(logs[:, vary], names)
        if not kept or len(used) < len(kept) + 1:
            continue
        design = np.hstack([np.ones((len(used), 1)), logs[:, vary][:, kept]])
        seeds = sorted({s for _, cell in used for s in cell})
        table = np.array([[cell.get(s, np.nan) for s in seeds] for _, cell in used])
        y = np.log([float(np.median(list(cell.values()))) for _, cell in used])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        boot = _bootstrap(design, table, n_boot, np.random.default_rng(rng_seed))
        enough = boot.shape[0] >= MIN_REPLICATES
        low = np.percentile(boot, 2.5, axis=0) if enough else np.full(len(coef), math.nan)
        high = np.percentile(boot, 97.5, axis=0) if enough else np.full(len(coef), math.nan)
        for i, j in enumerate(kept, start=1):
            fits.append(
                Fit(
                    quantity=quantity,
                    axis=names[j],
                    exponent=float(coef[i]),
                    ci_low=float(low[i]),
                    ci_high=float(high[i]),
                    intercept=float(coef[0]),
                    points=len(used),
                    where=where,
                    collinear=tuple(absorbed.get(j, ())),
                )
            )
    return fits


def lazy_thresholds(
    rows: Sequence[Row],
    axes: Sequence[str],
    *,
    lazy: Callable[[Row], tuple[float | None, float | None]],
    stars: tuple[str, str],
    tol: float,
    gamma_key: str = "gamma",
    seed_key: str = "seed",
) -> list[Threshold]:
    """The smallest grid γ from which on the run is lazy, at each point of the other axes.

    ``lazy(row)`` gives the row's (relative kernel change, relative gap); a γ is lazy
    when the medians over seeds of both are below ``tol``; ``stars`` names the rows'
    γ* of the lecture's and the path theorem.
    """
    others = [a for a in axes if a not in (gamma_key, seed_key)]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(repr(r[k]) for k in others), []).append(r)
    out = []
    for members in groups.values():
        by_gamma: dict[float, list[Row]] = {}
        for r in members:
            if _number(r[gamma_key]):
                by_gamma.setdefault(float(r[gamma_key]), []).append(r)
        gammas = sorted(by_gamma)
        flags = []
        for g in gammas:
            measures = [lazy(r) for r in by_gamma[g]]
            kernel = [m[0] for m in measures if m[0] is not None]
            gap = [m[1] for m in measures if m[1] is not None]
            flags.append(
                bool(kernel and gap)
                and float(np.median(kernel)) < tol
                and float(np.median(gap)) < tol
            )
        start = len(gammas)
        while start > 0 and flags[start - 1]:
            start -= 1
        out.append(
            Threshold(
                at={k: members[0][k] for k in others},
                gamma_lazy=gammas[start] if start < len(gammas) else None,
                gamma_below=gammas[start - 1] if 0 < start <= len(gammas) - 1 else None,
                gamma_star_lecture=positive_median([r[stars[0]] for r in members]),
                gamma_star_path=positive_median([r[stars[1]] for r in members]),
                tol=tol,
            )
        )
    return out
