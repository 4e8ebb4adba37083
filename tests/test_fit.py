"""``run.fit``: power laws and their bootstrap intervals, lazy thresholds (direct tests).

The references are written here: medians over seeds and ``np.linalg.lstsq`` on the
logs, and a bootstrap loop that resamples the seeds (or, with one seed, the points)
with the same documented generator, ``np.random.default_rng(BOOTSTRAP_SEED)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ntkcheck.run.fit import (
    BOOTSTRAP_SEED,
    N_BOOTSTRAP,
    fit_power_law,
    lazy_thresholds,
    positive_median,
    split_axes,
)

#: Known exponents of the synthetic law q = C · n^A_N · width^A_W.
A_N, A_W, C = 1.5, -1.0, 3.0
NS, WIDTHS = (8, 16, 32, 64), (64, 128, 256)


def _rows(noise: float, seeds: int, rng_seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(rng_seed)
    rows = []
    for n, w in itertools.product(NS, WIDTHS):
        for s in range(seeds):
            q = C * n**A_N * w**A_W * math.exp(noise * rng.standard_normal())
            rows.append({"data.n": n, "model.width": w, "seed": s, "q": q})
    return rows


def _reference(rows: list[dict], axes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list]:
    """Design (1, log axes...), log median per point, and the per-seed table."""
    points: dict[tuple, dict[int, float]] = {}
    for r in rows:
        points.setdefault(tuple(r[a] for a in axes), {})[r["seed"]] = r["q"]
    keys = list(points)
    design = np.array([[1.0, *np.log(k)] for k in keys])
    y = np.log([np.median(list(points[k].values())) for k in keys])
    seeds = sorted({s for cell in points.values() for s in cell})
    table = [[points[k][s] for s in seeds] for k in keys]
    return design, y, table


def _by_axis(fits):
    return {f.axis: f for f in fits}


def test_exact_power_law_recovers_the_exponents_and_a_degenerate_interval():
    """Noise-free data: every refit is exact, so each interval is the exponent itself
    (rounding of logs of numbers ≤ 1e3: ~1e-15 per entry, far below 1e-9)."""
    fits = _by_axis(fit_power_law(_rows(0.0, 3), "q", ["data.n", "model.width", "seed"]))
    assert set(fits) == {"data.n", "model.width"}
    for axis, exponent in (("data.n", A_N), ("model.width", A_W)):
        f = fits[axis]
        assert f.exponent == pytest.approx(exponent, abs=1e-9)
        assert f.ci_low == pytest.approx(exponent, abs=1e-9)
        assert f.ci_high == pytest.approx(exponent, abs=1e-9)
        assert f.intercept == pytest.approx(math.log(C), abs=1e-9)
        assert f.points == len(NS) * len(WIDTHS) and f.where == {} and f.collinear == ()


def test_noisy_seeds_equal_an_independent_lstsq_and_seed_bootstrap():
    rows = _rows(0.3, 5)
    fits = _by_axis(fit_power_law(rows, "q", ["data.n", "model.width"]))
    design, y, table = _reference(rows, ("data.n", "model.width"))
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    # the bootstrap, independently: resample the 5 seeds jointly, medians, refit
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    T = np.array(table)
    boot = []
    for _ in range(N_BOOTSTRAP):
        cols = rng.integers(0, T.shape[1], T.shape[1])
        boot.append(np.linalg.lstsq(design, np.log(np.median(T[:, cols], axis=1)), rcond=None)[0])
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    for j, axis in enumerate(("data.n", "model.width"), start=1):
        f = fits[axis]
        assert f.exponent == pytest.approx(coef[j], rel=1e-12, abs=1e-12)
        assert (f.ci_low, f.ci_high) == pytest.approx((low[j], high[j]), rel=1e-12, abs=1e-12)
        assert f.ci_low <= f.exponent <= f.ci_high
    # and near the truth: the median of 5 log-normal draws (σ = 0.3) has a standard
    # deviation of ≈ 1.25·0.3/√5 ≈ 0.17; over 12 points with std(log n) ≈ 0.78 the
    # exponent's standard error is ≈ 0.17/(0.78·√12) ≈ 0.063: 4 of them is 0.25
    assert abs(fits["data.n"].exponent - A_N) < 0.25
    assert abs(fits["model.width"].exponent - A_W) < 0.25 * 0.78 / 0.57  # std(log N) ≈ 0.57


def test_one_seed_resamples_the_points():
    rows = _rows(0.2, 1)
    (fit,) = [f for f in fit_power_law(rows, "q", ["data.n", "model.width"]) if f.axis == "data.n"]
    design, y, _ = _reference(rows, ("data.n", "model.width"))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    boot = []
    for _ in range(N_BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        coef, _, rank, _ = np.linalg.lstsq(design[pick], y[pick], rcond=None)
        if rank == 3:
            boot.append(coef)
    assert len(boot) >= 900  # a rank-deficient resample of 12 points over 4×3 values is rare
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    assert (fit.ci_low, fit.ci_high) == pytest.approx((low[1], high[1]), rel=1e-12, abs=1e-12)


def test_a_categorical_axis_gets_one_fit_per_value():
    rows = [
        {**r, "model.activation": act, "q": r["q"] * (2.0 if act == "erf" else 1.0)}
        for act in ("tanh", "erf")
        for r in _rows(0.0, 2)
    ]
    fits = fit_power_law(rows, "q", ["model.activation", "data.n", "model.width"])
    assert [f.where for f in fits if f.axis == "data.n"] == [
        {"model.activation": "tanh"}, {"model.activation": "erf"},
    ]  # fmt: skip
    tanh, erf = (f for f in fits if f.axis == "data.n")
    assert erf.intercept - tanh.intercept == pytest.approx(math.log(2.0), abs=1e-9)


def test_linked_axes_are_one_collinear_fit():
    rows = [{"data.n": n, "data.d": 2 * n, "seed": 0, "q": 5.0 * n**2.0} for n in (4, 8, 16, 32)]
    (fit,) = fit_power_law(rows, "q", ["data.n", "data.d"])
    assert fit.axis == "data.n" and fit.collinear == ("data.d",)
    assert fit.exponent == pytest.approx(2.0, abs=1e-9)


def test_rows_without_a_positive_value_are_left_out():
    rows = _rows(0.0, 1)
    rows[0]["q"], rows[1]["q"], rows[2]["q"] = None, 0.0, -1.0
    fits = _by_axis(fit_power_law(rows, "q", ["data.n", "model.width"]))
    assert fits["data.n"].points == len(NS) * len(WIDTHS) - 3
    assert fits["data.n"].exponent == pytest.approx(A_N, abs=1e-9)


def test_too_few_points_for_an_interval_or_a_fit():
    two = [{"x": x, "seed": 0, "q": x**2.0} for x in (2, 4)]
    (fit,) = fit_power_law(two, "q", ["x"])  # two points, two unknowns: no resample fits
    assert fit.exponent == pytest.approx(2.0, abs=1e-12)
    assert math.isnan(fit.ci_low) and math.isnan(fit.ci_high)
    assert fit_power_law(two[:1], "q", ["x"]) == []  # one point: no fit at all


def test_split_axes_and_positive_median():
    rows = [{"a": 1, "b": "tanh", "c": 3, "d": -1.0}, {"a": 2, "b": "erf", "c": 3, "d": 2.0}]
    assert split_axes(rows, ["a", "b", "c", "d"]) == (["a"], ["b", "d"])
    assert positive_median([None, -1, 0, 1.0, 3.0, float("nan"), True]) == 2.0
    assert positive_median([None, 0]) is None


def _lazy_rows(kernel: dict[float, list[float]]) -> list[dict]:
    return [
        {"gamma": g, "seed": s, "k": value, "gap": value / 2, "g1": 10.0 + s, "g2": None}
        for g, values in kernel.items()
        for s, value in enumerate(values)
    ]


def _thresholds(rows, tol=1e-2):
    return lazy_thresholds(
        rows, ["gamma", "seed"], lazy=lambda r: (r["k"], r["gap"]), stars=("g1", "g2"), tol=tol
    )


def test_lazy_threshold_is_the_smallest_gamma_from_which_on_the_medians_are_below_tol():
    # γ = 2 is lazy but γ = 4 is not: the threshold is 8, the γ below it 4
    rows = _lazy_rows({1: [0.5] * 3, 2: [1e-3] * 3, 4: [0.5, 1e-3, 0.5], 8: [1e-3, 0.5, 1e-3],
                       16: [1e-4] * 3})  # fmt: skip
    (t,) = _thresholds(rows)
    assert (t.gamma_lazy, t.gamma_below) == (8.0, 4.0)
    assert t.at == {} and t.tol == 1e-2
    assert t.gamma_star_lecture == 11.0 and t.gamma_star_path is None  # medians of 10, 11, 12


def test_lazy_threshold_at_the_ends_of_the_grid():
    (always,) = _thresholds(_lazy_rows({1: [1e-3], 2: [1e-4]}))
    assert (always.gamma_lazy, always.gamma_below) == (1.0, None)
    (never,) = _thresholds(_lazy_rows({1: [0.5], 2: [1e-3], 4: [0.2]}))
    assert (never.gamma_lazy, never.gamma_below) == (None, None)
    # a gap that is not measured (None) is not lazy
    rows = _lazy_rows({1: [1e-3], 2: [1e-3]})
    rows[-1]["gap"] = None
    (missing,) = _thresholds(rows)
    assert missing.gamma_lazy is None


def test_lazy_thresholds_per_point_of_the_other_axes():
    rows = []
    for width, start in ((64, 4), (256, 2)):
        for g in (1, 2, 4, 8):
            value = 1e-3 if g >= start else 0.5
            rows.append({"model.width": width, "gamma": g, "seed": 0, "k": value, "gap": value,
                         "g1": 1.0, "g2": 2.0})  # fmt: skip
    out = lazy_thresholds(
        rows, ["model.width", "gamma", "seed"], lazy=lambda r: (r["k"], r["gap"]),
        stars=("g1", "g2"), tol=1e-2,
    )  # fmt: skip
    assert [(t.at, t.gamma_lazy, t.gamma_below) for t in out] == [
        ({"model.width": 64}, 4.0, 2.0), ({"model.width": 256}, 2.0, 1.0),
    ]  # fmt: skip
