"""``report.github``: one workflow annotation per spec, its level from the status and
``--fail-on``, properties and data escaped as GitHub requires, then the summary."""

from __future__ import annotations

from ntkcheck.report.common import message, summary
from ntkcheck.report.github import _gh_data, _gh_prop, render, render_validation

from .report_cases import FAILURE, certified, not_certified


def test_escaping_follows_the_workflow_command_rules():
    assert _gh_data("50% a\nb\r") == "50%25 a%0Ab%0D"
    assert _gh_prop("a:b,c%") == "a%3Ab%2Cc%25"


def test_one_annotation_per_spec_then_the_summary():
    entries = [certified(), not_certified(), FAILURE]
    lines = render(entries, {"not_certified", "error"}).splitlines()
    assert len(lines) == 4 and lines[-1] == summary(entries)
    # the built-in example has no file
    assert lines[0] == f"::notice title=ntkcheck%3A certified::{_gh_data(message(certified()))}"
    assert lines[1] == (
        "::error file=specs/a%2Cb%3Ac.yaml,line=6,title=ntkcheck%3A not certified::"
        + _gh_data(message(not_certified()))
    )
    # the message is data: ':' and ',' are not escaped there
    assert lines[2] == (
        "::error file=specs/bad.yaml,line=3,title=ntkcheck%3A invalid spec::" + FAILURE.message
    )


def test_a_status_not_failing_is_a_warning_errors_always_fail():
    lines = render([not_certified(), FAILURE], set()).splitlines()
    assert lines[0].startswith("::warning ") and lines[1].startswith("::error ")


def test_validation_annotates_only_the_invalid():
    rows = [("ok.yaml", None, None), ("bad.yaml", "bad.yaml:2: x: wrong\nmore", 2),
            ("b2.yaml", "b2: no line", None)]  # fmt: skip
    assert render_validation(rows) == (
        "::error file=bad.yaml,line=2,title=ntkcheck%3A invalid spec::bad.yaml:2: x: wrong%0Amore\n"
        "::error file=b2.yaml,title=ntkcheck%3A invalid spec::b2: no line\n"
    )
