"""``theory.gamma_set.certified_gammas`` against the inequality itself, evaluated on
vectors at many γ (direct tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck.theory.gamma_set import certified_gammas


def _holds(p, c, f0, y, gamma):
    return p * gamma > c * np.linalg.norm(gamma * f0 - y)


def _inside(intervals, gamma):
    return any(lo < gamma < hi for lo, hi in intervals)


@pytest.mark.parametrize("seed", range(40))
def test_the_set_is_exactly_where_the_inequality_holds(seed):
    rng = np.random.default_rng(seed)
    n = 5
    f0 = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 1)
    y = rng.standard_normal(n)
    c = 10.0 ** rng.uniform(-1, 1)
    p = c * np.linalg.norm(f0) * 10.0 ** rng.uniform(-0.5, 0.5)  # A of either sign
    intervals = certified_gammas(p, c, f0 @ f0, f0 @ y, y @ y)
    assert len(intervals) <= 1
    ends = [e for iv in intervals for e in iv if 0 < e < math.inf]
    for gamma in np.logspace(-4, 6, 400):
        # away from an end (relative 1e-9: the roots carry a few ulps of rounding)
        if any(abs(gamma - e) <= 1e-9 * e for e in ends):
            continue
        assert _inside(intervals, gamma) == _holds(p, c, f0, y, gamma), (gamma, intervals)


def test_the_three_shapes():
    y = np.array([1.0, 0.0])
    # f0 = 0 (centered): ‖y‖ fixed, γ > c‖y‖/p
    assert certified_gammas(2.0, 4.0, 0.0, 0.0, 1.0) == ((2.0, math.inf),)
    # p > c‖f0‖ and f0 ⟂ y: an unbounded interval from the positive root
    ((lo, hi),) = certified_gammas(2.0, 1.0, 1.0, 0.0, 1.0)
    assert hi == math.inf and lo == pytest.approx(1.0 / math.sqrt(3.0), rel=1e-15)
    # p < c‖f0‖, f0 along y: bounded; p much smaller: empty
    f0 = np.array([1.0, 0.0])
    ((lo, hi),) = certified_gammas(0.9, 1.0, 1.0, 1.0, 1.0)
    # 0.9γ > |γ − 1| ⇔ γ ∈ (1/1.9, 1/0.1)
    assert (lo, hi) == pytest.approx((1 / 1.9, 10.0), rel=1e-14)
    assert certified_gammas(0.9, 1.0, f0 @ f0, -(f0 @ y), 1.0) == ()  # 0.9γ > γ + 1: never


def test_degenerate_inputs():
    assert certified_gammas(1.0, 0.0, 1.0, 0.0, 1.0) == ((0.0, math.inf),)  # no constraint
    assert certified_gammas(0.0, 1.0, 0.0, 0.0, 1.0) == ()
    assert certified_gammas(math.nan, 1.0, 0.0, 0.0, 1.0) == ()
    assert certified_gammas(1.0, math.inf, 0.0, 0.0, 1.0) == ()
    # A = 0 (p = c‖f0‖): linear, γ > ‖y‖²/(2 f0·y) when f0·y > 0, else never
    assert certified_gammas(1.0, 1.0, 1.0, 0.5, 1.0) == ((1.0, math.inf),)
    assert certified_gammas(1.0, 1.0, 1.0, -0.5, 1.0) == ()
