"""``report`` (the format registry) and its smallest formats, ``text`` and ``json``:
every format renders, ``validate``'s formats, the plain text's blocks and summary."""

from __future__ import annotations

import json

import pytest

from ntkcheck._version import __version__
from ntkcheck.report import FORMATS, MACHINE_FORMATS, VALIDATION_FORMATS, render, render_validation
from ntkcheck.report.common import summary, text_block
from ntkcheck.report.document import document

from .report_cases import FAILURE, certified, not_certified

ENTRIES = [certified(), not_certified(), FAILURE]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_renders_every_entry(fmt):
    text = render(ENTRIES, fmt)
    assert text.endswith("\n")
    for name in ("lecture-example", "specs/bad.yaml"):
        assert name in text, (fmt, name)


def test_the_registries_agree():
    assert set(VALIDATION_FORMATS) <= set(FORMATS) and set(FORMATS) >= MACHINE_FORMATS


def test_text_is_the_blocks_and_the_summary():
    assert render([FAILURE], "text") == text_block(FAILURE) + "\n"
    assert render(ENTRIES, "text") == (
        "\n\n".join([*(text_block(e) for e in ENTRIES), summary(ENTRIES)]) + "\n"
    )


def test_json_is_the_document():
    assert json.loads(render(ENTRIES, "json")) == json.loads(json.dumps(document(ENTRIES)))


def test_validation_in_text_and_json():
    rows = [("a.yaml", None, None), ("b.yaml", "b.yaml:2: bad", 2)]
    assert render_validation(rows, "text") == (
        "ok      a.yaml\ninvalid b.yaml\n2 specs: 1 valid, 1 invalid\n"
    )
    assert json.loads(render_validation(rows, "json")) == {
        "ntkcheck_version": __version__,
        "specs": [
            {"spec": "a.yaml", "valid": True, "error": None, "line": None},
            {"spec": "b.yaml", "valid": False, "error": "b.yaml:2: bad", "line": 2},
        ],
    }
