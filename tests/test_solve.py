"""theory.solve: Brent's root finder and the golden-section maximizer against known answers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.theory.solve import brent_root, golden_max


@pytest.mark.parametrize(
    ("f", "a", "b", "root"),
    [
        (lambda x: x * x - 2.0, 0.0, 2.0, math.sqrt(2.0)),
        (lambda x: math.cos(x) - x, 0.0, 1.0, 0.7390851332151607),
        (lambda x: math.exp(x) - 1e-8, -30.0, 5.0, math.log(1e-8)),
        (lambda x: (x - 1e-7) ** 3, -1.0, 1.0, 1e-7),  # a triple root: bisection steps
        (lambda x: 1.0 if x > 0.3 else -1.0, 0.0, 1.0, 0.3),  # a jump
    ],
)
def test_brent_root(f, a, b, root):
    x = brent_root(f, a, b, rtol=1e-14, xtol=1e-15)
    assert abs(x - root) <= 1e-12 * max(1.0, abs(root))


def test_brent_root_needs_a_sign_change():
    with pytest.raises(ValueError, match="differ in sign"):
        brent_root(lambda x: x * x + 1.0, -1.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 50), st.floats(0.1, 10))
def test_golden_max_finds_the_peak_of_a_unimodal_function(center, width):
    f = lambda x: -((x - center) ** 2) / width  # noqa: E731
    x, v = golden_max(f, center - 3 * width - 1, center + 2 * width + 1, xtol=1e-10)
    assert abs(x - center) <= 1e-9 and v == f(x)
