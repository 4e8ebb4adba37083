"""``report.common``: what every format shares — the summary's counts, the text block,
the CI kind, line and message of an entry."""

from __future__ import annotations

from ntkcheck.report.common import (
    LABEL_WIDTH,
    all_lines,
    kind,
    line_of,
    message,
    summary,
    text_block,
    uri,
)
from ntkcheck.report.words import certificate_message

from .report_cases import FAILURE, certified, not_certified


def test_the_summary_counts_every_status_and_the_errors():
    assert summary([certified()]) == (
        "1 spec: 1 certified, 0 not certified, 0 not applicable, 0 errors"
    )
    entries = [certified(), not_certified(), not_certified(), FAILURE]
    assert summary(entries) == "4 specs: 1 certified, 2 not certified, 0 not applicable, 1 error"
    assert summary([]) == "0 specs: 0 certified, 0 not certified, 0 not applicable, 0 errors"


def test_kind_line_and_message_of_each_entry():
    c, n = certified(), not_certified()
    assert [kind(e) for e in (c, n, FAILURE)] == ["certified", "not_certified", "error"]
    assert [line_of(e) for e in (c, n, FAILURE)] == [c.gamma_line, 6, 3]
    assert message(FAILURE) == FAILURE.message
    text = certificate_message(n.certificate, n.problem.activation, n.estimate)
    assert message(n) == f"a: NOT CERTIFIED — {text}"
    assert message(c).startswith("lecture-example: CERTIFIED — ")


def test_the_text_block_puts_labels_in_a_column():
    assert text_block(FAILURE) == "error".ljust(LABEL_WIDTH) + FAILURE.message
    r = certified()
    title, *rest = all_lines(r)
    block = text_block(r).splitlines()
    assert block[0] == title.text
    assert block[1:] == [f"{ln.label:<{LABEL_WIDTH}}{ln.text}".rstrip() for ln in rest]
    assert all_lines(r)[-1].label == "time"


def test_uri_is_posix():
    assert uri("specs/a.yaml") == "specs/a.yaml"
