"""``report.sarif``: SARIF 2.1.0 — one run, rules NTK001–NTK003, certified specs as
passes, levels from ``--fail-on``, locations at the spec's line."""

from __future__ import annotations

import json

from ntkcheck._version import __version__
from ntkcheck.report.common import message
from ntkcheck.report.sarif import RULES, render

from .report_cases import FAILURE, certified, not_certified


def test_the_document_and_its_rules():
    doc = json.loads(render([certified()], set()))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("ntkcheck", __version__)
    assert [r["id"] for r in driver["rules"]] == ["NTK001", "NTK002", "NTK003"]
    assert [r["name"] for r in driver["rules"]] == [v[1] for v in RULES.values()]


def test_results_pass_fail_levels_and_locations():
    entries = [certified(), not_certified(), FAILURE]
    results = json.loads(render(entries, {"error"}))["runs"][0]["results"]
    ok, bad, error = results
    assert ok == {"message": {"text": message(certified())}, "kind": "pass", "level": "none"}
    assert (bad["ruleId"], bad["ruleIndex"], bad["kind"], bad["level"]) == (
        "NTK001", 0, "fail", "warning",  # not failing: a warning
    )  # fmt: skip
    assert bad["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "specs/a,b:c.yaml"},
                              "region": {"startLine": 6}}}
    ]  # fmt: skip
    assert (error["ruleId"], error["ruleIndex"], error["level"]) == ("NTK003", 2, "error")
    assert error["message"]["text"] == FAILURE.message
    level = json.loads(render([not_certified()], {"not_certified"}))["runs"][0]["results"][0]
    assert level["level"] == "error"
