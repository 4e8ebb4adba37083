"""``run.result``: the problem's shape as the JSON ``problem`` block says it, the lecture's
heuristic γ, and which certificate decides."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ntkcheck.models.protocol import ModelInfo
from ntkcheck.run.result import CertifyResult, ProblemInfo
from ntkcheck.theory.certificate import Status


def _problem(heuristic_size):
    info = ModelInfo(
        family="fam",
        params=120,
        activation="tanh",
        summary={"params": 120, "activation": "tanh", "size": 30},
        heuristic_size=heuristic_size,
        head="the model",
        tail="its tail",
    )
    model = SimpleNamespace(info=lambda: info)
    return SimpleNamespace(
        n=16,
        outputs=1,
        d=4,
        model=model,
        init="symmetric",
        centered=False,
        f0_zero=True,
        data="synthetic",
    )


def test_problem_info_and_its_json_block():
    p = ProblemInfo.of(_problem(30), 2.5)
    assert (p.n, p.d, p.params, p.activation, p.gamma) == (16, 4, 120, "tanh", 2.5)
    assert (p.head, p.tail, p.heuristic_size) == ("the model", "its tail", 30)
    out = p.to_dict()
    # n, outputs, rows, d, the family's summary keys in its order, then the rest (JSON `problem`)
    assert list(out) == [
        "n", "outputs", "rows", "d", "params", "activation", "size", "init", "centered", "f0_zero", "data", "gamma",
    ]  # fmt: skip
    assert out == {
        "n": 16, "outputs": 1, "rows": 16, "d": 4, "params": 120, "activation": "tanh", "size": 30, "init": "symmetric",
        "centered": False, "f0_zero": True, "data": "synthetic", "gamma": 2.5,
    }  # fmt: skip


def test_heuristic_gamma_is_n_to_the_three_halves_over_the_size():
    """THEORY.md §4: n^{3/2}/N; 16^{3/2} = 64."""
    assert ProblemInfo.of(_problem(32), 1.0).heuristic_gamma == 2.0
    assert ProblemInfo.of(_problem(None), 1.0).heuristic_gamma is None


def test_the_head_and_tail_do_not_make_two_problems_differ():
    a = ProblemInfo.of(_problem(30), 1.0)
    b = ProblemInfo(**{**a.__dict__, "head": "other", "tail": "words"})
    assert a == b


def test_the_gd_certificate_decides_when_there_is_one():
    flow = SimpleNamespace(status=Status.certified)
    gd = SimpleNamespace(status=Status.not_certified)
    base = dict(spec="s", name="n", builtin=False, problem=None, estimate=None)
    r = CertifyResult(**base, certificate=flow)
    assert r.verdict is flow and r.status is Status.certified
    r = CertifyResult(**base, certificate=flow, gd=gd)
    assert r.verdict is gd and r.status is Status.not_certified


@pytest.mark.parametrize("timing", [{}, {"total": 1.0}])
def test_timing_is_not_part_of_a_results_identity(timing):
    base = dict(spec="s", name="n", builtin=False, problem=None, estimate=None, certificate=None)
    assert CertifyResult(**base, timing=timing) == CertifyResult(**base, timing={"total": 9.0})
