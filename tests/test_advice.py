"""What would certify (JSON ``certificate.would_certify``, ``run.advice``): each answer is
checked by certifying with it."""

from __future__ import annotations

import json

import pytest

from ntkcheck.cli import main
from ntkcheck.run.advice import search_size

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
