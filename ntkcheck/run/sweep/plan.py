"""A sweep's plan: every point of a grid of spec values × seeds, resolved, and its tasks.

``plan_sweep`` resolves every point of the product of the axes: its overrides, its
seed and γ, and its ``spec_hash`` (or the error that makes it an error row).
``tasks`` groups the points that differ only in γ: the γ-free measurement
(THEORY.md §4: only L0 depends on γ) is made once per group (``compute``). Workers
build data and weights themselves from the spec text and the seed; only the spec
text and the numbers travel.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...choices import SweepMeasure
from ...errors import NtkcheckError, SpecError
from ...io.example import EXAMPLE_YAML
from ...io.grid import MAX_POINTS, Axis, GridError, parse_grid_option
from ...io.loaded import LoadedSpec
from ...io.loading import parse_spec, read_spec_text
from ...io.output import spec_inputs
from ...io.overrides import FlagNames
from ...io.spec_keys import grid_axis, spec_hash, sweep_axes
from ..settings import RunSettings
from ..specs import BUILTIN


@dataclass(frozen=True)
class SpecSource:
    """The spec as text, so that any worker can rebuild every point from it."""

    text: str
    source: str
    base_dir: str
    builtin: bool = False
    flag_names: FlagNames | None = None  # how the caller names its overrides (the CLI's flags)

    @classmethod
    def read(cls, path: Path | None, *, flag_names: FlagNames | None = None) -> SpecSource:
        """The spec file at ``path``, or the built-in example when None."""
        if path is None:
            return cls(EXAMPLE_YAML, BUILTIN, str(Path.cwd()), True, flag_names)
        return cls(read_spec_text(path), str(path), str(path.resolve().parent), False, flag_names)

    def parse(self, overrides: dict[str, Any], flags: dict[str, str] | None = None) -> LoadedSpec:
        return parse_spec(
            self.text,
            source=self.source,
            base_dir=Path(self.base_dir),
            builtin=self.builtin,
            overrides=overrides,
            flags=flags,
            flag_names=self.flag_names,
        )


@dataclass(frozen=True)
class Point:
    """One row of the sweep: grid values, overrides, seed, γ, and its identity.

    ``spec_hash`` hashes the resolved spec; for a point whose spec does not
    validate (``error`` is set) it hashes the spec text and the point's overrides.
    """

    index: int
    values: tuple[tuple[str, Any], ...]
    overrides: tuple[tuple[str, Any], ...]
    seed: Any
    gamma: Any
    spec_hash: str
    error: str | None = None

    @property
    def key(self) -> tuple[str, Any]:
        """The row's identity in a rows file: (spec_hash, seed)."""
        return (self.spec_hash, self.seed)

    def describe(self) -> str:
        """``data.n=32 seed=1`` (for messages)."""
        return " ".join(f"{k}={v}" for k, v in self.values)


@dataclass(frozen=True)
class Plan:
    """Every point of a sweep, in the product's order (first axis slowest)."""

    source: SpecSource
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]
    gd: bool = False  # some point trains by gradient descent: the rows carry gd.* columns

    @property
    def grid_keys(self) -> tuple[str, ...]:
        return tuple(k for a in self.axes for k in a.keys)

    def pending(self, done: Iterable[tuple[str, Any]]) -> list[Point]:
        """The points whose (spec_hash, seed) is not in ``done``."""
        seen = set(done)
        return [p for p in self.points if p.key not in seen]


@dataclass(frozen=True)
class Options:
    """How each point is computed: certify only or also the flow, the spectrum method,
    BLAS threads per point (None: ntkcheck's own policy, ``linalg.threads``, as for
    ``certify``), and whether internal errors raise (``--debug``)."""

    measure: SweepMeasure = SweepMeasure.certify
    spectrum: str = "auto"
    threads: int | None = None
    debug: bool = False

    @property
    def settings(self) -> RunSettings:
        """The run's choices for every point: the spectrum method, no β_loc beside the
        analytic bound, no would-certify search."""
        return RunSettings(spectrum=self.spectrum, advise=False)


@dataclass(frozen=True)
class Task:
    """Points that differ only in γ: one problem, one measurement, one row per γ."""

    source: SpecSource
    points: tuple[Point, ...]
    options: Options


