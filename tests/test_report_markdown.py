"""``report.markdown``: a heading and a two-column table per result, pipes escaped,
the verdict in bold, an error in one line, a summary for several specs."""

from __future__ import annotations

from dataclasses import replace

from ntkcheck.report.common import all_lines, summary
from ntkcheck.report.markdown import _md_cell, render
from ntkcheck.run.result import SpecFailure

from .report_cases import FAILURE, certified, not_certified


def test_one_table_per_result():
    r = certified()
    text = render([r])
    lines = all_lines(r)
    head, table = text.rstrip("\n").split("\n\n")
    assert head == f"### {lines[0].text}"
    rows = table.splitlines()
    assert rows[:2] == ["| | |", "|---|---|"] and len(rows) == 2 + len(lines) - 1
    verdict = next(ln for ln in lines if ln.kind == "verdict")
    assert f"| {_md_cell(verdict.label)} | **{_md_cell(verdict.text)}** |" in rows
    assert summary([r]) not in text  # one spec: no summary


def test_errors_and_the_summary():
    bad = replace(FAILURE, message="a|b")
    text = render([not_certified(), bad])
    assert "**error** — `specs/bad.yaml`: a\\|b" in text
    assert text.endswith(summary([not_certified(), bad]) + "\n")
    assert render([SpecFailure("x", "m")]) == "**error** — `x`: m\n"


def test_pipes_are_escaped():
    assert _md_cell("a | b|c") == "a \\| b\\|c"
