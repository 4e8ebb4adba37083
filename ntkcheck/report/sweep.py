"""``ntkcheck sweep``: the rows as a table, the fits beside the lecture's heuristic
exponents, the empirical lazy threshold beside γ*, and the summary line.

The rows themselves are serialized by ``document.sweep_row`` (the single serializer).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from io import StringIO
from typing import Any

from ..models.registry import heuristic_exponents
from ..run.fit import Fit, Threshold, fit_power_law, lazy_thresholds
from ..theory.certificate import Status
from .document import SWEEP_FLOW_KEYS, sweep_document
from .words import VERDICT, num

Row = Mapping[str, Any]

#: The quantities ``--fit`` fits, and with ``--measure flow`` the measured ones.
FIT_QUANTITIES = (
    "gamma_star.lecture", "gamma_star.path", "sigma_min", "sigma_max", "beta", "gd.lr_max",
)  # fmt: skip
FLOW_FIT_QUANTITIES = SWEEP_FLOW_KEYS
#: The families' heuristic γ* (THEORY.md §4: the lecture's, in each family's size), for both
#: theorems' γ*, along the spec keys their registry entries name.
HEURISTIC = {
    (q, axis): e
    for q in ("gamma_star.lecture", "gamma_star.path")
    for axis, e in heuristic_exponents().items()
} | {("gd.lr_max", "gamma"): -2.0}  # lr_max ∝ γ⁻² at a fixed model, large γ (THEORY.md §13)
#: Columns of the human table and their headers (the file and JSON have every key).
_SHOWN = {
    "seed": "seed", "outputs": "C", "gamma": "γ", "status": "status",
    "gamma_star.lecture": "γ* lecture", "gamma_star.path": "γ* path", "sigma_min": "σ_min",
    "sigma_max": "σ_max", "beta": "β",
    "loss0": "L0", "flow.kernel_change_max": "max ΔK/K0", "flow.gap_max": "max gap",
    "flow.time_to_tol": "t(loss_tol)", "gd.lr_max": "lr_max",
}  # fmt: skip
_STYLE = {"certified": "green", "not_certified": "yellow", "not_applicable": "red", "error": "red"}


def relative_laziness(row: Row) -> tuple[float | None, float | None]:
    """(max relative kernel change, max gap / ‖r0‖) of a row, ‖r0‖ = √(2 L0)."""
    kernel, gap, loss0 = row.get("flow.kernel_change_max"), row.get("flow.gap_max"), row["loss0"]
    r0 = math.sqrt(2.0 * loss0) if isinstance(loss0, float) and loss0 > 0 else None
    return kernel, (gap / r0 if gap is not None and r0 else None)


def analyse(
    rows: Sequence[Row], grid_keys: Sequence[str], *, flow: bool, lazy_tol: float
) -> tuple[list[Fit], list[Threshold]]:
    """The fits of every quantity on the grid's numeric axes, and (with the flow and a γ
    axis) the empirical lazy threshold at each point of the other axes."""
    good = [r for r in rows if r["status"] != "error"]
    quantities = FIT_QUANTITIES + (FLOW_FIT_QUANTITIES if flow else ())
    present = [q for q in quantities if good and q in good[0]]  # gd.*: GD sweeps only
    fits = [f for q in present for f in fit_power_law(good, q, grid_keys)]
    thresholds: list[Threshold] = []
    if flow and "gamma" in grid_keys:
        thresholds = lazy_thresholds(
            good,
            grid_keys,
            lazy=relative_laziness,
            stars=("gamma_star.lecture", "gamma_star.path"),
            tol=lazy_tol,
        )
    return fits, thresholds


def sweep_summary(rows: Sequence[Row]) -> str:
    """``12 points: 8 certified, 3 not certified, 0 not applicable, 1 error``."""
    counts = {s.value: 0 for s in Status}
    errors = sum(r["status"] == "error" for r in rows)
    for r in rows:
        if r["status"] in counts:
            counts[r["status"]] += 1
    parts = [f"{counts[s.value]} {VERDICT[s].lower()}" for s in Status]
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return f"{len(rows)} point{'s' if len(rows) != 1 else ''}: " + ", ".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return num(value)
    return str(value)


def _table_columns(rows: Sequence[Row], grid_keys: Sequence[str]) -> list[str]:
    grid = [k for k in grid_keys if k not in ("seed", "gamma")]
    shown = [k for k in _SHOWN if rows and k in rows[0]]
    if all(r.get("gd.lr_max") is None for r in rows):  # no point trains by GD
        shown = [k for k in shown if not k.startswith("gd.")]
    if all(r.get("outputs") in (1, None) for r in rows):  # single output: no C column
        shown = [k for k in shown if k != "outputs"]
    return [*grid, *shown]


def _header(key: str) -> str:
    return _SHOWN.get(key, key)


def _exponent(x: float) -> str:
    """An exponent to 3 digits; rounding noise (|x| < 1e-9, e.g. γ* along γ) shows as 0."""
    return num(0.0 if abs(x) < 1e-9 else x)


def _fit_cells(f: Fit) -> list[str]:
    heuristic = HEURISTIC.get((f.quantity, f.axis))
    ci = f"[{_exponent(f.ci_low)}, {_exponent(f.ci_high)}]" if math.isfinite(f.ci_low) else "—"
    axis = f.axis + (f" (= {', '.join(f.collinear)})" if f.collinear else "")
    where = " ".join(f"{k}={v}" for k, v in f.where.items())
    return [
        f.quantity,
        axis,
        _exponent(f.exponent),
        ci,
        num(heuristic) if heuristic is not None else "",
        where,
    ]


_FIT_HEADER = ["quantity", "axis", "exponent", "95% CI", "lecture heuristic", "where"]


def _threshold_cells(t: Threshold) -> list[str]:
    at = " ".join(f"{k}={v}" for k, v in t.at.items()) or "(all)"
    if t.gamma_lazy is None:
        lazy = "not reached"
    elif t.gamma_below is None:
        lazy = f"≤ {num(t.gamma_lazy)}"
    else:
        lazy = f"({num(t.gamma_below)}, {num(t.gamma_lazy)}]"
    return [at, lazy, _cell(t.gamma_star_lecture), _cell(t.gamma_star_path)]


_THRESHOLD_HEADER = ["at", "lazy γ", "γ* lecture", "γ* path"]


def _errors(rows: Sequence[Row], grid_keys: Sequence[str]) -> list[str]:
    out = []
    for r in rows:
        if r["status"] == "error":
            where = " ".join(f"{k}={r[k]}" for k in grid_keys if k in r)
            out.append(f"[{where}] {r['error']}")
    return out


def _plain_table(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip())
    return lines


def render_text(
    rows: Sequence[Row],
    grid_keys: Sequence[str],
    fits: Sequence[Fit],
    thresholds: Sequence[Threshold],
    *,
    lazy_tol: float,
) -> str:
    """The plain-text view: the rows' table, fits, thresholds, errors, the summary."""
    cols = _table_columns(rows, grid_keys)
    lines = _plain_table([_header(c) for c in cols], [[_cell(r[c]) for c in cols] for r in rows])
    if fits:
        lines += ["", "fits: log(median over seeds) = c + Σ exponent·log(axis), 95% bootstrap CI"]
        lines += _plain_table(_FIT_HEADER, [_fit_cells(f) for f in fits])
    if thresholds:
        lines += ["", f"lazy threshold: median relative kernel change and gap/‖r0‖ < {lazy_tol:g}"]
        lines += _plain_table(_THRESHOLD_HEADER, [_threshold_cells(t) for t in thresholds])
    errors = _errors(rows, grid_keys)
    if errors:
        lines += ["", *(f"error  {e}" for e in errors)]
    lines += ["", sweep_summary(rows)]
    return "\n".join(lines) + "\n"


