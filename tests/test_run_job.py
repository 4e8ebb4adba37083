"""``run.job``: one spec through the pipeline — γ only where ``run_at`` is given it, the
would-certify search at that γ, and every failure as one line (``guarded``)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ntkcheck.errors import DataError
from ntkcheck.io.example import BUILTIN, example_spec
from ntkcheck.report.document import result_dict
from ntkcheck.run.job import (
    certify_spec,
    guarded,
    load,
    measure_spec,
    quantities_for,
    reload,
    run_at,
)
from ntkcheck.run.measure import estimate_at
from ntkcheck.run.result import CertifyResult, SpecFailure
from ntkcheck.run.settings import RunSettings
from ntkcheck.theory.certificate import Theorem

from .conftest import MINIMAL

#: A small problem of the built-in example (certified at γ = 100, not at γ = 1).
SMALL = {"data.n": 16, "data.d": 4, "model.width": 256}
ONCE = RunSettings(advise=False)


def _doc(result: CertifyResult) -> dict:
    """The JSON of a result without what differs between equal runs (timing) and the
    overrides that say how γ was set."""
    doc = result_dict(result)
    doc.pop("timing")
    doc.pop("overrides")
    return doc


@pytest.fixture(scope="module")
def measured():
    # measured for a spec whose γ (1e9) is used nowhere below
    return measure_spec(example_spec({**SMALL, "gamma": 1e9}), ONCE)


@pytest.mark.parametrize("gamma", [1.0, 100.0])
def test_run_at_reads_gamma_from_its_argument_only(measured, gamma):
    """run_at(measured, γ) is certify_spec of the spec with that γ: the measured spec's own
    γ (1e9) is not read."""
    result, sim = run_at(measured, gamma, ONCE)
    expected = certify_spec(example_spec({**SMALL, "gamma": gamma}), ONCE)
    assert sim is None
    assert result.problem.gamma == gamma
    assert all(c.gamma == gamma for c in result.certificates.values())
    assert _doc(result) == _doc(expected)


def test_run_at_l0_is_at_its_gamma(measured):
    """L0(γ) = ½‖γ f0 − y‖² at the γ given (THEORY.md §4), from the measurement's norms."""
    m = measured.measurement
    for gamma in (0.5, 3.0):
        result, _ = run_at(measured, gamma, ONCE)
        loss0 = 0.5 * (gamma**2 * m.f0_norm**2 - 2 * gamma * m.f0_dot_y + m.y_norm**2)
        assert result.estimate.loss0 == pytest.approx(loss0, rel=1e-12, abs=1e-12)


def test_the_search_runs_at_the_gamma_given(measured):
    """Not certified at γ = 1: the named width certifies at γ = 1 (checked by certifying
    the spec with that width and γ), and half of it does not."""
    result, _ = run_at(measured, 1.0, RunSettings())
    advice = result.would_certify
    assert not result.verdict.certified and advice is not None and advice.confirmed
    assert advice.size_key == "model.width" and advice.start == SMALL["model.width"]
    width = advice.size

    def certified(w: int) -> bool:
        spec = example_spec({**SMALL, "model.width": w, "gamma": 1.0})
        return certify_spec(spec, ONCE).verdict.certified

    assert certified(width)
    assert not certified(width // 2)
    assert "advice" in result.timing
    assert result.timing["total"] == pytest.approx(
        sum(v for k, v in result.timing.items() if k != "total"), rel=1e-12
    )


def test_no_search_when_certified_or_not_asked(measured):
    assert run_at(measured, 100.0, RunSettings())[0].would_certify is None  # certified
    assert run_at(measured, 1.0, ONCE)[0].would_certify is None  # advise=False


def test_quantities_are_the_estimates_bounds(measured):
    """What a theorem reads: the proven σ bounds, L0 and the measurement's norms."""
    est = estimate_at(measured.problem, measured.measurement, 2.0)
    q = quantities_for(measured.problem, est)
    m = measured.measurement
    assert q.sigma_min == m.bounds.sigma_min_lower
    assert q.sigma_max == m.bounds.sigma_max_upper
    assert q.loss0 == est.loss0
    assert q.f0_sq == m.f0_norm**2 and q.y_sq == m.y_norm**2 and q.f0_dot_y == m.f0_dot_y
    assert q.full_rank == m.full_rank.holds
    assert q.loss_depends_on_gamma == measured.problem.loss_depends_on_gamma


def test_the_deciding_certificate_is_the_specs_theorem(measured):
    lecture = replace(measured, loaded=example_spec({**SMALL, "certify.theorem": "lecture"}))
    r = run_at(lecture, 100.0, ONCE)[0]
    assert r.certificate is r.certificates[Theorem.lecture]
    r = run_at(measured, 100.0, ONCE)[0]
    assert r.certificate is r.certificates[Theorem.path]


def test_reload_adds_overrides_to_the_same_spec(spec_file):
    loaded = example_spec({"gamma": 3.0})
    again = reload(loaded, {"model.width": 8})
    assert again.builtin and again.source == BUILTIN
    assert again.spec.gamma == 3.0 and again.spec.model.width == 8
    path = spec_file(MINIMAL.replace("gamma: 100.0", "gamma: 5.0"))
    again = reload(load(path, {"data.n": 12}), {"seed": 4})
    assert again.source == str(path) and again.overrides == {"data.n": 12, "seed": 4}
    assert (again.spec.seed, again.spec.gamma, again.spec.data.n) == (4, 5.0, 12)
    assert again.spec.model.width == 64  # the rest from the file


def test_guarded_turns_failures_into_one_line():
    def fail(exc: BaseException):
        def job() -> CertifyResult:
            raise exc

        return job

    bad = DataError("data.path: no such file")
    bad.line = 7
    entry = guarded("spec.yaml", fail(bad))
    assert entry == SpecFailure("spec.yaml", "spec.yaml: data.path: no such file", 7)
    entry = guarded("spec.yaml", fail(MemoryError()))
    assert isinstance(entry, SpecFailure) and "ran out of memory" in entry.message
    entry = guarded("s", fail(ValueError("boom")))
    assert isinstance(entry, SpecFailure) and entry.message.startswith("s: internal error")
    assert "ValueError: boom" in entry.message and "--debug" in entry.message
    with pytest.raises(ValueError):
        guarded("s", fail(ValueError("boom")), debug=True)
    with pytest.raises(KeyboardInterrupt):
        guarded("s", fail(KeyboardInterrupt()))


def test_guarded_passes_a_result_through(measured):
    result = run_at(measured, 100.0, ONCE)[0]
    assert guarded("s", lambda: result) is result
    assert math.isfinite(result.estimate.loss0)
