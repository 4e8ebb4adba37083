"""Entries the report tests render: a certified built-in example, a not certified result
of a spec file (its `gamma:` on line 6), and a spec that failed (line 3)."""

from __future__ import annotations

import functools
from dataclasses import replace

from ntkcheck.io.example import example_spec
from ntkcheck.run.job import certify_spec
from ntkcheck.run.result import CertifyResult, SpecFailure
from ntkcheck.run.settings import RunSettings

SMALL = {"data.n": 12, "data.d": 4, "model.width": 64}
FAILURE = SpecFailure("specs/bad.yaml", "specs/bad.yaml:3: gamma: must be > 0, got -1", 3)


@functools.cache
def certified() -> CertifyResult:
    return certify_spec(example_spec({**SMALL, "gamma": 1000.0}), RunSettings(advise=False))


@functools.cache
def not_certified() -> CertifyResult:
    """Labelled as a file's result: ``specs/a,b:c.yaml`` (characters CI formats escape)."""
    r = certify_spec(example_spec({**SMALL, "gamma": 0.5}), RunSettings(advise=False))
    return replace(r, spec="specs/a,b:c.yaml", name="a", builtin=False, gamma_line=6)
