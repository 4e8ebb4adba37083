"""Sweeps: a grid of spec points × seeds, certified (or simulated) point by point.

``plan_sweep`` resolves every point of the product of the axes: its overrides, its
seed and γ, and its ``spec_hash`` (or the error that makes it an error row).
``tasks`` groups the points that differ only in γ: the γ-free measurement
(THEORY.md §4: only L0 depends on γ) is made once per group, then each γ gets its
estimate and certificates (and, with ``measure="flow"``, its simulation).
``execute`` runs the tasks in this process, in local worker processes (``fork`` on
Linux, else ``spawn``; BLAS threads set per worker) or on a Dask cluster; its
``Outcomes`` come in completion order and, closed early, cancel what has not
started. Workers build data and weights themselves from the spec text and the
seed; only the spec text and the numbers travel.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import signal
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..choices import SweepMeasure
from ..errors import NtkcheckError, SpecError
from ..io.example import EXAMPLE_YAML
from ..io.grid import MAX_POINTS, Axis, GridError, parse_grid_option
from ..io.loaded import LoadedSpec
from ..io.loading import parse_spec, read_spec_text
from ..io.output import spec_inputs
from ..io.overrides import FlagNames
from ..io.spec_keys import grid_axis, spec_hash, sweep_axes
from ..linalg.threads import cap_threads, usable_cores, warm_controller
from .job import Measured, guarded, measure_spec, run_at
from .result import CertifyResult, Entry, SpecFailure
from .specs import BUILTIN

if TYPE_CHECKING:
    from ..flow.gd import GdSimulation
    from ..flow.simulate import Simulation

#: Caps every BLAS/LAPACK operation of ntkcheck (``linalg.threads``), and the
#: OpenMP/BLAS pools of libraries loaded later.
THREAD_VARIABLES = (
    "NTKCHECK_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
#: How the parent asks a local worker to stop the point it computes (after Ctrl-C; None
#: where there is no SIGUSR1: the workers are then killed at once).
STOP_SIGNAL: int | None = getattr(signal, "SIGUSR1", None)
#: How what still runs after the grace is ended.
KILL_SIGNAL: int = getattr(signal, "SIGKILL", signal.SIGTERM)
#: Seconds the workers get, once asked to stop, to give the points they had finished.
STOP_GRACE = 3.0


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


@dataclass(frozen=True)
class Task:
    """Points that differ only in γ: one problem, one measurement, one row per γ."""

    source: SpecSource
    points: tuple[Point, ...]
    options: Options


@dataclass(frozen=True)
class FlowSummary:
    """A simulation in five numbers (THEORY.md §7): maxima over the checkpoints, the
    final loss and the time at which the loss reaches ``loss_tol``·L0 (None if never)."""

    kernel_change_max: float
    weight_change_max: float
    gap_max: float
    final_loss: float
    time_to_tol: float | None


@dataclass(frozen=True)
class Outcome:
    """A point and what became of it. ``lost``: the worker running it died (no row is
    stored for it, so a rerun computes it again)."""

    point: Point
    entry: Entry
    flow: FlowSummary | None = None
    lost: bool = False


# ---------------------------------------------------------------------------- planning


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
    (an odd width with symmetric pairs, …) are left to the points (error rows)."""
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
    inputs = [] if source.builtin else [(Path(source.source), f"the spec {source.source}")]
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


# --------------------------------------------------------------------------- computing


def flow_summary(sim: Simulation | GdSimulation, loss0: float, loss_tol: float) -> FlowSummary:
    """Maxima of the laziness measures over the checkpoints, the final loss, and the first
    time the loss reaches ``loss_tol``·L0 (log-linear between the checkpoints around it;
    for gradient descent the step, THEORY.md §13)."""
    from ..flow.gd import GdSimulation  # loaded already when a GD simulation ran

    loss = sim.loss
    t = sim.step.astype(float) if isinstance(sim, GdSimulation) else sim.t
    target = loss_tol * loss0
    below = np.flatnonzero(loss <= target)
    when: float | None = None
    if below.size:
        k = int(below[0])
        when = float(t[k])
        if k > 0 and loss[k] > 0 and loss[k - 1] > target:
            lo, hi = math.log(loss[k - 1]), math.log(loss[k])
            when = float(t[k - 1] + (t[k] - t[k - 1]) * (math.log(target) - lo) / (hi - lo))

    def top(a: np.ndarray) -> float:
        return float(np.max(a)) if a.size else math.nan

    return FlowSummary(
        kernel_change_max=top(sim.kernel_change),
        weight_change_max=top(sim.weight_change),
        gap_max=top(sim.gap),
        final_loss=float(loss[-1]) if loss.size else math.nan,
        time_to_tol=when,
    )


