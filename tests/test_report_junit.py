"""``report.junit``: one ``<testcase>`` per spec — failing statuses as failures, bad specs
as errors, the certificate's numbers as properties, the text report as system-out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ntkcheck.report.common import message, text_block
from ntkcheck.report.junit import render

from .report_cases import FAILURE, certified, not_certified


def _parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.split("\n", 1)[1])


def test_counts_and_cases():
    entries = [certified(), not_certified(), FAILURE]
    root = _parse(render(entries, {"not_certified", "error"}))
    assert root.tag == "testsuites" and root.get("name") == "ntkcheck"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    (suite,) = root
    assert suite.get("skipped") == "0" and suite.get("tests") == "3"
    total = sum(e.timing["total"] for e in entries[:2])
    assert root.get("time") == f"{total:.3f}" == suite.get("time")
    ok, bad, error = suite.findall("testcase")
    assert ok.find("failure") is None and ok.find("error") is None
    assert ok.get("name") == certified().spec and ok.get("line") == str(certified().gamma_line)
    failure = bad.find("failure")
    assert failure.get("type") == "not_certified" and failure.text == message(not_certified())
    assert (bad.get("file"), bad.get("line")) == ("specs/a,b:c.yaml", "6")
    assert error.find("error").get("type") == "invalid_spec"
    assert error.find("error").text == FAILURE.message and error.find("properties") is None
    assert bad.find("system-out").text == text_block(not_certified()) + "\n"


def test_properties_are_the_certificates_numbers():
    r = not_certified()
    case = _parse(render([r], set())).find("testsuite/testcase")
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    c, e = r.certificate, r.estimate
    assert props == {
        "status": "not_certified", "gamma": str(c.gamma), "gamma_star": str(c.gamma_star),
        "margin": str(c.margin), "sigma_min": str(e.sigma_min), "sigma_max": str(e.sigma_max),
        "beta": str(e.beta),
    }  # fmt: skip
    assert case.find("failure") is None  # not failing under --fail-on with nothing
