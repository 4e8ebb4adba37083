"""What would certify (JSON ``certificate.would_certify``, ``run.advice``): each answer is
checked by certifying with it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ntkcheck.cli import main
from ntkcheck.io.loading import load_spec
from ntkcheck.run.advice import (
    MIN_BUDGET_S,
    RELATIVE_BUDGET,
    SIZE_BUDGET_S,
    search_budget,
    search_size,
    trend_size,
)
from ntkcheck.run.job import measure_spec, run_at, would_certify
from ntkcheck.theory.certificate import Theorem

from .conftest import SPECS


def _json(capsys, *argv):
    code = main(["certify", *argv, "-f", "json"])
    return code, json.loads(capsys.readouterr().out)["results"][0]


@pytest.mark.parametrize("threshold", [513, 1000, 4096, 5000, 70_000])
@pytest.mark.parametrize("guess", [0.3, 1.0, 1.9, 8.0])
def test_search_size_brackets_a_monotone_threshold(threshold, guess):
    """certifies(w) ⇔ w ≥ threshold: the answer certifies and half of it does not,
    whatever the trend's guess (ratio = guess × the true one)."""
    width0 = 512
    ratio = guess * threshold / width0
    width, runs = search_size(width0, ratio, lambda w: w >= threshold, even=True)
    assert width is not None and width >= threshold and width // 2 < threshold
    assert width % 4 == 0 and all(ok == (w >= threshold) for w, ok in runs)
    assert len(runs) <= 6


def test_search_size_gives_up_within_its_runs():
    width, runs = search_size(512, 2.0, lambda w: False, even=False, max_runs=3)
    assert width is None and len(runs) == 3


def test_the_named_width_and_gamma_certify(capsys):
    code, r = _json(capsys, "--gamma", "0.5", "--set", "model.width=512")
    w = r["certificate"]["would_certify"]
    assert code == 1 and w["confirmed"] is True and w["lr"] is None
    width, gamma = w["width"], w["gamma"]
    assert main(["certify", "--gamma", "0.5", "--set", f"model.width={width}"]) == 0
    assert main(["certify", "--gamma", "0.5", "--set", f"model.width={width // 2}"]) == 1
    assert main(["certify", "--gamma", str(gamma * 1.0001), "--set", "model.width=512"]) == 0
    assert main(["certify", "--gamma", str(gamma * 0.9999), "--set", "model.width=512"]) == 1
    capsys.readouterr()
    out = main(["certify", "--gamma", "0.5", "--set", "model.width=512", "-f", "text"])
    text = capsys.readouterr().out
    assert out == 1 and f"model.width = {width:,} (about; certified there, not at" in text


def test_certified_and_not_applicable_give_no_advice(capsys):
    assert _json(capsys)[1]["certificate"]["would_certify"] is None
    _, r = _json(capsys, str(SPECS / "rank-deficient.yaml"))
    assert r["certificate"]["would_certify"] is None


def test_gd_names_the_largest_lr(capsys):
    spec = str(SPECS / "gd.yaml")
    code, r = _json(capsys, spec, "--lr", "1e-3")
    w = r["certificate"]["would_certify"]
    assert code == 1 and w["lr"] == pytest.approx(r["certificates"]["gd"]["lr_max"])
    assert main(["certify", spec, "--lr", str(w["lr"] * 0.999)]) == 0


def test_a_family_without_one_width_names_none(capsys):
    code, r = _json(capsys, str(SPECS / "mlp.yaml"), "--gamma", "10")
    w = r["certificate"]["would_certify"]
    assert code == 1 and w["width"] is None and w["confirmed"] is False and w["gamma"] > 10


def test_search_size_starts_no_run_predicted_past_its_budget():
    """A run whose predicted time would pass the budget is not started: the first guess
    (predicted 40 s of a 10 s budget) runs nothing; a later doubling stops the search."""
    calls = []

    def certifies(w):
        calls.append(w)
        return False

    width, runs = search_size(64, 4.0, certifies, even=False, budget_s=10.0,
                              predicted_s=lambda w: w / 8)  # fmt: skip
    assert (width, runs, calls) == (None, (), [])
    width, runs = search_size(8, 1.0, certifies, even=False, budget_s=10.0,
                              predicted_s=lambda w: w / 8)  # fmt: skip
    # 9, 18, 36, 72 (predicted 9 s, within 10 s) run; 144 (18 s) would pass the budget
    assert width is None and calls == [9, 18, 36, 72] and [w for w, _ in runs] == calls


def test_search_budget_is_relative_to_the_measurement_within_bounds():
    assert search_budget(0.01) == MIN_BUDGET_S
    assert search_budget(1.0) == RELATIVE_BUDGET * 1.0
    assert search_budget(100.0) == SIZE_BUDGET_S


def test_an_expensive_size_search_is_a_prediction(tmp_path):
    """A spec whose trend size would take longer than the budget to certify gets the
    trend's size unchecked (``confirmed: false``) instead of minutes of runs."""
    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 0.01\ndata: {n: 16, d: 4}\nmodel: {width: 64, init: symmetric}\n")
    loaded = load_spec(spec, {})
    result, _ = run_at(measure_spec(loaded), 0.01)
    assert not result.verdict.certified
    slow = replace(result, timing={**result.timing, "problem": 1e3})  # as if 1000 s
    w = would_certify(loaded, slow)
    assert w.size is not None and not w.confirmed and w.runs == ()
    assert w.size == trend_size(64, result.certificates[Theorem.path].gamma_star / 0.01, even=True)
