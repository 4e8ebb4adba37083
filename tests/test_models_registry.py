"""``models.registry``: families by architecture name, their spec sides, and what the
report and the sweep ask of all of them (size axes, agreed heuristic exponents)."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from ntkcheck.models import registry
from ntkcheck.models.fields import FamilySpec


def test_the_default_architecture_is_the_first_registered():
    assert registry.default_architecture() == next(iter(registry.FAMILIES))
    assert registry.default_architecture() == "two_layer"


@pytest.mark.parametrize("name", list(registry.FAMILIES))
def test_every_family_has_both_sides(name):
    fam = registry.family(name)
    assert fam.name == name and callable(fam.build) and callable(fam.plan_bytes)
    assert callable(fam.f0_is_zero)
    spec = registry.family_spec(name)
    assert isinstance(spec, FamilySpec)
    assert spec.block.model_fields["architecture"].annotation.__args__ == (name,)
    assert registry.family(name) is fam  # cached


def test_family_specs_follow_the_registry_order():
    assert list(registry.family_specs()) == list(registry.FAMILIES)


def test_shrink_advice_names_the_familys_size():
    for name, spec in registry.family_specs().items():
        assert registry.shrink_advice(name) == f"reduce data.n or {spec.words.size}"


def _fake(size_key, heuristic):
    return SimpleNamespace(size_key=size_key, heuristic=heuristic)


def test_size_keys_in_order_without_repeats_or_none(monkeypatch):
    fakes = {"a": _fake("model.width", {}), "b": _fake(None, {}), "c": _fake("model.k", {}),
             "d": _fake("model.width", {})}  # fmt: skip
    monkeypatch.setattr(registry, "family_specs", lambda: fakes)
    assert registry.size_keys() == ("model.width", "model.k")


def test_heuristic_exponents_keep_only_the_keys_every_family_agrees_on(monkeypatch):
    fakes = {
        "a": _fake(None, {"data.n": 1.5, "model.width": -1.0}),
        "b": _fake(None, {"data.n": 1.5, "model.width": -0.5, "model.k": 2.0}),
        "c": _fake(None, {}),  # names none: does not disagree
    }
    monkeypatch.setattr(registry, "family_specs", lambda: fakes)
    assert registry.heuristic_exponents() == {"data.n": 1.5, "model.k": 2.0}


def test_the_registered_heuristic_is_the_lecture_trend():
    """THEORY.md §4: γ* ∝ n^{3/2}/N along the two-layer family's width."""
    assert registry.heuristic_exponents() == {"data.n": 1.5, "model.width": -1.0}


def test_lazy_exports_load_a_submodule_on_first_use(monkeypatch):
    package = types.ModuleType("fakefamily")
    package.__path__ = []  # a package
    sub = types.ModuleType("fakefamily.net")
    sub.build = lambda: "built"
    monkeypatch.setitem(sys.modules, "fakefamily", package)
    monkeypatch.setitem(sys.modules, "fakefamily.net", sub)
    getattr_ = registry.lazy_exports("fakefamily", {"build": ".net"})
    assert "build" not in vars(package)
    assert getattr_("build")() == "built"
    assert vars(package)["build"] is sub.build  # cached on the package
    with pytest.raises(AttributeError, match="has no attribute 'other'"):
        getattr_("other")
