"""``report.lines``: the labelled lines every human format shows — the problem, the
spectrum and its proof, the verdict and its formula, the lecture's Λ beside the heuristic
γ in the family's words, C1–C5 when certified, the timing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ntkcheck._version import __version__
from ntkcheck.models import registry
from ntkcheck.report import words
from ntkcheck.report.lines import Line, _formula, report_lines, timing_line
from ntkcheck.report.words import num
from ntkcheck.theory.certificate import Theorem
from ntkcheck.theory.drift import DriftKind

from .report_cases import SMALL, certified, not_certified


def _by_label(lines: list[Line]) -> dict[str, str]:
    return {ln.label: ln.text for ln in lines if ln.label}


def test_the_title_problem_and_loss():
    r = certified()
    lines = report_lines(r)
    assert lines[0] == Line(
        "", f"ntkcheck {__version__} · lecture-example (built-in example; `ntkcheck init` "
        "writes it)", "title",
    )  # fmt: skip
    labels = _by_label(lines)
    given = ", ".join(f"{k}={v}" for k, v in r.overrides.items())
    assert labels["overrides"] == f"{given} (from the command line)"
    p = r.problem
    assert labels["problem"] == f"{p.head}, n = {SMALL['data.n']} (P = {p.params:,}), {p.tail}"
    assert labels["loss"] == f"L0 = {num(r.estimate.loss0)} (= ½‖y‖², f_θ0 ≡ 0)"
    assert (
        "spectrum",
        f"σ_min(J0) = {num(r.estimate.sigma_min)}   σ_max(J0) = {num(r.estimate.sigma_max)}   "
        f"κ = {num(r.estimate.condition_number)}   (dense eigvalsh of K0 = J0 J0ᵀ)",
    ) in [(ln.label, ln.text) for ln in lines]
    assert report_lines(not_certified())[0].text.endswith(" · a (specs/a,b:c.yaml)")


def test_certified_lines_state_c1_to_c5():
    lines = report_lines(certified())
    guarantees = [ln.text[:2] for ln in lines if ln.kind == "guarantee"]
    assert guarantees == ["C1", "C2", "C3", "C4", "C5"]
    assert not [ln for ln in report_lines(not_certified()) if ln.kind == "guarantee"]


def test_the_lecture_line_and_the_heuristic_gamma():
    """The heuristic γ = n^{3/2}/N (THEORY.md §4): 12^{3/2}/64, in the family's words."""
    r = certified()
    lecture = r.certificates[Theorem.lecture]
    text = _by_label(report_lines(r))["lecture"]
    heuristic = SMALL["data.n"] ** 1.5 / SMALL["model.width"]
    assert text.endswith(f"; heuristic n^{{3/2}}/N = {num(heuristic)})")
    assert text.startswith(f"γ* = {num(lecture.gamma_star)}, margin {num(lecture.margin)}×: ")


def test_the_heuristic_is_named_by_the_family(monkeypatch):
    spec = registry.family_spec("two_layer")
    other = replace(spec, words=replace(spec.words, heuristic="n²/M"))
    monkeypatch.setattr(words, "family_spec", lambda name: other)
    r = certified()
    assert "; heuristic n²/M = " in _by_label(report_lines(r))["lecture"]
    lecture = replace(r, certificate=r.certificates[Theorem.lecture])  # the lecture decides
    assert any("heuristic n²/M = " in ln.text for ln in report_lines(lecture))


@pytest.mark.parametrize("theorem", list(Theorem))
def test_the_formula_of_a_lipschitz_and_of_a_general_drift(theorem):
    c = certified().certificates[theorem]
    text = _formula(c, DriftKind.lipschitz)
    assert text.startswith("γ*_p = 4√2·β·√L0/σ_min²" if theorem is Theorem.path else
                           "γ* = 4√2·β·(2σ_max+σ_min)·√L0/σ_min³")  # fmt: skip
    text = _formula(c, DriftKind.flip_count)
    radius = "R_p = 2‖r0‖/(γσ_min)" if theorem is Theorem.path else "R = (4σ_max+2σ_min)"
    star = "γ*_p" if theorem is Theorem.path else "γ*"
    assert text.startswith(f"{star}: {radius}")
    assert text.endswith(
        f"< ρ* = {num(c.radius_B)}, the radius where the {DriftKind.flip_count.label} drift "
        "bound h(ρ) reaches σ_min/2 (THEORY.md §8, §10)"
    )


def test_the_timing_line():
    r = replace(certified(), timing={"problem": 0.5, "estimate": 0.25, "total": 0.75})
    threads = dict(r.estimate.spectrum.threads)
    names = {"gram": "Gram", "eigen": "eigensolver"}
    used = ", ".join(f"{names.get(k, k)} {v}" for k, v in threads.items())
    tail = f"; BLAS threads: {used}" if used else ""
    assert timing_line(r) == Line("time", f"0.75 s (problem 0.5 s, estimate 0.25 s){tail}")