def _certify_point(
    loaded: LoadedSpec, shared: Measured, options: Options
) -> tuple[CertifyResult, FlowSummary | None]:
    """One γ on a measured problem: what ``certify_spec`` (``simulate_spec``) computes."""
    flow = options.measure is SweepMeasure.flow
    hint = "sweep with --set simulate.horizon=1e-3 (a time) instead"
    result, sim = run_at(loaded, shared, simulate_flow=flow, horizon_hint=hint)
    if sim is None:
        return result, None
    if sim.status == "interrupted":
        # The integrator keeps the checkpoints reached for `simulate`'s report; a sweep
        # row must describe a finished flow (its final loss, its maxima), so a point cut
        # short is no row at all: the interrupt goes on up, and a rerun computes it.
        raise KeyboardInterrupt
    return result, flow_summary(sim, result.estimate.loss0, loaded.spec.simulate.loss_tol)


def compute_task(task: Task) -> list[Outcome]:
    """Every γ of one task (:func:`iter_task`), as a list."""
    return list(iter_task(task))


def iter_task(task: Task) -> Iterator[Outcome]:
    """Every γ of one task, each outcome as soon as it is finished: the problem is built
    and measured once, from the spec text and the seed, wherever this runs. Failures
    become ``SpecFailure`` entries; ``KeyboardInterrupt`` goes on up (the point being
    computed is not finished, and yields nothing)."""
    shared: Measured | Exception | None = None
    label = task.source.source
    for point in task.points:
        if point.error is not None:
            yield Outcome(point, SpecFailure(label, point.error))
            continue
        flow: list[FlowSummary | None] = [None]

        def job(point: Point = point, flow: list[FlowSummary | None] = flow) -> CertifyResult:
            nonlocal shared
            loaded = task.source.parse(dict(point.overrides))
            if shared is None:
                try:
                    shared = measure_spec(loaded, spectrum=task.options.spectrum)
                except Exception as exc:  # every γ of the task fails alike
                    shared = exc
            if isinstance(shared, Exception):
                raise shared
            result, flow[0] = _certify_point(loaded, shared, task.options)
            return result

        entry = guarded(label, job, debug=task.options.debug)
        yield Outcome(point, entry, flow[0] if isinstance(entry, CertifyResult) else None)


# ---------------------------------------------------------------------------- backends


@functools.cache
def limit_blas_threads(threads: int) -> None:
    """Cap this process's BLAS at ``threads`` for good (a worker; once per process).

    ``NTKCHECK_THREADS`` caps every operation that ntkcheck sizes itself
    (``linalg.threads``), threadpoolctl the loaded BLAS libraries for the rest, the
    ``OMP_NUM_THREADS`` family libraries loaded later. BLAS results depend on the
    thread count in the last bits, so every point of a sweep runs with the same count,
    whichever backend runs it.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    cap_threads(threads)


@contextmanager
def _threads_here(threads: int | None) -> Iterator[None]:
    """``limit_blas_threads`` for the duration of a block, in this process (None: as is)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: A worker's stop state: ``asked`` once the parent asked it to stop (``STOP_SIGNAL``),
#: ``computing`` while it computes a task's points.
_STOP = {"asked": False, "computing": False}


def _stop_asked(signum: int, frame: object) -> None:
    """In a worker, the parent's ``STOP_SIGNAL``: interrupt the point being computed (once;
    a task that has not started yet returns at once)."""
    if not _STOP["asked"]:
        _STOP["asked"] = True
        if _STOP["computing"]:
            raise KeyboardInterrupt


def _init_worker(threads: int) -> None:
    """Process-pool initializer: Ctrl-C and SIGTERM are the parent's to handle (a terminal
    sends Ctrl-C to the whole process group; the parent asks its workers to stop with
    ``STOP_SIGNAL``, and kills the ones that do not); BLAS threads capped (threadpoolctl
    for the loaded libraries, the environment for any loaded later)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, if forked
    if STOP_SIGNAL is not None:
        signal.signal(STOP_SIGNAL, _stop_asked)
    _STOP.update(asked=False, computing=False)
    limit_blas_threads(threads)


def _worker_task(task: Task) -> list[Outcome]:
    """A task in a local worker: the points finished before the parent asked it to stop
    (all of them when it does not)."""
    out: list[Outcome] = []
    if _STOP["asked"]:
        return out
    _STOP["computing"] = True
    try:
        for outcome in iter_task(task):
            out.append(outcome)
    except KeyboardInterrupt:
        pass  # stopped: the point being computed is not finished, the others are
    finally:
        _STOP["computing"] = False
    return out


def _warm_up(task: Task) -> None:
    """Import the task's model family and survey the BLAS libraries before forking."""
    from ..models.registry import family

    point = task.points[0]
    if point.error is None:
        with contextlib.suppress(NtkcheckError):  # the point will report it
            family(task.source.parse(dict(point.overrides)).spec.model.architecture)
    warm_controller()


