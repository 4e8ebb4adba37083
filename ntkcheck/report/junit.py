"""JUnit XML: one ``<testcase>`` per spec; failing statuses are failures, bad specs errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence

from ..run.result import CertifyResult, Entry
from .common import kind, line_of, message, text_block


def render(entries: Sequence[Entry], failing: Collection[str]) -> str:
    """One ``<testcase>`` per spec: ``<failure>`` for failing statuses, ``<error>`` for errors."""
    failures = sum(1 for e in entries if kind(e) in failing and kind(e) != "error")
    errors = sum(1 for e in entries if kind(e) == "error")
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
        k = kind(e)
        attrs = {"classname": "ntkcheck.certify", "name": e.spec, "file": e.spec}
        line = line_of(e)
        if line:
            attrs["line"] = str(line)
        if isinstance(e, CertifyResult):
            attrs["time"] = f"{e.timing.get('total', 0.0):.3f}"
        case = ET.SubElement(suite, "testcase", attrs)
        if k == "error":
            ET.SubElement(case, "error", message=message(e), type="invalid_spec").text = message(e)
            continue
        assert isinstance(e, CertifyResult)
        if k in failing:
            ET.SubElement(case, "failure", message=message(e), type=k).text = message(e)
        props = ET.SubElement(case, "properties")
        c, est = e.certificate, e.estimate
        for name, value in (
            ("status", k),
            ("gamma", c.gamma),
            ("gamma_star", c.gamma_star),
            ("margin", c.margin),
            ("sigma_min", est.sigma_min),
            ("sigma_max", est.sigma_max),
            ("beta", est.beta),
        ):
            ET.SubElement(props, "property", name=name, value=str(value))
        ET.SubElement(case, "system-out").text = text_block(e) + "\n"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
