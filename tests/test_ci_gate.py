"""The CI gate: many specs, --fail-on, CI formats (GitHub, JUnit, SARIF), --set, validate, schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntkcheck import SpecError, parse_spec
from ntkcheck.cli import main
from ntkcheck.io.schema import spec_json_schema

from .conftest import ROOT, SPECS

GOOD = SPECS / "lecture-example.yaml"
SMALL_GAMMA = SPECS / "small-gamma.yaml"
RELU = SPECS / "rank-deficient.yaml"  # not applicable: (H2) fails


@pytest.fixture
def mixed(tmp_path):
    """A folder of specs: certified, not certified, not applicable and a broken one."""
    folder = tmp_path / "configs"
    folder.mkdir()
    for src in (GOOD, SMALL_GAMMA, RELU):
        shutil.copy(src, folder / src.name)
    (folder / "broken.yaml").write_text(
        "seed: 0\ngamma: 1\ndata: {n: 8, d: 2}\nmodel: {widht: 8}\n"
    )
    return folder


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_folder_gives_one_result_per_spec_and_a_summary(capsys, mixed):
    code, out, err = _run(capsys, "certify", str(mixed), "-f", "text")
    assert code == 2  # an error wins
    assert "4 specs: 1 certified, 1 not certified, 1 not applicable, 1 error" in out
    assert len(err.strip().splitlines()) == 1 and "broken.yaml:4: model.widht" in err


@pytest.mark.parametrize(
    "argv,expected",
    [
        ([str(GOOD)], 0),
        ([str(GOOD), str(SMALL_GAMMA)], 1),
        ([str(GOOD), str(SMALL_GAMMA), "--fail-on", "error"], 0),
        ([str(SMALL_GAMMA), "--fail-on", "not-applicable"], 0),
        ([str(RELU), "--fail-on", "not-applicable"], 1),
        ([str(RELU), "--fail-on", "not-certified"], 0),
        ([str(SMALL_GAMMA), str(RELU), "--exit-zero"], 0),
    ],
)
def test_fail_on_and_exit_zero(capsys, argv, expected):
    assert _run(capsys, "certify", "-f", "json", *argv)[0] == expected


def test_errors_exit_2_even_with_exit_zero(capsys, mixed):
    assert _run(capsys, "certify", str(mixed), "--exit-zero", "-f", "json")[0] == 2
    assert _run(capsys, "certify", str(mixed), "--fail-on", "not-certified", "-f", "json")[0] == 2


def test_format_from_environment(capsys, monkeypatch):
    monkeypatch.setenv("NTKCHECK_FORMAT", "json")
    code, out, _ = _run(capsys, "certify", str(GOOD))
    assert code == 0 and json.loads(out)["results"][0]["certificate"]["certified"]
    monkeypatch.setenv("NTKCHECK_FORMAT", "yaml")
    code, out, err = _run(capsys, "certify", str(GOOD))
    assert code == 2 and out == "" and "NTKCHECK_FORMAT='yaml' is not one of" in err
    assert "internal error" not in err


def _gamma_line(path) -> int:
    return next(
        i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("gamma:")
    )


def test_github_annotations_point_at_the_gamma_line(capsys, mixed):
    code, out, _ = _run(capsys, "certify", str(mixed), "-f", "github")
    lines = out.strip().splitlines()
    assert code == 2 and len(lines) == 5
    by_file = {ln.split("file=")[1].split(",")[0].rsplit("/", 1)[-1]: ln for ln in lines[:-1]}
    assert by_file["lecture-example.yaml"].startswith("::notice ")
    small = by_file["small-gamma.yaml"]
    assert (
        small.startswith("::error ") and f"line={_gamma_line(mixed / 'small-gamma.yaml')}," in small
    )
    assert "title=ntkcheck%3A not certified::" in small
    assert (
        by_file["rank-deficient.yaml"].startswith("::error ")
        and "not applicable" in by_file["rank-deficient.yaml"]
    )
    assert by_file["broken.yaml"].startswith("::error ") and ",line=4," in by_file["broken.yaml"]
    # narrowed --fail-on: what does not fail is a warning
    _, out, _ = _run(capsys, "certify", str(SMALL_GAMMA), "-f", "github", "--fail-on", "error")
    assert out.startswith("::warning ")


def test_junit_is_well_formed(capsys, mixed):
    code, out, _ = _run(capsys, "certify", str(mixed), "-f", "junit")
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and code == 2
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 4 == int(suite.get("tests"))
    assert int(suite.get("failures")) == 2 and int(suite.get("errors")) == 1
    by_name = {c.get("name").rsplit("/", 1)[-1]: c for c in cases}
    assert by_name["lecture-example.yaml"].find("failure") is None
    assert by_name["small-gamma.yaml"].find("failure").get("type") == "not_certified"
    assert by_name["rank-deficient.yaml"].find("failure").get("type") == "not_applicable"
    assert by_name["broken.yaml"].find("error") is not None
    assert by_name["small-gamma.yaml"].get("line") == str(_gamma_line(mixed / "small-gamma.yaml"))
    props = {
        p.get("name"): p.get("value") for p in by_name["lecture-example.yaml"].iter("property")
    }
    assert props["status"] == "certified" and float(props["gamma_star"]) > 0


# The parts of the SARIF 2.1.0 schema that a consumer relies on (sarif-schema-2.1.0.json).
SARIF_REQUIRED = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "message": {"type": "object", "required": ["text"]},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "kind": {
                                    "enum": [
                                        "notApplicable",
                                        "pass",
                                        "fail",
                                        "review",
                                        "open",
                                        "informational",
                                    ]
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            }
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_has_the_required_structure_and_locations(capsys, mixed):
    code, out, _ = _run(capsys, "certify", str(mixed), "-f", "sarif")
    doc = json.loads(out)
    jsonschema.validate(doc, SARIF_REQUIRED)
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert code == 2 and len(results) == 4
    fails = [r for r in results if r["kind"] == "fail"]
    assert sorted(r["ruleId"] for r in fails) == ["NTK001", "NTK002", "NTK003"]
    for r in fails:
        assert rules[r["ruleIndex"]] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].endswith(".yaml")
        assert loc["region"]["startLine"] >= 1
    small = next(r for r in fails if r["ruleId"] == "NTK001")
    assert small["locations"][0]["physicalLocation"]["region"]["startLine"] == _gamma_line(
        mixed / "small-gamma.yaml"
    )


def test_set_overrides_are_typed_and_recorded(capsys):
    code, out, _ = _run(
        capsys, "certify", "-f", "json", "--set", "model.width=1024", "--set", "gamma=50"
    )
    r = json.loads(out)["results"][0]
    assert code == 0 and r["problem"]["width"] == 1024 and r["certificate"]["gamma"] == 50.0
    assert r["overrides"] == {"model.width": 1024, "gamma": 50.0}
    code, out, _ = _run(capsys, "certify", "-f", "text", "--set", "model.activation=gelu")
    assert "overrides   model.activation=gelu" in out


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("model.width", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("model.width=", "no value given"),
        ("model.width=abc", "--set model.width: must be a valid integer"),
        ("model.widht=8", "--set model.widht: unknown key; did you mean 'width'?"),
        ("gamma=-1", "--gamma: must be greater than 0"),
        ("model.width=[1", "cannot read the value"),
    ],
)
def test_bad_set(capsys, value, fragment):
    code, _out, err = _run(capsys, "certify", "--set", value)
    lines = [ln for ln in err.strip().splitlines() if "no SPEC given" not in ln]
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert "internal error" not in err


def test_validate(capsys, mixed):
    code, out, _ = _run(capsys, "validate", str(SPECS))
    count = len(list(SPECS.glob("*.yaml")))
    assert code == 0 and f"{count} specs: {count} valid, 0 invalid" in out
    code, out, _err = _run(capsys, "validate", str(mixed), "-f", "json")
    doc = json.loads(out)["specs"]
    assert code == 2 and [d["valid"] for d in doc] == [False, True, True, True]
    assert doc[0]["line"] == 4
    code, out, _ = _run(capsys, "validate", str(mixed / "broken.yaml"), "-f", "github")
    assert out.startswith("::error file=") and ",line=4," in out


def test_schema_accepts_every_example_and_rejects_broken_specs(capsys, tmp_path):
    code, out, _ = _run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and schema == spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in SPECS.glob("*.yaml"):
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    base = yaml.safe_load(GOOD.read_text())
    for broken in (
        {**base, "gama": 1},
        {**base, "gamma": -1},
        {**base, "gamma": "big"},
        {**base, "model": {**base["model"], "activation": "tanhh"}},
        {**base, "model": {**base["model"], "width": 0}},
        {k: v for k, v in base.items() if k != "data"},
    ):
        assert list(validator.iter_errors(broken)), broken
    # the copy next to the examples is current
    assert json.loads((SPECS / "ntkcheck.schema.json").read_text()) == schema


def test_init_writes_the_schema_for_editors(tmp_path, capsys):
    target = tmp_path / "exp.yaml"
    assert _run(capsys, "init", str(target))[0] == 0
    assert target.read_text().startswith("# yaml-language-server: $schema=./ntkcheck.schema.json")
    assert json.loads((tmp_path / "ntkcheck.schema.json").read_text()) == spec_json_schema()


def test_pre_commit_hooks_file():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["ntkcheck-certify"]["entry"].startswith("ntkcheck certify")
    assert ids["ntkcheck-validate"]["entry"] == "ntkcheck validate"
    assert all(h["language"] == "python" for h in hooks)


def _canonical(out: str) -> str:
    doc = json.loads(out)
    for r in doc["results"]:
        r.pop("timing", None)
    return json.dumps(doc, sort_keys=True)


def test_json_is_deterministic_apart_from_timing(capsys):
    runs = []
    for _ in range(2):
        _code, out, _ = _run(capsys, "certify", str(SPECS / "gaussian-interval.yaml"), "-f", "json")
        runs.append(_canonical(out))
    assert runs[0] == runs[1]
    # and across processes (fresh BLAS thread pools, fresh allocator)
    procs = [
        subprocess.run(
            [sys.executable, "-m", "ntkcheck", "certify", str(GOOD), "-f", "json", "--beta-local"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        for _ in range(2)
    ]
    assert _canonical(procs[0]) == _canonical(procs[1])


yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=True),
    st.text(max_size=20),
)  # fmt: skip
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
KEYS = ["name", "seed", "gamma", "data", "model", "certify", "simulate", "n", "d", "width",
        "source", "path", "init", "init_path", "activation", "scaling", "horizon", "points"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.dictionaries(st.sampled_from(KEYS), yaml_values, max_size=7)
    | yaml_values
    | st.text(max_size=200)
)
def test_fuzzed_specs_give_a_spec_or_a_spec_error(tmp_path_factory, doc):
    """Any input: a valid spec or a SpecError with a one-line message; nothing else."""
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True)
    try:
        loaded = parse_spec(text, source="fuzz.yaml", base_dir=tmp_path_factory.getbasetemp())
    except SpecError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert loaded.spec.gamma > 0


def test_validate_github_escapes_paths_like_certify(capsys, tmp_path):
    """A spec path with a comma and a colon: one formatter escapes it for both commands."""
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    spec = folder / "bad.yaml"
    spec.write_text("gamma: -1\ndata: {n: 4, d: 2}\nmodel: {width: 8}\n")
    code, out, _ = _run(capsys, "validate", str(spec), "-f", "github")
    assert code == 2
    line = out.strip().splitlines()[0]
    assert (
        line.startswith("::error file=")
        and "a%2Cb%3Ac" in line
        and "a,b:c" not in line.split("::")[1]
    )
    code, out, _ = _run(capsys, "certify", str(spec), "-f", "github")
    assert code == 2 and "a%2Cb%3Ac" in out.splitlines()[0]
