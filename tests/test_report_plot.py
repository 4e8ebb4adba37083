"""``report.plot``: ``--plot``'s target is checked before simulating; a simulation's
plot is written with ntkcheck's mark (so a later run may overwrite it)."""

from __future__ import annotations

import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.io.example import example_spec
from ntkcheck.io.output import written_by_ntkcheck
from ntkcheck.report.plot import PLOT_SUFFIXES, check_plot_target, plot_simulation
from ntkcheck.run.job import simulate_spec
from ntkcheck.run.settings import RunSettings


@pytest.mark.parametrize("name", ["a.png", "a.SVG", "a.pdf"])
def test_the_plot_formats(tmp_path, name):
    pytest.importorskip("matplotlib")
    check_plot_target(tmp_path / name)


def test_other_suffixes_are_one_line(tmp_path):
    assert PLOT_SUFFIXES == (".png", ".svg", ".pdf")
    with pytest.raises(NtkcheckError, match=r"--plot .*a\.jpg: the format is taken from"):
        check_plot_target(tmp_path / "a.jpg")


def test_a_simulation_plot_carries_the_mark(tmp_path):
    pytest.importorskip("matplotlib")
    spec = example_spec({"data.n": 8, "data.d": 3, "model.width": 32, "gamma": 1000.0,
                         "simulate.points": 5})  # fmt: skip
    r = simulate_spec(spec, RunSettings(advise=False))
    for name in ("sim.png", "sim.svg"):
        path = tmp_path / name
        plot_simulation(r, path)
        assert path.stat().st_size > 0 and written_by_ntkcheck(path)
