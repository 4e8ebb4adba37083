"""``report.sweep``: a sweep's views — relative laziness of a row, the fits and lazy
thresholds of ``analyse`` (on rows made from an exact power law), the summary, the text
table with its fits, thresholds and errors, and the JSON."""

from __future__ import annotations

import json
import math

import pytest

from ntkcheck.report.sweep import (
    HEURISTIC,
    analyse,
    relative_laziness,
    render_json,
    render_rich,
    render_text,
    sweep_summary,
)
from ntkcheck.run.fit import Fit, Threshold


def _row(status="certified", **values):
    base = {"seed": 0, "gamma": 1.0, "status": status, "gamma_star.lecture": 1.0,
            "gamma_star.path": 1.0, "sigma_min": 1.0, "sigma_max": 2.0, "beta": 0.5,
            "loss0": 2.0, "error": None, "gd.lr_max": None}  # fmt: skip
    return {**base, **values}


def test_relative_laziness_divides_the_gap_by_r0():
    """‖r0‖ = √(2L0) = 2 for L0 = 2."""
    row = _row(**{"flow.kernel_change_max": 0.01, "flow.gap_max": 0.5})
    assert relative_laziness(row) == (0.01, 0.25)
    assert relative_laziness(_row(loss0=0.0, **{"flow.gap_max": 0.5})) == (None, None)
    assert relative_laziness(_row()) == (None, None)


def test_the_summary_counts_points():
    rows = [_row(), _row(), _row("not_certified"), _row("error")]
    assert sweep_summary(rows) == (
        "4 points: 2 certified, 1 not certified, 0 not applicable, 1 error"
    )
    assert sweep_summary([_row()]).startswith("1 point: 1 certified")


def _grid_rows():
    """γ*_lecture = 3·n^{1.5}/N exactly (seeds agree), errors excluded from the fits."""
    rows = []
    for n in (8, 16, 32):
        for width in (64, 256):
            star = 3.0 * n**1.5 / width
            rows.append(_row(**{"data.n": n, "model.width": width, "gamma_star.lecture": star}))
    rows.append(_row("error", **{"data.n": 64, "model.width": 64, "error": "too large"}))
    return rows


def test_analyse_fits_the_power_law_of_the_rows():
    fits, thresholds = analyse(_grid_rows(), ("data.n", "model.width"), flow=False, lazy_tol=0.1)
    assert thresholds == []
    lecture = {f.axis: f for f in fits if f.quantity == "gamma_star.lecture"}
    assert lecture["data.n"].exponent == pytest.approx(1.5, abs=1e-9)
    assert lecture["model.width"].exponent == pytest.approx(-1.0, abs=1e-9)
    assert lecture["data.n"].intercept == pytest.approx(math.log(3.0), abs=1e-9)
    assert lecture["data.n"].points == 6  # the error row is not fitted
    beta = {f.axis: f for f in fits if f.quantity == "beta"}
    assert beta["data.n"].exponent == pytest.approx(0.0, abs=1e-9)


def test_the_heuristic_exponents_are_the_registrys():
    """THEORY.md §4 (γ* ∝ n^{3/2}/N for both theorems) and §13 (lr_max ∝ γ⁻²)."""
    for q in ("gamma_star.lecture", "gamma_star.path"):
        assert (HEURISTIC[(q, "data.n")], HEURISTIC[(q, "model.width")]) == (1.5, -1.0)
    assert HEURISTIC[("gd.lr_max", "gamma")] == -2.0


def test_the_text_view():
    rows = _grid_rows()
    fit = Fit("gamma_star.lecture", "data.n", 1.5000000001, 1.49, 1.51, 0.0, 6,
              {"model.width": 64}, ("data.d",))  # fmt: skip
    threshold = Threshold({"data.n": 8}, 10.0, 3.0, 5.0, None, 0.1)
    text = render_text(rows, ("data.n", "model.width"), [fit], [threshold], lazy_tol=0.1)
    lines = text.splitlines()
    assert lines[0].split() == ["data.n", "model.width", "seed", "γ", "status", "γ*", "lecture",
                                "γ*", "path", "σ_min", "σ_max", "β", "L0"]  # fmt: skip
    assert "lr_max" not in text  # no point trains by GD
    fit_line = next(ln for ln in lines if ln.startswith("gamma_star.lecture"))
    assert fit_line.split() == ["gamma_star.lecture", "data.n", "(=", "data.d)", "1.50",
                                "[1.49,", "1.51]", "1.50", "model.width=64"]  # fmt: skip
    assert "lazy threshold: median relative kernel change and gap/‖r0‖ < 0.1" in lines
    assert any(ln.split() == ["data.n=8", "(3.00,", "10.0]", "5.00", "—"] for ln in lines)
    assert "error  [data.n=64 model.width=64] too large" in lines
    assert lines[-1] == sweep_summary(rows)


def test_the_rich_view_as_text_has_the_same_content():
    rows = _grid_rows()
    text = render_rich(rows, ("data.n", "model.width"), [], [], lazy_tol=0.1)
    assert "too large" in text and text.rstrip().endswith(sweep_summary(rows))


def test_the_json_view():
    rows = [_row(**{"gamma_star.path": math.inf})]
    threshold = Threshold({}, None, None, 1.0, 2.0, 0.1)
    doc = json.loads(render_json(rows, [], [threshold]))
    assert doc["rows"][0]["gamma_star.path"] is None
    assert doc["fits"] == [] and doc["lazy_thresholds"] == [
        {"at": {}, "gamma_lazy": None, "gamma_below": None, "gamma_star_lecture": 1.0,
         "gamma_star_path": 2.0, "tol": 0.1}
    ]  # fmt: skip