def start_method() -> str:
    """``fork`` on Linux: a worker inherits the imported NumPy and ntkcheck instead of
    importing them again (about half a second per worker, more than most points take);
    ``spawn`` elsewhere (macOS's system libraries are not fork-safe)."""
    import multiprocessing
    import sys

    forkable = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if forkable else "spawn"


def _dask_task(task: Task) -> list[Outcome]:
    """A task on a Dask worker: the worker's BLAS threads capped, then ``compute_task``."""
    limit_blas_threads(task.options.threads or 1)
    return compute_task(task)


def _lost(task: Task, exc: BaseException) -> list[Outcome]:
    message = f"{task.source.source}: the worker running this point died ({type(exc).__name__}"
    message += f": {exc}); rerun to compute it" if str(exc) else "); rerun to compute it"
    return [Outcome(p, SpecFailure(task.source.source, message), lost=True) for p in task.points]


def _serial(work: Sequence[Task], threads: int | None) -> Iterator[list[Outcome]]:
    """In this process, each point as soon as it is finished (Ctrl-C interrupts the point
    being computed; every point before it has been given)."""
    with _threads_here(threads):
        for task in work:
            for outcome in iter_task(task):
                yield [outcome]


class _Backend:
    """Where the tasks run: ``runs()`` gives their outcomes as they come; after an
    interrupt ``rest(grace)`` gives those finished but not given yet; ``stop(kill)``
    cancels (and, after an interrupt, kills) what still runs."""

    def runs(self) -> Iterator[list[Outcome]]:
        raise NotImplementedError

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        return iter(())

    def stop(self, kill: bool) -> None:
        pass


class _Pool(_Backend):
    """Local worker processes (``concurrent.futures``), every task submitted at once (a
    forked pool starts all its workers at the first submission: before the caller starts
    any thread of its own, e.g. a progress bar's)."""

    def __init__(self, work: Sequence[Task], jobs: int, threads: int) -> None:
        import multiprocessing
        import sys
        from concurrent.futures import Future, ProcessPoolExecutor

        method = start_method()
        if method == "fork":  # what every worker would load on its first point, loaded once
            _warm_up(work[0])
        for stream in (sys.stdout, sys.stderr):  # a forked worker must not repeat output
            stream.flush()
        self.pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(threads,),
        )
        self.futures: dict[Future[list[Outcome]], Task] = {}
        self.given: set[Future[list[Outcome]]] = set()
        try:
            for task in work:
                self.futures[self.pool.submit(_worker_task, task)] = task
        except BaseException:  # Ctrl-C while the workers start: none is left behind
            self.stop(kill=True)
            raise

    def runs(self) -> Iterator[list[Outcome]]:
        from concurrent.futures import as_completed

        for future in as_completed(self.futures):
            self.given.add(future)
            try:
                yield future.result()
            except Exception as exc:  # a worker died (out of memory, killed)
                yield _lost(self.futures[future], exc)

    def _signal(self, signum: int) -> None:
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signum)

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        """Ask every worker to stop (``STOP_SIGNAL``: the point it computes is interrupted
        within one right-hand side or one BLAS call), then give, for ``grace`` seconds, the
        points the workers had finished."""
        from concurrent.futures import TimeoutError, as_completed

        for future in self.futures:
            future.cancel()
        if STOP_SIGNAL is None:
            grace = 0.0  # only what has finished already
        else:
            self._signal(STOP_SIGNAL)
        left = [f for f in self.futures if f not in self.given and not f.cancelled()]
        with contextlib.suppress(TimeoutError):
            for future in as_completed(left, timeout=grace):
                self.given.add(future)
                try:
                    yield future.result()
                except BaseException:  # stopped or died: nothing finished to give
                    continue

    def stop(self, kill: bool) -> None:
        # Cancel here, not only through shutdown(cancel_futures=True): the pool's manager
        # thread cancels through a weak reference to the pool, which may be gone by then.
        for future in self.futures:
            future.cancel()
        if kill:
            # After an interrupt nothing still computing is waited for, nor is the pool's
            # manager thread joined: an interrupt may have left one of its locks held.
            self._signal(KILL_SIGNAL)
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            # The workers finish the points in hand and exit; joined here, not in the
            # interpreter's exit (where a Ctrl-C would print a threading traceback).
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask(_Backend):
    """A Dask distributed cluster: every task submitted at once; stopping cancels them and
    closes the client (a task already running on a worker thread runs to its end there)."""

    def __init__(self, work: Sequence[Task], address: str) -> None:
        try:
            import distributed
        except ImportError:
            raise NtkcheckError(
                '--scheduler needs Dask, an optional extra: pip install "ntkcheck[dask]"'
            ) from None
        self.distributed = distributed
        try:
            self.client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise NtkcheckError(f"--scheduler {address}: cannot connect ({exc})") from None
        self.futures: list[Any] = []
        self.given: set[Any] = set()
        try:
            self.futures = [self.client.submit(_dask_task, task, pure=False) for task in work]
        except BaseException:  # Ctrl-C while submitting: cancel what went, close the client
            self.stop(kill=True)
            raise
        self.owner = {f.key: task for f, task in zip(self.futures, work, strict=True)}

    def runs(self) -> Iterator[list[Outcome]]:
        for future in self.distributed.as_completed(self.futures):
            self.given.add(future.key)
            try:
                yield future.result()
            except Exception as exc:  # KilledWorker, a lost connection
                yield _lost(self.owner[future.key], exc)

    def rest(self, grace: float) -> Iterator[list[Outcome]]:
        """The tasks finished on the cluster whose results have not been given yet."""
        for future in self.futures:
            if future.key in self.given or future.status != "finished":
                continue
            self.given.add(future.key)
            try:
                yield future.result(timeout=grace)
            except Exception:  # not fetched in time: computed again on resume
                continue

    def stop(self, kill: bool) -> None:
        with contextlib.suppress(Exception):  # a client already closed, a lost connection
            self.client.cancel(self.futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=2 if kill else None)


