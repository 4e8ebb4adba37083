"""A family whose Gram rounding is unknown gets labelled estimates, not a σ_min bound of 0
(``Model.gram_error`` → ``GramError(rigorous=False)``, THEORY.md §11)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ntkcheck.io.build import build_problem
from ntkcheck.models.protocol import GramError
from ntkcheck.run.job import certificates_for, load
from ntkcheck.run.measure import estimate_at, measure


class UnknownRounding:
    """The wrapped model, but its Gram's rounding is not bounded."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def gram_error(self, X, trace):
        return GramError(math.nan, rigorous=False)


@pytest.mark.parametrize("spectrum", ["dense", "iterative"])
def test_unknown_gram_error_gives_labelled_estimates(spectrum):
    loaded = load(None, {"data.n": 16, "model.width": 256})
    problem = build_problem(loaded)
    proven = measure(problem, spectrum_method=spectrum)
    unknown = replace(problem, model=UnknownRounding(problem.model))
    m = measure(unknown, spectrum_method=spectrum)
    # dense: the eigenvalues, unproved; iterative: Lanczos values, which no Cholesky proves
    expected = {"dense": "unproved", "iterative": "lanczos"}[spectrum]
    assert m.bounds.rigorous is False and m.bounds.method == expected
    assert m.bounds.sigma_min_lower == m.spectrum.sigma_min > 0  # not 0
    assert m.bounds.sigma_min_lower >= proven.bounds.sigma_min_lower
    gamma = loaded.spec.gamma
    certs = certificates_for(unknown, estimate_at(unknown, m, gamma), gamma)
    assert all(not c.rigorous for c in certs.values())
    assert all(c.certified for c in certs.values())  # the built-in example is certified
