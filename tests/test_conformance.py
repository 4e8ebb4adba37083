"""Every registered model family passes the conformance suite (``ntkcheck.testing``):
each case of each family (its ``conformance`` module) × each check its capabilities
select, one pytest id per check: ``test_conformance[mlp-tanh-ntk-gram_vs_finite_differences]``."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from ntkcheck.models.protocol import GramError
from ntkcheck.models.registry import FAMILIES, available, family_spec
from ntkcheck.models.two_layer import TwoLayerNetwork
from ntkcheck.testing import CHECKS, Case, check_model, checks_for_capabilities, family_cases


@cache
def _case(family: str, name: str) -> Case:
    """Built once per session: the checks of one case share its reference Jacobians."""
    model, X = family_cases(family)[name]()
    return Case(model, X)


#: The families whose optional packages are installed (torch's: `pip install ".[torch]"`,
#: as CI does; without it the torch family is not collected here).
HERE = [family for family in FAMILIES if available(family)]

PARAMS = [
    pytest.param(family, name, check, id=f"{family}-{name}-{check}")
    for family in HERE
    for name in family_cases(family)
    for check in checks_for_capabilities(_case(family, name).caps)
]


@pytest.mark.parametrize(("family", "case", "check"), PARAMS)
def test_conformance(family, case, check):
    CHECKS[check][0](_case(family, case))


def test_every_registered_family_has_cases_and_is_checked_in_full():
    """A family without a ``conformance`` module fails here; each family's cases reach
    every check but those of capabilities it does not have."""
    for family in HERE:
        names = family_cases(family)
        assert names, f"{family} has no conformance cases"
        run = {p.values[2] for p in PARAMS if p.values[0] == family}
        always = {name for name, (_, needs) in CHECKS.items() if needs is None}
        assert always <= run
        # a family that proves a drift bound is searched against it (the torch family
        # proves none: THEORY.md §10, "Any model", and says so with analytic_beta=False)
        assert ("drift_bound_dominates_ascent" in run) is family_spec(family).analytic_beta
        assert "gram_vs_finite_differences" in run  # at least one smooth case


@pytest.mark.parametrize(
    ("family", "name", "smooth", "drift"),
    [("two_layer", "tanh-standard", True, True), ("two_layer", "relu-standard", False, True),
     ("mlp", "gelu-ntk-bare", True, True), ("mlp", "abs-shallow", False, True),
     ("mlp", "relu-deep", False, False)],
)  # fmt: skip
def test_capabilities_are_read_from_the_model_and_choose_the_checks(family, name, smooth, drift):
    case = _case(family, name)
    assert (case.caps.smooth, case.caps.relu_like, case.caps.drift_bound) == (
        smooth, not smooth, drift,
    )  # fmt: skip
    chosen = set(checks_for_capabilities(case.caps))
    assert ("gram_vs_finite_differences" in chosen) is smooth
    assert ("drift_gram_vs_finite_differences" in chosen) is smooth
    assert ("drift_bound_dominates_ascent" in chosen) is drift
    assert case.caps.rigorous_gram and "gram_error_is_proved" in chosen
    kind = case.model.drift(case.X).kind
    assert kind == {"relu-deep": "none", "abs-shallow": "flip_count"}.get(name, kind)


def _two_layer():
    return family_cases("two_layer")["tanh-standard"]()


def test_check_model_catches_a_wrong_gram():
    """The suite can fail: a family whose gram() is off by 1e-4 is rejected."""
    net, X = _two_layer()

    class Broken(TwoLayerNetwork):
        def gram(self, X):
            return super().gram(X) * (1 + 1e-4)

    broken = Broken(net.W, net.a, net.s, net.activation, net.scaling)
    with pytest.raises(AssertionError, match="gram"):
        check_model(broken, X)
    case = Case(broken, X)
    for check in ("gram_vs_finite_differences", "gram_vs_jvp_columns"):
        with pytest.raises(AssertionError, match=r"gram\(\) differs from J Jᵀ"):
            CHECKS[check][0](case)


def test_check_model_catches_a_drift_bound_that_is_too_small():
    net, X = _two_layer()

    class Overconfident(TwoLayerNetwork):
        def drift(self, X):
            from ntkcheck.theory.drift import LipschitzDrift

            return LipschitzDrift(0.01 * super().beta(X).beta)

    bad = Overconfident(net.W, net.a, net.s, net.activation, net.scaling)
    with pytest.raises(AssertionError, match="drift bound exceeded"):
        check_model(bad, X)


class _UnknownRounding(TwoLayerNetwork):
    """A family that cannot bound its Gram's rounding (or claims ∞)."""

    value = math.nan

    def gram_error(self, X, trace):
        return GramError(self.value, rigorous=False)


def test_a_gram_error_that_is_not_proved_is_checked_as_a_labelled_estimate():
    net, X = _two_layer()
    unknown = _UnknownRounding(net.W, net.a, net.s, net.activation, net.scaling)
    case = Case(unknown, X)
    chosen = checks_for_capabilities(case.caps)
    assert "gram_error_is_labelled" in chosen and "gram_error_is_proved" not in chosen
    check_model(unknown, X)
    unknown.value = math.inf
    with pytest.raises(AssertionError, match="not ∞"):
        CHECKS["gram_error_is_labelled"][0](case)


def test_problem_and_model_pickle_for_worker_processes():
    """Problems (with their model and activation) pickle: sweeps send them to workers."""
    import pickle

    from ntkcheck import build_problem, example_spec

    p = build_problem(example_spec({"data.n": 16, "model.width": 64}))
    q = pickle.loads(pickle.dumps(p))
    assert np.array_equal(q.model.forward(q.X), p.model.forward(p.X))
    assert q.model.info() == p.model.info()


@pytest.mark.parametrize("family", HERE)
def test_families_conform_on_scipys_dense_path(monkeypatch, family):
    """The dense kernels beyond NumPy's order limit (SciPy's, in place) are forced here on
    a small case: the same conformance checks pass, the memory plan included."""
    from ntkcheck.linalg import dense

    monkeypatch.setattr(dense, "NUMPY_MAX_N", 0)
    cases = family_cases(family)
    name = next((n for n in cases if "-ntk" in n), next(iter(cases)))
    net, X = family_cases(family)[name]()
    report = check_model(net, X)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0


def _registered() -> list[str]:
    from ntkcheck.models.registry import FAMILIES

    return [family for family in FAMILIES if available(family)]


@pytest.mark.parametrize("name", _registered())
def test_every_registered_family_conforms_built_from_its_spec_block(name):
    """Each registered family, built through the registry from its own small block
    (``FamilySpec.conformance``) as a spec would build it; smooth unless relu-like."""
    from ntkcheck.models.registry import family, family_spec

    fam = family_spec(name)
    assert fam.conformance, f"{name}: FamilySpec.conformance names no block to check"
    block = fam.block.model_validate({"architecture": name, **fam.conformance})
    model = family(name).build(block, 3, np.random.default_rng(7), None)
    X = np.random.default_rng(8).standard_normal((5, 3))
    report = check_model(model, X, smooth=fam.nonsmooth(block) is None)
    assert report.drift_ratio <= 1.0 and report.peak_ratio <= 1.0
