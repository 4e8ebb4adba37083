"""``report.document``: the single JSON serializer — ∞/NaN as null, a result's key paths
and values from the result objects, failures, the document, and a sweep's columns,
their types and rows (key paths themselves are the README's contract, test_cli.py)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from ntkcheck._version import __version__
from ntkcheck.io.grid import Axis
from ntkcheck.report.document import (
    SCHEMA_VERSION,
    SWEEP_FLOW_KEYS,
    SWEEP_GD_KEYS,
    SWEEP_KEYS,
    document,
    entry_dict,
    finite_or_none,
    result_dict,
    sweep_column_types,
    sweep_columns,
    sweep_row,
)
from ntkcheck.run.advice import WouldCertify
from ntkcheck.run.sweep import Outcome, Plan, Point, SpecSource
from ntkcheck.run.sweep.compute import FlowSummary
from ntkcheck.theory.certificate import Theorem

from .report_cases import FAILURE, certified, not_certified


def test_infinities_and_nans_become_null_everywhere():
    doc = {"a": math.inf, "b": [1.0, -math.inf, (math.nan, 2)], "c": {"d": 3, "e": "x"}}
    assert finite_or_none(doc) == {"a": None, "b": [1.0, None, [None, 2]],
                                   "c": {"d": 3, "e": "x"}}  # fmt: skip


def test_a_result_carries_its_objects_values():
    r = certified()
    out = result_dict(r)
    json.dumps(out, allow_nan=False)  # plain JSON
    est, c = r.estimate, r.certificate
    assert (out["spec"], out["name"], out["overrides"]) == (r.spec, r.name, r.overrides)
    assert out["problem"] == r.problem.to_dict()
    for key in ("sigma_min", "sigma_max", "sigma_min_lower", "sigma_max_upper", "loss0", "beta",
                "eig_min", "eig_max", "condition_number"):  # fmt: skip
        assert out["estimate"][key] == getattr(est, key), key
    assert out["estimate"]["full_rank"] is True and out["estimate"]["full_rank_reason"] is None
    assert list(out["certificates"]) == ["lecture", "path"]
    cert = out["certificate"]
    assert cert["theorem"] == c.theorem.value == "path" and cert["would_certify"] is None
    assert {k: v for k, v in cert.items() if k != "would_certify"} == out["certificates"]["path"]
    assert cert["gamma_interval"] == finite_or_none([list(iv) for iv in c.gamma_interval])
    assert cert["gamma_interval"][-1][1] is None  # (γ*_p, ∞): ∞ is null
    assert cert["heuristic_gamma"] == r.problem.heuristic_gamma
    assert cert["guarantees"]["radius_R"] == c.guarantees.radius_R
    assert out["timing"] == r.timing and "simulation" not in out


def test_an_infinite_gamma_star_is_null_and_advice_is_named():
    r = not_certified()
    advice = WouldCertify(3.0, 512, None, True, ((256, False), (512, True)), 64, "model.width")
    out = result_dict(replace(r, would_certify=advice))
    assert out["certificate"]["would_certify"] == {
        "gamma": 3.0, "width": 512, "lr": None, "confirmed": True,
    }  # fmt: skip
    lecture = replace(r.certificates[Theorem.lecture], gamma_star=math.inf)
    out = result_dict(replace(r, certificates={**r.certificates, Theorem.lecture: lecture}))
    assert out["certificates"]["lecture"]["gamma_star"] is None


def test_failures_and_the_document():
    assert entry_dict(FAILURE) == {"spec": "specs/bad.yaml", "error": FAILURE.message, "line": 3}
    doc = document([certified(), FAILURE])
    assert doc["ntkcheck_version"] == __version__ and doc["schema_version"] == SCHEMA_VERSION
    assert doc["results"] == [result_dict(certified()), entry_dict(FAILURE)]


def test_sweep_columns_in_their_order():
    cols = sweep_columns(("data.n", "seed", "gamma", "model.width"), flow=False)
    assert cols == ("data.n", "model.width", *SWEEP_KEYS, "error", "timing.problem",
                    "timing.estimate", "timing.certify", "timing.total", "spec_hash",
                    "ntkcheck_version")  # fmt: skip
    cols = sweep_columns(("gamma",), flow=True, gd=True)
    assert cols[: len(SWEEP_KEYS)] == SWEEP_KEYS
    rest = cols[len(SWEEP_KEYS) :]
    assert rest[: len(SWEEP_GD_KEYS) + len(SWEEP_FLOW_KEYS)] == (*SWEEP_GD_KEYS, *SWEEP_FLOW_KEYS)
    assert "timing.simulate" in cols


def _plan(axes, gd=False) -> Plan:
    return Plan(SpecSource.read(None), tuple(axes), (), gd)


def test_sweep_column_types_from_the_grid_and_the_keys():
    axes = [Axis(("data.n", "model.activation"), ((8, "tanh"), (16, "relu")), "--grid"),
            Axis(("model.init_std",), ((1,), (0.5,)), "--grid"),
            Axis(("data.noise",), ((0.1,), ("x",)), "--grid"),
            Axis(("seed",), ((0,), (1,)), "--seeds")]  # fmt: skip
    types = sweep_column_types(_plan(axes, gd=True), flow=False)
    assert (types["data.n"], types["model.activation"]) == ("int", "str")
    assert (types["model.init_std"], types["data.noise"]) == ("float", "any")
    assert (types["seed"], types["gamma"], types["status"], types["error"]) == (
        "int", "float", "str", "str",
    )  # fmt: skip
    assert types["gd.certified"] == "bool" and types["gd.lr_max"] == "float"
    assert types["spec_hash"] == "str" and types["timing.total"] == "float"


def test_sweep_rows_of_a_result_and_of_a_failure():
    r = replace(not_certified(), timing={"problem": 1.0, "estimate": 2.0, "certify": 3.0,
                                         "total": 6.0, "advice": 9.0})  # fmt: skip
    point = Point(0, (("data.n", 12), ("gamma", 0.5)), (), 7, 0.5, "abc")
    flow = FlowSummary(0.1, 0.2, 0.3, 1e-9, None)
    row = sweep_row(Outcome(point, r, flow), ("data.n", "gamma"), flow=True)
    assert list(row) == list(sweep_columns(("data.n", "gamma"), flow=True))
    lec, path = r.certificates[Theorem.lecture], r.certificates[Theorem.path]
    assert row["data.n"] == 12 and (row["seed"], row["gamma"]) == (7, 0.5)
    assert (row["status"], row["error"], row["spec_hash"]) == ("not_certified", None, "abc")
    assert (row["gamma_star.lecture"], row["margin.path"]) == (lec.gamma_star, path.margin)
    assert (row["sigma_min"], row["loss0"]) == (r.estimate.sigma_min, r.estimate.loss0)
    assert row["flow.gap_max"] == 0.3 and row["flow.time_to_tol"] is None
    assert (row["timing.total"], row["timing.simulate"]) == (6.0, None)
    assert "timing.advice" not in row
    bad = sweep_row(Outcome(point, replace(FAILURE, message="a\nb")), ("data.n", "gamma"), False)
    assert (bad["status"], bad["error"], bad["sigma_min"]) == ("error", "a\\nb", None)


@pytest.mark.parametrize("gd", [False, True])
def test_gd_columns_only_with_gd(gd):
    point = Point(0, (), (), 0, 1000.0, "h")
    row = sweep_row(Outcome(point, certified()), (), flow=False, gd=gd)
    assert all((key in row) is gd for key in SWEEP_GD_KEYS)
    if gd:  # a gradient-flow point in a sweep with GD points: null
        assert all(row[key] is None for key in SWEEP_GD_KEYS)
