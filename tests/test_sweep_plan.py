"""``run.sweep.plan``: the points of a grid (overrides, seed, γ, identity, error rows),
the axes from the spec and the flags, and the tasks that share a γ-free measurement."""

from __future__ import annotations

import itertools

import pytest

from ntkcheck.io.grid import Axis, GridError
from ntkcheck.io.spec_keys import spec_hash
from ntkcheck.run.settings import RunSettings
from ntkcheck.run.sweep import (
    Options,
    SpecSource,
    plan_inputs,
    plan_sweep,
    resolve_axes,
    tasks,
)

from .conftest import MINIMAL

SOURCE = SpecSource.read(None)


def _axis(keys: str, *values) -> Axis:
    return Axis(tuple(keys.split(",")), tuple(v if isinstance(v, tuple) else (v,) for v in values),
                f"--grid {keys}")  # fmt: skip


def test_points_are_the_product_first_axis_slowest():
    axes = [_axis("data.n", 8, 16), _axis("gamma", 1.0, 10.0, 100.0)]
    plan = plan_sweep(SOURCE, {"model.width": 32}, axes)
    assert [dict(p.values) for p in plan.points] == [
        {"data.n": n, "gamma": g} for n, g in itertools.product((8, 16), (1.0, 10.0, 100.0))
    ]
    assert [p.index for p in plan.points] == list(range(6))
    assert plan.grid_keys == ("data.n", "gamma")
    for p in plan.points:
        loaded = SOURCE.parse(dict(p.overrides))
        assert dict(p.overrides) == {"model.width": 32, **dict(p.values)}
        assert p.key == (spec_hash(loaded.spec), 0)
        assert (p.seed, p.gamma, p.error) == (0, loaded.spec.gamma, None)
    assert plan.points[4].describe() == "data.n=16 gamma=10.0"
    assert not plan.gd


def test_a_point_that_does_not_validate_is_an_error_row():
    """A rule between keys (symmetric init needs an even width) fails the point alone."""
    plan = plan_sweep(SOURCE, {}, [_axis("model.width", 8, 9)])
    good, bad = plan.points
    assert good.error is None and bad.error is not None and "model.width" in bad.error
    assert bad.gamma == 100.0 and bad.seed == 0  # the base spec's, as a float
    assert bad.spec_hash != good.spec_hash


def test_two_points_with_one_spec_are_refused():
    with pytest.raises(GridError, match="give the same spec"):
        plan_sweep(SOURCE, {}, [_axis("gamma", 1.0, 1)])


def test_pending_skips_the_rows_done():
    plan = plan_sweep(SOURCE, {}, [_axis("seed", 0, 1, 2)])
    done = [plan.points[1].key, ("other", 0)]
    assert plan.pending(done) == [plan.points[0], plan.points[2]]


def test_tasks_group_the_points_that_differ_only_in_gamma():
    axes = [_axis("data.n", 8, 16), _axis("gamma", 1.0, 10.0), _axis("seed", 0, 1)]
    plan = plan_sweep(SOURCE, {}, axes)
    work = tasks(plan, plan.points, Options())
    assert len(work) == 4  # (n, seed) pairs
    for task in work:
        rest = {(k, v) for p in task.points for k, v in p.overrides if k != "gamma"}
        assert len(rest) == 2  # one n, one seed
        assert sorted(p.gamma for p in task.points) == [1.0, 10.0]
    assert sorted(p.index for t in work for p in t.points) == list(range(8))
    assert [t.points[0].index for t in work] == sorted(t.points[0].index for t in work)


def test_options_settings_are_the_runs_choices_without_advice():
    assert Options(spectrum="dense").settings == RunSettings(spectrum="dense", advise=False)
    assert Options().settings.spectrum == "auto" and not Options().settings.with_local_beta


def test_axes_from_the_spec_the_flags_and_the_seeds(spec_file):
    text = MINIMAL + "sweep:\n  grid: {data.n: [8, 12], gamma: [1.0, 2.0]}\n  seeds: 2\n"
    path = spec_file(text)
    source = SpecSource.read(path)
    axes = resolve_axes(source.parse({}), ["gamma=[5.0, 6.0, 7.0]"], None)
    assert [a.keys for a in axes] == [("data.n",), ("gamma",), ("seed",)]
    assert axes[1].values == ((5.0,), (6.0,), (7.0,))  # the flag replaces the spec's axis
    assert axes[2].values == ((0,), (1,))
    assert "sweep.seeds" in axes[2].origin
    axes = resolve_axes(source.parse({}), [], 3)  # --seeds over sweep.seeds
    assert axes[-1].values == ((0,), (1,), (2,)) and axes[-1].origin == "--seeds"


@pytest.mark.parametrize(
    ("grids", "seeds", "fragment"),
    [
        ([], None, "nothing to sweep"),
        (["data.n=[8]", "data.n=[9]"], None, "swept twice"),
        (["seed=[0,1]"], 2, "give one of them"),
        ([], 0, "positive number of seeds"),
    ],
)
def test_bad_axes_are_refused(grids, seeds, fragment):
    with pytest.raises(GridError, match=fragment):
        resolve_axes(SOURCE.parse({}), grids, seeds)


def test_inputs_are_the_spec_and_each_points_data_file(spec_file, tmp_path):
    import numpy as np

    for name in ("a.npz", "b.npz"):
        rng = np.random.default_rng(0)
        np.savez(tmp_path / name, X=rng.standard_normal((8, 3)), y=rng.standard_normal(8))
    text = "seed: 0\ngamma: 1.0\ndata: {source: file, path: a.npz}\nmodel: {width: 16}\n"
    source = SpecSource.read(spec_file(text))
    plan = plan_sweep(source, {}, [_axis("data.path", "a.npz", "b.npz")])
    files = {p.name for p, _ in plan_inputs(plan, {})}
    assert files == {"spec.yaml", "a.npz", "b.npz"}
    plan = plan_sweep(source, {}, [_axis("gamma", 1.0, 2.0)])
    assert {p.name for p, _ in plan_inputs(plan, {})} == {"spec.yaml", "a.npz"}
