"""One-dimensional solvers for the theorems' searches, without SciPy (whose import alone
costs more than a certificate of a small problem): Brent's root finder and a golden-
section maximizer. Both take plain float functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

GOLDEN = (3.0 - math.sqrt(5.0)) / 2.0  # 0.381966…


def brent_root(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    rtol: float = 1e-12,
    xtol: float = 1e-300,
    maxiter: int = 200,
) -> float:
    """A root of f in [a, b] where f(a) and f(b) differ in sign (Brent 1973: inverse
    quadratic interpolation, secant and bisection), to ``rtol``·|x| + ``xtol``."""
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("brent_root: f(a) and f(b) must differ in sign")
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * rtol * abs(b) + xtol
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p, q = 2.0 * m * s, 1.0 - s
            else:  # inverse quadratic interpolation
                qa, r = fa / fc, fb / fc
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0))
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            p = abs(p)
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = f(b)
    return b


def golden_max(
    f: Callable[[float], float], a: float, b: float, *, xtol: float = 1e-10, maxiter: int = 200
) -> tuple[float, float]:
    """(x, f(x)) at a local maximum of f on [a, b] by golden-section search (f unimodal
    there), to ``xtol`` in x."""
    x1 = a + GOLDEN * (b - a)
    x2 = b - GOLDEN * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(maxiter):
        if b - a <= xtol:
            break
        if f1 >= f2:
            b, x2, f2 = x2, x1, f1
            x1 = a + GOLDEN * (b - a)
            f1 = f(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = b - GOLDEN * (b - a)
            f2 = f(x2)
    return (x1, f1) if f1 >= f2 else (x2, f2)