def resolve_axes(loaded: LoadedSpec, grids: Sequence[str], seeds: int | None) -> tuple[Axis, ...]:
    """The sweep's axes: the spec's ``sweep:`` block, extended or overridden by ``--grid``
    (an axis over the same keys replaces the spec's), then the seeds (``--seeds`` over
    ``sweep.seeds``) as the last axis unless ``seed`` is swept explicitly."""
    axes = list(sweep_axes(loaded))
    seen_cli: set[str] = set()
    for item in grids:
        keys, raw = parse_grid_option(item)
        axis = grid_axis(",".join(keys), raw, f"--grid {','.join(keys)}")
        if seen_cli & set(keys):
            raise GridError(f"{axis.origin}: {', '.join(seen_cli & set(keys))} is swept twice")
        seen_cli |= set(keys)
        clash = [a for a in axes if set(a.keys) & set(keys)]
        if clash and set(clash[0].keys) != set(keys):
            raise GridError(
                f"{axis.origin}: {clash[0].origin} links {clash[0].label}; "
                f"sweep the same keys together (--grid {clash[0].label}=…)"
            )
        if clash:
            axes[axes.index(clash[0])] = axis
        else:
            axes.append(axis)
    spec_seeds = loaded.spec.sweep.seeds
    if seeds is not None and "seed" in seen_cli:
        raise GridError("--seeds: seed is also swept by --grid seed=…; give one of them")
    if seeds is not None and seeds < 1:
        raise GridError(f"--seeds: must be a positive number of seeds; got {seeds}")
    count = seeds if seeds is not None else spec_seeds
    if count is not None and "seed" not in seen_cli:
        if seeds is None:
            origin = f"{loaded.source}:{loaded.line_of('sweep', 'seeds')}: sweep.seeds"
        else:
            origin = "--seeds"
        axes = [a for a in axes if "seed" not in a.keys]
        axes.append(Axis(("seed",), tuple((s,) for s in range(count)), origin))
    if not axes:
        raise GridError(
            "nothing to sweep: give --grid KEY=VALUES, --seeds K or a sweep: block in the spec"
        )
    size = math.prod(len(a) for a in axes)
    if size > MAX_POINTS:
        raise GridError(f"the grid has {size:,} points; at most {MAX_POINTS:,}")
    return tuple(axes)


def _as_float(value: Any) -> Any:
    """γ of an error row as the float a certified row has (1 → 1.0)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else value


def _fallback_hash(source: SpecSource, overrides: dict[str, Any]) -> str:
    blob = json.dumps({"spec": source.text, "overrides": overrides}, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def check_axes(source: SpecSource, sets: dict[str, Any], axes: Sequence[Axis]) -> None:
    """Every axis value against the key's schema, alone on the base spec: a value of the
    wrong type or out of range is a ``GridError`` (bad usage). Rules between keys
    (a model block that its family refuses, …) are left to the points (error rows)."""
    for axis in axes:
        flags = dict.fromkeys(axis.keys, axis.origin)
        for values in axis.values:
            try:
                source.parse({**sets, **dict(zip(axis.keys, values, strict=True))}, flags)
            except SpecError as exc:
                if str(exc).startswith(f"{axis.origin}:"):
                    raise GridError(str(exc)) from None


def plan_sweep(source: SpecSource, sets: dict[str, Any], axes: Sequence[Axis]) -> Plan:
    """Every point of the product of ``axes`` on the spec with ``sets``, resolved."""
    base = source.parse(sets)
    check_axes(source, sets, axes)
    points: list[Point] = []
    gd = base.spec.train.method == "gd"
    for index, combo in enumerate(itertools.product(*(a.values for a in axes))):
        values = tuple(
            pair
            for axis, vals in zip(axes, combo, strict=True)
            for pair in zip(axis.keys, vals, strict=True)
        )
        overrides = {**sets, **dict(values)}
        try:
            loaded = source.parse(overrides)
        except NtkcheckError as exc:
            points.append(
                Point(
                    index,
                    values,
                    tuple(overrides.items()),
                    overrides.get("seed", base.spec.seed),
                    _as_float(overrides.get("gamma", base.spec.gamma)),
                    _fallback_hash(source, overrides),
                    error=str(exc),
                )
            )
            continue
        s = loaded.spec
        gd = gd or s.train.method == "gd"
        points.append(Point(index, values, tuple(overrides.items()), s.seed, s.gamma, spec_hash(s)))
    first: dict[tuple[str, Any], Point] = {}
    for p in points:
        other = first.setdefault(p.key, p)
        if other is not p:
            raise GridError(
                f"the points {other.describe()} and {p.describe()} give the same spec; "
                "remove one of the values"
            )
    return Plan(source, tuple(axes), tuple(points), gd)


def plan_inputs(plan: Plan, overrides: dict[str, Any]) -> list[tuple[Path, str]]:
    """The files the sweep reads, each with what it is (``io.output.check_output``): the
    spec, and the data and init files of its points (each point's own where the grid
    sweeps a file key, else the spec's with ``overrides``)."""
    source = plan.source
    inputs: list[tuple[Path, str]] = []  # spec_inputs names the spec itself too
    specs = [source.parse(overrides)]
    if {"data.path", "model.init_path"} & set(plan.grid_keys):
        specs += [source.parse(dict(p.overrides)) for p in plan.points if p.error is None]
    for loaded in specs:
        inputs += spec_inputs(loaded)
    return inputs


def tasks(plan: Plan, points: Sequence[Point], options: Options) -> list[Task]:
    """Group the points to compute by everything but γ (in plan order)."""
    groups: dict[tuple[Any, ...], list[Point]] = {}
    for p in points:
        rest = tuple((k, repr(v)) for k, v in p.overrides if k != "gamma")
        groups.setdefault(rest, []).append(p)
    return [Task(plan.source, tuple(g), options) for g in groups.values()]
