"""What would certify a spec that is not certified, everything else fixed (JSON
``certificate.would_certify``): the nearest certified γ, the smallest width (two-layer
networks: certified at that width, not at half of it), the largest certified lr (GD).

The width comes from the lecture's trend γ* ∝ 1/N (THEORY.md §4, §9) and is then
checked by certifying at it: doubled until it certifies, halved while half of it
does, so the named width certifies and half of it does not (``confirmed``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..io.loaded import LoadedSpec
from ..theory.certificate import Certificate
from ..theory.gd import GdCertificate

#: Most certify runs the width search may spend, and its wall-time budget (s).
MAX_WIDTH_RUNS = 6
WIDTH_BUDGET_S = 60.0
#: Widths beyond this are not searched (the model block's own limit is 10⁹).
MAX_WIDTH = 1 << 26


@dataclass(frozen=True)
class WouldCertify:
    """``gamma``: the nearest end of the certified γ set (None when empty);
    ``width``: a width that certifies, half of which does not (None: no width key, or
    not found within the search's budget); ``confirmed``: ``width`` was certified by a
    run at that width (False: a prediction from the 1/N trend only); ``lr``: the
    largest certified lr at this γ, in the user's units (GD only); ``runs``: the
    widths certified on the way, with their verdicts; ``start``: the spec's width."""

    gamma: float | None
    width: int | None
    lr: float | None
    confirmed: bool
    runs: tuple[tuple[int, bool], ...] = ()
    start: int | None = None  # the spec's own width


def nearest_gamma(c: Certificate | GdCertificate) -> float | None:
    """The end of the certified γ set nearest to c.gamma (its lower end when γ is below)."""
    if not c.gamma_interval:
        return None
    lo, hi = c.gamma_interval[0]
    if c.gamma <= lo:
        return lo
    return hi if c.gamma >= hi else None


def width_of(loaded: LoadedSpec) -> int | None:
    """The spec's width when the model has one width key (the two-layer network, not
    initialized from a file)."""
    model = loaded.spec.model
    if getattr(model, "architecture", "") != "two_layer" or model.init == "file":
        return None
    width = getattr(model, "width", None)
    return int(width) if width is not None else None


def _even(w: int, even: bool) -> int:
    """w, rounded up to a multiple of 4 when widths must be even (``init: symmetric``),
    so that half of it is a valid width too."""
    return w + (-w) % 4 if even else w


def search_width(
    width0: int,
    gamma_star_ratio: float,
    certifies: Callable[[int], bool],
    *,
    even: bool,
    max_runs: int = MAX_WIDTH_RUNS,
    budget_s: float = WIDTH_BUDGET_S,
) -> tuple[int | None, tuple[tuple[int, bool], ...]]:
    """A width W > width0 with certifies(W) and not certifies(W/2) (or W/2 ≤ width0,
    which does not certify), starting from the trend's W ≈ width0·γ*/γ, in at most
    ``max_runs`` runs within ``budget_s`` seconds."""
    start = time.perf_counter()
    runs: list[tuple[int, bool]] = []

    def run(w: int) -> bool:
        ok = certifies(w)
        runs.append((w, ok))
        return ok

    def spent() -> bool:
        return len(runs) >= max_runs or time.perf_counter() - start > budget_s

    ratio = gamma_star_ratio if math.isfinite(gamma_star_ratio) else 2.0
    w = _even(max(width0 + 1, math.ceil(width0 * max(ratio, 1.0) * 1.05)), even)
    if w > MAX_WIDTH:
        return None, ()
    if run(w):
        while not spent():
            half = _even(w // 2, even)  # ≥ w/2: if it fails, so does w/2 (monotone)
            if half <= width0 or half >= w or not run(half):
                return w, tuple(runs)
            w = half
        return w, tuple(runs)
    while not spent():
        w = _even(2 * w, even)
        if w > MAX_WIDTH:
            break
        if run(w):
            return w, tuple(runs)
    return None, tuple(runs)