class Outcomes(Iterator[Outcome]):
    """The outcomes of :func:`execute`, in completion order. ``close()`` (or leaving a
    ``with`` block) stops the work not yet started, even before the first outcome.

    After a ``KeyboardInterrupt`` in the loop, ``rest()`` gives the outcomes already
    finished (local workers are asked to stop and given ``grace`` seconds), then stops
    everything; a second ``KeyboardInterrupt`` inside it stops at once.
    """

    def __init__(self, runs: Iterator[list[Outcome]], backend: _Backend | None = None) -> None:
        self._outcomes = itertools.chain.from_iterable(runs)
        self._runs = runs
        self._backend = backend
        self._interrupted = False

    def __next__(self) -> Outcome:
        try:
            return next(self._outcomes)
        except StopIteration:
            self.close()
            raise

    def rest(self, grace: float = STOP_GRACE) -> Iterator[Outcome]:
        """After an interrupt: every outcome finished but not given yet; then all stopped
        (and ``close()`` from now on kills what still runs)."""
        self._interrupted = True
        return self._rest(grace)

    def _rest(self, grace: float) -> Iterator[Outcome]:
        try:
            if self._backend is not None:
                for outcomes in self._backend.rest(grace):
                    yield from outcomes
        finally:
            self.close()

    def close(self) -> None:
        close = getattr(self._runs, "close", None)
        if close is not None:  # a generator: run its cleanup
            close()
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.stop(kill=self._interrupted)

    def __enter__(self) -> Outcomes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def execute(work: Sequence[Task], *, jobs: int = 1, scheduler: str | None = None) -> Outcomes:
    """Run ``work``: its outcomes in completion order (close them to stop early).

    ``scheduler``: a Dask distributed scheduler address; else ``jobs`` local worker
    processes (:func:`start_method`), started by this call, or this process when
    ``jobs`` is 1 or there is one task. Every point runs with its task's
    ``options.threads`` BLAS threads; None keeps ntkcheck's own policy in this
    process, and means one per core share in workers.
    """
    if not work:
        return Outcomes(iter(()))
    threads = work[0].options.threads
    backend: _Backend
    if scheduler is not None:
        backend = _Dask(work, scheduler)
    elif jobs <= 1 or len(work) == 1:
        return Outcomes(_serial(work, threads))
    else:
        share = threads or max(1, usable_cores() // jobs)
        backend = _Pool(work, min(jobs, len(work)), share)
    return Outcomes(backend.runs(), backend)
