"""SARIF 2.1.0: one run, rules NTK001–NTK003; certified specs are ``kind: pass`` results."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from .._version import __version__
from ..run.result import Entry
from ..run.specs import BUILTIN
from ..theory.certificate import Status
from .common import kind, line_of, message, uri

INFO_URI = "https://pypi.org/project/ntkcheck/"

RULES = {
    "not_certified": ("NTK001", "not-certified", "γ ≤ γ*: lazy training is not certified"),
    "not_applicable": ("NTK002", "not-applicable", "(H1) or (H2) fails: β = ∞ or σ_min = 0"),
    "error": ("NTK003", "invalid-spec", "the spec or its data cannot be used"),
}


def render(entries: Sequence[Entry], failing: Collection[str]) -> str:
    """SARIF 2.1.0: one run, rules NTK001–NTK003; certified specs are ``kind: pass`` results."""
    rule_ids = list(RULES)
    rules = [
        {
            "id": rid,
            "name": name,
            "shortDescription": {"text": text},
            "helpUri": INFO_URI,
            "defaultConfiguration": {"level": "error"},
        }
        for rid, name, text in RULES.values()
    ]
    results = []
    for e in entries:
        k = kind(e)
        result: dict = {"message": {"text": message(e)}}
        if k == Status.certified.value:
            result.update(kind="pass", level="none")
        else:
            rid = RULES[k][0]
            result.update(
                ruleId=rid,
                ruleIndex=rule_ids.index(k),
                kind="fail",
                level="error" if k == "error" or k in failing else "warning",
            )
        if e.spec != BUILTIN:
            location: dict = {"artifactLocation": {"uri": uri(e.spec)}}
            line = line_of(e)
            if line:
                location["region"] = {"startLine": line}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ntkcheck",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
