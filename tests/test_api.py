"""The Python API's result objects carry the JSON's names (README, "JSON")."""

from __future__ import annotations

import dataclasses
import enum
import json
import math

import pytest

from ntkcheck import certify_spec, load_spec, result_dict

from .conftest import SPECS

#: JSON keys with no attribute of that name, and why (documented on the classes).
NOT_ATTRIBUTES = {
    # sentences: made in report/ from a code the Python object holds (layering)
    # heuristic_gamma: result.problem's; would_certify: result.would_certify (run.advice)
    "certificate": {"message", "heuristic_gamma", "would_certify"},
    "estimate": {"full_rank_reason"},
}


def _plain(value, keys=None):
    """A Python value as the JSON writes it (∞ and NaN → None, tuples → lists, …)."""
    if isinstance(value, enum.Enum):
        return value.value
    if keys is not None and not isinstance(value, dict) and not hasattr(value, "to_dict"):
        value = {k: getattr(value, k) for k in keys if hasattr(value, k)}  # nested names too
    if hasattr(value, "to_dict"):  # the object's own JSON form first
        value = value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if keys is None or k in keys}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@pytest.mark.parametrize(
    ("spec", "overrides"),
    [
        ("lecture-example.yaml", {}),
        ("relu.yaml", {}),  # the flip bound
        ("gaussian-interval.yaml", {"gamma": 10.0}),  # lecture: not certified
        ("rank-deficient.yaml", {}),  # not applicable
        ("lecture-example.yaml", {"certify.beta": "local"}),  # beta_local, beta_local_info
    ],
)
def test_python_results_use_the_json_names(spec, overrides):
    """Every key of JSON ``estimate`` and ``certificate`` (both theorems) is an attribute of
    the Python object with the value the JSON writes; the exceptions are listed above.
    (The Python Certificate had only ``reason``, a code, where the JSON has ``message``.)"""
    result = certify_spec(load_spec(SPECS / spec, overrides))
    doc = json.loads(json.dumps(result_dict(result)))
    pairs = [("estimate", result.estimate, doc["estimate"])]
    pairs += [("certificate", result.certificate, doc["certificate"])]
    pairs += [("certificate", result.certificates[t], c) for t, c in doc["certificates"].items()]
    for block, obj, written in pairs:
        for key, value in written.items():
            if key in NOT_ATTRIBUTES[block]:
                assert not hasattr(obj, key), f"{block}.{key} is now an attribute: update the list"
                continue
            assert hasattr(obj, key), f"JSON {block}.{key} has no attribute of that name"
            attr = getattr(obj, key)
            if key == "full_rank":  # the FullRank whose verdict the JSON writes
                attr = attr.holds
            nested = value.keys() if isinstance(value, dict) else None
            assert _plain(attr, nested) == value, f"{block}.{key}"
    assert doc["certificate"]["heuristic_gamma"] == result.problem.heuristic_gamma
    w = result.would_certify
    keys = ("gamma", "width", "lr", "confirmed")
    assert doc["certificate"]["would_certify"] == (None if w is None else _plain(w, keys))


def test_the_message_of_the_json_is_one_call_away():
    """The sentence lives in report/ (theory/ has codes only): ``ntkcheck.result_dict``."""
    result = certify_spec(load_spec(SPECS / "rank-deficient.yaml"))
    assert result.certificate.reason == "not_full_rank"
    assert result_dict(result)["certificate"]["message"].startswith("(H2) fails: ")


def test_gd_results_use_the_json_names():
    """``certificates.gd`` is ``result.gd`` key by key; with ``train.method: gd`` the
    JSON ``certificate`` is the deciding one, ``result.verdict``."""
    result = certify_spec(load_spec(SPECS / "gd.yaml"))
    doc = json.loads(json.dumps(result_dict(result)))
    written = doc["certificates"]["gd"]
    assert doc["certificate"] == {**written, "would_certify": None}
    assert result.verdict is result.gd
    for key, value in written.items():
        if key == "message":  # a sentence, made in report/
            assert not hasattr(result.gd, key)
            continue
        attr = getattr(result.gd, key)
        if key == "reason":  # a code; none is null in the JSON
            attr = attr.value or None
        nested = value.keys() if isinstance(value, dict) else None
        assert _plain(attr, nested) == value, f"certificates.gd.{key}"
