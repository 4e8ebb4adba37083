"""CI-native formats: GitHub workflow annotations, JUnit XML and SARIF 2.1.0.

Each result points at its spec file and the line of its ``gamma:`` key; a spec
that failed to load points at the line of its error when known.
``failing`` tells which statuses fail the run (``--fail-on``); those become
errors, the others warnings (not certified / not applicable) or notices.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from pathlib import Path

from .._version import __version__
from ..certify import Status
from ..result import CertifyResult, Entry, SpecFailure
from .lines import VERDICT

INFO_URI = "https://pypi.org/project/ntkcheck/"
BUILTIN = "<built-in example>"

RULES = {
    "not_certified": ("NTK001", "not-certified", "γ ≤ γ*: lazy training is not certified"),
    "not_applicable": ("NTK002", "not-applicable", "(H1) or (H2) fails: β = ∞ or σ_min = 0"),
    "error": ("NTK003", "invalid-spec", "the spec or its data cannot be used"),
}


def _kind(e: Entry) -> str:
    return "error" if isinstance(e, SpecFailure) else e.certificate.status.value


def _line(e: Entry) -> int | None:
    return e.line if isinstance(e, SpecFailure) else e.gamma_line


def _message(e: Entry) -> str:
    if isinstance(e, SpecFailure):
        return e.message
    c = e.certificate
    return f"{e.name}: {VERDICT[c.status]} — {c.message}"


def _uri(spec: str) -> str:
    return Path(spec).as_posix()


# ---------------------------------------------------------------- GitHub


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(entries: Sequence[Entry], failing: Collection[str]) -> str:
    """``::error file=…,line=…,title=…::message`` per spec, then a summary line."""
    from .render import summary

    out = []
    for e in entries:
        kind = _kind(e)
        if kind == Status.certified.value:
            level = "notice"
        elif kind == "error" or kind in failing:
            level = "error"
        else:
            level = "warning"
        props = []
        if not (isinstance(e, CertifyResult) and e.builtin) and e.spec != BUILTIN:
            props.append(f"file={_gh_prop(_uri(e.spec))}")
            line = _line(e)
            if line:
                props.append(f"line={line}")
        title = "ntkcheck: " + (kind.replace("_", " ") if kind != "error" else "invalid spec")
        props.append(f"title={_gh_prop(title)}")
        out.append(f"::{level} {','.join(props)}::{_gh_data(_message(e))}")
    out.append(summary(entries))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- JUnit


def render_junit(entries: Sequence[Entry], failing: Collection[str]) -> str:
    """One ``<testcase>`` per spec: ``<failure>`` for failing statuses, ``<error>`` for errors."""
    from .render import render_text

    failures = sum(1 for e in entries if _kind(e) in failing and _kind(e) != "error")
    errors = sum(1 for e in entries if _kind(e) == "error")
    total_time = sum(e.timing.get("total", 0.0) for e in entries if isinstance(e, CertifyResult))
    root = ET.Element(
        "testsuites",
        name="ntkcheck",
        tests=str(len(entries)),
        failures=str(failures),
        errors=str(errors),
        time=f"{total_time:.3f}",
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name="ntkcheck certify",
        tests=str(len(entries)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{total_time:.3f}",
    )
    for e in entries:
        kind = _kind(e)
        attrs = {"classname": "ntkcheck.certify", "name": e.spec, "file": e.spec}
        line = _line(e)
        if line:
            attrs["line"] = str(line)
        if isinstance(e, CertifyResult):
            attrs["time"] = f"{e.timing.get('total', 0.0):.3f}"
        case = ET.SubElement(suite, "testcase", attrs)
        if kind == "error":
            ET.SubElement(case, "error", message=_message(e), type="invalid_spec").text = _message(
                e
            )
            continue
        assert isinstance(e, CertifyResult)
        if kind in failing:
            ET.SubElement(case, "failure", message=_message(e), type=kind).text = _message(e)
        props = ET.SubElement(case, "properties")
        c, est = e.certificate, e.estimate
        for name, value in (
            ("status", kind),
            ("gamma", c.gamma),
            ("gamma_star", c.gamma_star),
            ("margin", c.margin),
            ("sigma_min", est.sigma_min),
            ("sigma_max", est.sigma_max),
            ("beta", est.beta),
        ):
            ET.SubElement(props, "property", name=name, value=str(value))
        ET.SubElement(case, "system-out").text = render_text([e])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------- SARIF


def render_sarif(entries: Sequence[Entry], failing: Collection[str]) -> str:
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
        kind = _kind(e)
        result: dict = {"message": {"text": _message(e)}}
        if kind == Status.certified.value:
            result.update(kind="pass", level="none")
        else:
            rid = RULES[kind][0]
            result.update(
                ruleId=rid,
                ruleIndex=rule_ids.index(kind),
                kind="fail",
                level="error" if kind == "error" or kind in failing else "warning",
            )
        if e.spec != BUILTIN:
            location: dict = {"artifactLocation": {"uri": _uri(e.spec)}}
            line = _line(e)
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
