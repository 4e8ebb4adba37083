"""``ntkcheck sweep --plot FILE`` (optional extra ``ntkcheck[plot]``).

Left: γ* of both theorems (medians over seeds) against the model's size (or n) on
log axes with their fitted power laws, and the measured lazy threshold. Right, with
``--measure flow`` and a γ axis: the phase diagram γ × size coloured by the
median relative kernel change, with the certified region (the deciding theorem,
most seeds) outlined and both γ* curves drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NtkcheckError
from ..io.output import figure_metadata
from ..models.registry import size_keys
from ..run.fit import Fit, Threshold, positive_median, split_axes
from .plot import check_plot_target

Row = Mapping[str, Any]
#: The horizontal axes a plot may use, in order: the families' size axes, then n, then the
#: outputs per point C (THEORY.md §14).
X_AXES = (*size_keys(), "data.n", "data.outputs")


def check_sweep_plot(path: Path) -> None:
    """Fail before the sweep on a bad suffix or a missing matplotlib."""
    check_plot_target(path)


def x_axis(rows: Sequence[Row], grid_keys: Sequence[str]) -> str:
    """The horizontal axis: the model's size if it is swept (positive numbers), else n."""
    numeric, _ = split_axes(rows, [k for k in grid_keys if k not in ("seed", "gamma")])
    for key in X_AXES:
        if key in numeric:
            return key
    raise NtkcheckError(
        f"--plot needs {', '.join(X_AXES[:-1])} or {X_AXES[-1]} swept over two or more "
        "positive values"
    )


def _median(values: Sequence[Any]) -> float:
    """The median of the positive numbers (``run.fit.positive_median``); NaN if none."""
    m = positive_median(values)
    return math.nan if m is None else m


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges of log-spaced centres (geometric midpoints, ends by the same ratio)."""
    if len(v) == 1:
        return np.array([v[0] / 1.5, v[0] * 1.5])
    mid = np.sqrt(v[:-1] * v[1:])
    return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])


def _fitted(
    fits: Sequence[Fit], quantity: str, x: str, at: Mapping[str, Any], xs: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """The fitted power law of ``quantity`` along ``x`` with the other axes at ``at``, and
    its exponent along x (the sum over the fitted axes that are x or vary with it)."""
    mine = [
        f
        for f in fits
        if f.quantity == quantity and all(at.get(k) == v for k, v in f.where.items())
    ]
    along = [f for f in mine if f.axis == x or x in f.collinear]
    if not along:
        return None
    log = np.full(xs.shape, mine[0].intercept)
    for f in mine:
        value = xs if f in along else at.get(f.axis)
        if value is None:
            return None
        log = log + f.exponent * np.log(value)
    return np.exp(log), sum(f.exponent for f in along)


def plot_sweep(
    rows: Sequence[Row],
    grid_keys: Sequence[str],
    fits: Sequence[Fit],
    thresholds: Sequence[Threshold],
    path: Path,
    *,
    lazy_tol: float,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    good = [r for r in rows if r["status"] != "error"]
    x = x_axis(good, grid_keys)
    others = [k for k in grid_keys if k not in (x, "seed", "gamma")]
    phase = (
        "gamma" in grid_keys and good and good[0].get("flow.kernel_change_max", None) is not None
    )
    fig, axes = plt.subplots(
        1,
        2 if phase else 1,
        figsize=(13 if phase else 7, 5.5),
        constrained_layout=True,
        squeeze=False,
    )
    ax = axes[0, 0]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in good:
        groups.setdefault(tuple(repr(r[k]) for k in others), []).append(r)
    for gi, members in enumerate(groups.values()):
        at = {k: members[0][k] for k in others}
        label = " ".join(f"{k}={v}" for k, v in at.items())
        xs = np.array(sorted({float(r[x]) for r in members}))
        for qi, (q, name) in enumerate(
            (("gamma_star.lecture", "γ* lecture"), ("gamma_star.path", "γ*_p path"))
        ):
            ys = [_median([r[q] for r in members if float(r[x]) == v]) for v in xs]
            color = f"C{(2 * gi + qi) % 10}"
            ax.loglog(xs, ys, "o", color=color, label=f"{name} {label}".strip())
            fitted = _fitted(fits, q, x, {**at, "gamma": members[0].get("gamma")}, xs)
            if fitted is not None:
                line, e = fitted
                ax.loglog(xs, line, "-", color=color, alpha=0.7, label=f"fit ∝ {x}^{e:.3g}")
    lazy = [(t.at.get(x), t.gamma_lazy) for t in thresholds if t.gamma_lazy is not None]
    if lazy:
        ax.loglog(
            [p[0] for p in lazy],
            [p[1] for p in lazy],
            "k^",
            ms=8,
            label=f"measured lazy threshold (tol {lazy_tol:g})",
        )
    ax.set_xlabel(x)
    ax.set_ylabel("γ")
    ax.set_title("critical output scale")
    ax.legend(fontsize=8)
    if phase:
        first = next(iter(groups.values()))
        at = {k: first[0][k] for k in others}
        xs = np.array(sorted({float(r[x]) for r in first}))
        gs = np.array(sorted({float(r["gamma"]) for r in first}))
        change = np.full((len(gs), len(xs)), np.nan)
        certified = np.zeros((len(gs), len(xs)))
        for i, g in enumerate(gs):
            for j, v in enumerate(xs):
                cell = [r for r in first if float(r["gamma"]) == g and float(r[x]) == v]
                change[i, j] = _median([r["flow.kernel_change_max"] for r in cell])
                certified[i, j] = np.mean([r["status"] == "certified" for r in cell]) if cell else 0
        a = axes[0, 1]
        finite = change[np.isfinite(change)]
        norm = (
            LogNorm(vmin=finite.min(), vmax=finite.max())
            if finite.size and finite.min() > 0
            else None
        )
        mesh = a.pcolormesh(
            _edges(xs),
            _edges(gs),
            np.ma.masked_invalid(change),
            norm=norm,
            cmap="viridis",
            shading="flat",
        )
        fig.colorbar(mesh, ax=a, label="relative kernel change ‖K_t − K0‖_F/‖K0‖_F (max over t)")
        ex, eg = _edges(xs), _edges(gs)
        for i, j in zip(*np.nonzero(certified > 0.5), strict=True):
            a.add_patch(
                Rectangle(
                    (ex[j], eg[i]),
                    ex[j + 1] - ex[j],
                    eg[i + 1] - eg[i],
                    fill=False,
                    hatch="//",
                    edgecolor="white",
                    linewidth=0,
                )
            )
        a.add_patch(
            Rectangle(
                (0, 0),
                0,
                0,
                facecolor="gray",
                hatch="//",
                edgecolor="white",
                label="certified (deciding theorem, most seeds)",
            )
        )
        for q, style, name in (
            ("gamma_star.lecture", "r--", "γ* lecture"),
            ("gamma_star.path", "m--", "γ*_p path"),
        ):
            a.plot(
                xs,
                [_median([r[q] for r in first if float(r[x]) == v]) for v in xs],
                style,
                label=name,
            )
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlim(_edges(xs)[0], _edges(xs)[-1])
        a.set_ylim(_edges(gs)[0], _edges(gs)[-1])
        a.set_xlabel(x)
        a.set_ylabel("γ")
        where = " ".join(f"{k}={v}" for k, v in at.items())
        a.set_title(f"phase diagram {where}".strip())
        a.legend(fontsize=8, loc="lower left")
    fig.suptitle("ntkcheck sweep")
    fig.savefig(path, metadata=figure_metadata(path))  # recognised as ntkcheck's own
    plt.close(fig)
