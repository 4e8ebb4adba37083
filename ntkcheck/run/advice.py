"""What would certify a spec that is not certified, everything else fixed (JSON
``certificate.would_certify``): the nearest certified γ, the smallest model size along
the family's size axis (certified at that size, not at half of it; families that name
one), the largest certified lr (GD).

The size comes from the lecture's trend γ* ∝ 1/size (THEORY.md §4, §9) and is then
checked by certifying at it: doubled until it certifies, halved while half of it
does, so the named size certifies and half of it does not (``confirmed``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..io.loaded import LoadedSpec
from ..models.registry import family_spec
from ..theory.certificate import Certificate
from ..theory.gd import GdCertificate

#: Most certify runs the size search may spend, and its wall-time budget (s): the
#: smaller of SIZE_BUDGET_S and RELATIVE_BUDGET × the spec's own measurement, at least
#: MIN_BUDGET_S.
MAX_SIZE_RUNS = 6
SIZE_BUDGET_S = 60.0
RELATIVE_BUDGET = 20.0
MIN_BUDGET_S = 10.0
#: Sizes beyond this are not searched.
MAX_SIZE = 1 << 26


@dataclass(frozen=True)
class WouldCertify:
    """``gamma``: the nearest end of the certified γ set (None when empty);
    ``size``: a value of the family's size key ``size_key`` that certifies, half of
    which does not (None: no size key, or not found within the search's budget);
    ``confirmed``: ``size`` was certified by a run at it (False: a prediction from the
    1/size trend only); ``lr``: the largest certified lr at this γ, in the user's units
    (GD only); ``runs``: the sizes certified on the way, with their verdicts;
    ``start``: the spec's own size."""

    gamma: float | None
    size: int | None
    lr: float | None
    confirmed: bool
    runs: tuple[tuple[int, bool], ...] = ()
    start: int | None = None  # the spec's own size
    size_key: str = ""  # the spec key (the family's size axis)


def nearest_gamma(c: Certificate | GdCertificate) -> float | None:
    """The end of the certified γ set nearest to c.gamma (its lower end when γ is below)."""
    if not c.gamma_interval:
        return None
    lo, hi = c.gamma_interval[0]
    if c.gamma <= lo:
        return lo
    return hi if c.gamma >= hi else None


def size_of(loaded: LoadedSpec) -> tuple[str, int, bool] | None:
    """The family's size key, the spec's value of it and whether sizes must be even,
    when the advice may vary it (None: the family names no size axis, or it may not)."""
    model = loaded.spec.model
    fam = family_spec(model.architecture)
    size = fam.size_of(model)
    if fam.size_key is None or size is None:
        return None
    return fam.size_key, int(size), fam.size_even(model)


def _even(w: int, even: bool) -> int:
    """w, rounded up to a multiple of 4 when sizes must be even, so that half of it is a
    valid size too."""
    return w + (-w) % 4 if even else w


def search_budget(measured_s: float) -> float:
    """The size search's wall-time budget (s) for a spec measured in ``measured_s``."""
    return min(SIZE_BUDGET_S, max(MIN_BUDGET_S, RELATIVE_BUDGET * measured_s))


def trend_size(size0: int, gamma_star_ratio: float, *, even: bool) -> int:
    """The trend's first guess W ≈ 1.05·size0·γ*/γ (γ* ∝ 1/size, THEORY.md §4), > size0."""
    ratio = gamma_star_ratio if math.isfinite(gamma_star_ratio) else 2.0
    return _even(max(size0 + 1, math.ceil(size0 * max(ratio, 1.0) * 1.05)), even)


def search_size(
    size0: int,
    gamma_star_ratio: float,
    certifies: Callable[[int], bool],
    *,
    even: bool,
    max_runs: int = MAX_SIZE_RUNS,
    budget_s: float = SIZE_BUDGET_S,
    predicted_s: Callable[[int], float] | None = None,
) -> tuple[int | None, tuple[tuple[int, bool], ...]]:
    """A size W > size0 with certifies(W) and not certifies(W/2) (or W/2 ≤ size0,
    which does not certify), starting from :func:`trend_size`, in at most ``max_runs``
    runs within ``budget_s`` seconds; a run whose ``predicted_s`` would pass the budget
    is not started."""
    start = time.perf_counter()
    runs: list[tuple[int, bool]] = []

    def run(w: int) -> bool:
        ok = certifies(w)
        runs.append((w, ok))
        return ok

    def spent(w: int) -> bool:
        ahead = predicted_s(w) if predicted_s is not None else 0.0
        elapsed = time.perf_counter() - start
        return len(runs) >= max_runs or elapsed + ahead > budget_s

    w = trend_size(size0, gamma_star_ratio, even=even)
    if w > MAX_SIZE or spent(w):
        return None, ()
    if run(w):
        while True:
            half = _even(w // 2, even)  # ≥ w/2: if it fails, so does w/2 (monotone)
            if half <= size0 or half >= w or spent(half) or not run(half):
                return w, tuple(runs)
            w = half
    while True:
        w = _even(2 * w, even)
        if w > MAX_SIZE or spent(w):
            break
        if run(w):
            return w, tuple(runs)
    return None, tuple(runs)
