"""``report.rich_format``: one table per result (labels and texts of its lines), errors in
one line, a summary for several specs; the plain rendering for files."""

from __future__ import annotations

from ntkcheck.report.common import all_lines, summary
from ntkcheck.report.rich_format import render, rich_renderables

from .report_cases import FAILURE, certified, not_certified


def test_every_line_is_in_the_plain_rendering():
    r = certified()
    text = render([r], width=400)
    for ln in all_lines(r):
        assert ln.text in text
        assert ln.label in text
    assert summary([r]) not in text


def test_errors_and_the_summary():
    entries = [not_certified(), FAILURE]
    text = render(entries, width=400)
    assert f"error {FAILURE.message}" in text
    assert text.rstrip().endswith(summary(entries))
    items = rich_renderables(entries)
    # a result: its title, its table, a blank line; an error: one line; then the summary
    assert len(items) == 3 + 1 + 1
