"""``report.words``: numbers and codes → sentences — number formatting, γ sets, (H2)
causes and the advice in the model family's words, the verdicts, what would certify."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from ntkcheck.models import registry
from ntkcheck.report import words
from ntkcheck.report.words import (
    certificate_advice,
    certificate_message,
    describe_interval,
    family_words,
    full_rank_reason,
    num,
    would_certify_text,
)
from ntkcheck.run.advice import WouldCertify
from ntkcheck.run.measure import FullRank
from ntkcheck.theory.certificate import Reason, Status, Theorem, not_applicable

from .report_cases import certified, not_certified


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (None, "—"), (math.nan, "—"), (math.inf, "∞"), (-math.inf, "−∞"), (0.0, "0"),
        (1.0, "1.00"), (123.456, "123"), (0.001234, "0.00123"), (99999.0, "99999"),
        (123456.0, "1.23e5"), (-2.5e-7, "-2.50e-7"), (1e-3, "0.00100"), (6.02e23, "6.02e23"),
    ],
)  # fmt: skip
def test_numbers_with_three_significant_digits(x, text):
    assert num(x) == text


def test_intervals():
    assert describe_interval(()) == "∅"
    assert describe_interval(((2.0, math.inf),)) == "(2, ∞)"
    assert describe_interval(((0.5, 1234567.0), (9.0, 10.0))) == "(0.5, 1.235e+06) ∪ (9, 10)"


def test_the_family_words_are_its_registry_entrys():
    for name, spec in registry.family_specs().items():
        assert family_words(name) is spec.words


@pytest.mark.parametrize(
    ("fr", "expected"),
    [
        (FullRank(True), ""),
        (FullRank(False, "underparametrized", {"params": 1000, "n": 2000}),
         "P = 1,000 parameters < n = 2,000 points: J0 has more rows than columns, so σ_min = 0; "
         "increase model.width"),
        (FullRank(False, "repeated_inputs", {"i": 3, "j": 7}),
         "inputs 3 and 7 are identical: J0 has two equal rows, so σ_min = 0; remove repeated "
         "points"),
        (FullRank(False, "zero_input", {"i": 4}),
         "input 4 is zero: its row of J0 vanishes, so σ_min = 0; remove it"),
        (FullRank(False, "something_new"), "σ_min = 0 (something_new)"),
    ],
)  # fmt: skip
def test_why_h2_fails(fr, expected):
    assert full_rank_reason(fr, "two_layer") == expected


def test_h2_advice_in_each_familys_words():
    for name in registry.FAMILIES:
        w = family_words(name)
        under = FullRank(False, "underparametrized", {"params": 1, "n": 2})
        assert full_rank_reason(under, name).endswith(w.underparametrized)
        assert w.saturated in full_rank_reason(FullRank(False, "zero_jacobian"), name)
        rank = FullRank(False, "numerical_rank", {"ratio": 1e-17, "n": 100})
        text = full_rank_reason(rank, name)
        assert w.too_few in text and "λ_min/λ_max = 1.0e-17 ≤ n·ε = 2.2e-14" in text


@pytest.fixture
def other_words(monkeypatch):
    """The two-layer family with other words: the report must say these."""
    spec = registry.family_spec("two_layer")
    words_ = replace(spec.words, grow="GROW IT", nonsmooth="NONSMOOTH HERE", heuristic="H(n)")
    monkeypatch.setattr(words, "family_spec", lambda name: replace(spec, words=words_))
    return words_


def test_advice_to_certify_names_the_familys_way_to_grow(other_words):
    r = not_certified()
    (advice,) = certificate_advice(r.certificate, "two_layer")
    assert advice == f"raise γ above {r.certificate.gamma_star:.4g} or GROW IT"


def test_no_drift_bound_points_where_the_family_says(other_words):
    est = certified().estimate
    c = not_applicable(Theorem.path, 3.0, True, 0.0, Reason.no_drift_bound)
    assert certificate_message(c, "relu", est) == (
        "(H1) fails: σ' of relu is not Lipschitz (sup|σ''| = ∞) and no drift bound is known "
        "for it in this architecture, so the theorem does not apply; use a smooth activation "
        "(gelu, silu, softplus, tanh) (NONSMOOTH HERE)"
    )


def test_the_families_words_keep_the_reports_sentences():
    """The two built-in families say what the report said before issue 16 (in their own
    folders); FamilyWords' defaults name no family (the torch family keeps them)."""
    for name in ("two_layer", "mlp"):
        assert family_words(name).heuristic == "n^{3/2}/N"
    assert family_words("mlp").nonsmooth == "relu-like σ are certified for the two-layer network"
    default = family_words("torch")
    assert "two" not in default.nonsmooth and default.heuristic == "n^{3/2}/size"


def test_verdicts_in_the_message():
    c = certified()
    text = certificate_message(c.certificate, "tanh", c.estimate)
    cert = c.certificate
    assert text.startswith(
        f"γ = {cert.gamma:.4g} > γ*_p = {cert.gamma_star:.4g} (margin {cert.margin:.4g}×): "
        "training is lazy"
    )
    n = not_certified()
    assert certificate_message(n.certificate, "tanh", n.estimate).startswith(
        f"γ = 0.5 ≤ γ*_p = {n.certificate.gamma_star:.4g} (margin "
    )


def test_an_estimate_says_why():
    m = SimpleNamespace(beta_method="local", bounds=SimpleNamespace(rigorous=False,
                                                                    method="lanczos"))  # fmt: skip
    est = SimpleNamespace(measurement=m)
    assert words.unproved(est) == (
        "β is the local β_loc at θ0, not a proven Lipschitz bound and σ_min and σ_max are "
        "Lanczos estimates, not proven bounds"
    )


def test_what_would_certify():
    w = WouldCertify(gamma=726.94, size=131072, lr=None, confirmed=True,
                     runs=((32768, False), (65536, False), (131072, True)), start=4096,
                     size_key="model.width")  # fmt: skip
    assert would_certify_text(w) == (
        "each alone, everything else fixed: γ = 726.9 (the nearest end of the certified set); "
        "or model.width = 131,072 (about; certified there, not at 65,536)"
    )
    w = WouldCertify(None, 8192, 0.05, False, (), 4096, "model.width")
    assert would_certify_text(w) == (
        "each alone, everything else fixed: model.width = 8,192 (about; predicted, "
        "unchecked); or lr up to 0.0500"
    )
    assert would_certify_text(WouldCertify(None, None, None, False)) == (
        "nothing found with everything else fixed"
    )


def test_statuses_have_verdict_words():
    assert set(words.VERDICT) == set(Status)
    assert set(words.STAR) == set(Theorem) == set(words.THEOREM_NAME)