def sweep_renderables(
    rows: Sequence[Row],
    grid_keys: Sequence[str],
    fits: Sequence[Fit],
    thresholds: Sequence[Threshold],
    *,
    lazy_tol: float,
) -> list[object]:
    """Rich tables for a terminal: rows coloured by status, fits, thresholds, summary."""
    from rich.table import Table  # loaded here: the JSON and CSV views never need rich
    from rich.text import Text

    out: list[object] = []
    cols = _table_columns(rows, grid_keys)
    table = Table(show_edge=False, header_style="bold cyan")
    for c in cols:
        table.add_column(_header(c), justify="left" if c == "status" else "right", no_wrap=True)
    for r in rows:
        cells = [_cell(r[c]) for c in cols]
        style = _STYLE.get(str(r["status"]), "")
        table.add_row(
            *[
                Text(c, style=style) if k == "status" else c
                for k, c in zip(cols, cells, strict=True)
            ]
        )
    out.append(table)

    def titled(title: str, header: Sequence[str], body: list[list[str]]) -> Table:
        tab = Table(title=title, show_edge=False, header_style="bold cyan")
        for h in header:
            tab.add_column(h, no_wrap=True)
        for cells in body:
            tab.add_row(*cells)
        return tab

    if fits:
        title = "fits: log(median over seeds) = c + Σ exponent·log(axis), 95% bootstrap CI"
        out.append(titled(title, _FIT_HEADER, [_fit_cells(f) for f in fits]))
    if thresholds:
        title = f"lazy threshold: median relative kernel change and gap/‖r0‖ < {lazy_tol:g}"
        out.append(titled(title, _THRESHOLD_HEADER, [_threshold_cells(t) for t in thresholds]))
    for e in _errors(rows, grid_keys):
        out.append(Text.assemble(("error ", "bold red"), e))
    out.append(Text(sweep_summary(rows), style="bold"))
    return out


def render_rich(
    rows: Sequence[Row],
    grid_keys: Sequence[str],
    fits: Sequence[Fit],
    thresholds: Sequence[Threshold],
    *,
    lazy_tol: float,
    width: int = 160,
) -> str:
    """The rich view as plain text (for a file or a pipe)."""
    from rich.console import Console

    buf = StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    for item in sweep_renderables(rows, grid_keys, fits, thresholds, lazy_tol=lazy_tol):
        console.print(item)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def render_json(rows: Sequence[Row], fits: Sequence[Fit], thresholds: Sequence[Threshold]) -> str:
    """``{"rows": [...], "fits": [...], "lazy_thresholds": [...]}``."""
    doc = sweep_document([dict(r) for r in rows], list(fits), list(thresholds))
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
