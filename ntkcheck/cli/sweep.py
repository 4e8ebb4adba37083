"""``ntkcheck sweep``: a grid of points computed, written row by row, summarized.

The command's options arrive as a :class:`SweepRequest`; :func:`run_sweep` plans
the points (``run.sweep``), restores the rows already in ``--output-file``, runs
the rest on the chosen backend with a progress bar, writes each row as it comes,
then prints the table (or JSON), the fits and the plot, and returns the exit code.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import SweepMeasure
from ..errors import NtkcheckError
from .gate import EXIT_ERROR, EXIT_INTERRUPTED, say_error, status_exit

if TYPE_CHECKING:
    from ..run.sweep import Outcome, Outcomes

#: Error rows printed on stderr as they come; the rest are in the table and the file.
MAX_ERRORS_SHOWN = 10


@dataclass(frozen=True)
class SweepRequest:
    """What ``ntkcheck sweep`` was asked for (its options, parsed)."""

    spec: Path | None
    grid: tuple[str, ...] = ()
    seeds: int | None = None
    overrides: dict[str, Any] | None = None
    measure: SweepMeasure = SweepMeasure.certify
    fmt: str = "text"  # rich | text | json
    output_file: Path | None = None
    fit: bool = False
    lazy_tol: float = 1e-2
    plot: Path | None = None
    jobs: int | None = None
    threads: int | None = None
    scheduler: str | None = None
    spectrum: str = "auto"
    exit_zero: bool = False
    debug: bool = False
    force: bool = False


def run_sweep(r: SweepRequest) -> int:
    """Run the sweep ``r`` describes; the exit code (as for ``certify``: worst point)."""
    from ..io.output import atomic_target, check_output
    from ..io.rows import open_rows
    from ..linalg.threads import usable_cores
    from ..report import sweep as sweep_report
    from ..report.document import sweep_column_types, sweep_columns, sweep_row
    from ..report.sweep_plot import check_sweep_plot, plot_sweep, x_axis
    from ..run.fit import Fit, Threshold
    from ..run.sweep import (
        Options,
        SpecSource,
        execute,
        plan_inputs,
        plan_sweep,
        resolve_axes,
        tasks,
    )
    from .flags import CLI_FLAG_NAMES

    jobs, threads, seeds, scheduler, plot = r.jobs, r.threads, r.seeds, r.scheduler, r.plot
    output_file, fit, lazy_tol = r.output_file, r.fit, r.lazy_tol
    flow = r.measure is SweepMeasure.flow
    try:
        for flag, value in (("--jobs", jobs), ("--threads", threads), ("--seeds", seeds)):
            if value is not None and value < 1:
                raise NtkcheckError(f"{flag}: must be at least 1; got {value}")
        if not 0 < lazy_tol < float("inf"):
            raise NtkcheckError(f"--lazy-tol: must be a positive number; got {lazy_tol}")
        if scheduler is not None and jobs is not None:
            raise NtkcheckError("--jobs is for local workers; with --scheduler the cluster runs")
        source = SpecSource.read(r.spec, flag_names=CLI_FLAG_NAMES)
        overrides = dict(r.overrides or {})
        axes = resolve_axes(source.parse(overrides), list(r.grid), seeds)
        plan = plan_sweep(source, overrides, axes)
        inputs = plan_inputs(plan, overrides)
        if output_file is not None:  # an existing rows file is resumed, not overwritten
            check_output(output_file, "-o", inputs=inputs, force=True)
        if plot is not None:
            check_output(plot, "--plot", inputs=inputs, force=r.force)
            check_sweep_plot(plot)
            x_axis([dict(p.values) for p in plan.points], plan.grid_keys)
        workers = jobs or usable_cores()
        # None: in this process (--jobs 1), ntkcheck's own thread policy, as certify;
        # in workers, cores // jobs each; on Dask, 1
        per_point = threads or (1 if scheduler else None)
        options = Options(r.measure, r.spectrum, per_point, r.debug)
        rows_file = None
        if output_file is not None:
            types = sweep_column_types(plan, flow)
            rows_file = open_rows(output_file, sweep_columns(plan.grid_keys, flow, plan.gd), types)
    except NtkcheckError as exc:
        say_error(str(exc))
        return EXIT_ERROR
    existing = rows_file.existing if rows_file else []
    stored = {(old["spec_hash"], old["seed"]): old for old in existing}
    rows = {
        p.index: {**stored[p.key], **{k: v for k, v in p.values if k not in ("seed", "gamma")}}
        for p in plan.points
        if p.key in stored
    }
    todo = plan.pending(stored)
    if stored:
        print(
            f"ntkcheck: {len(rows)} of {len(plan.points)} points already in "
            f"{output_file}; computing {len(todo)}",
            file=sys.stderr,
        )
    lost = 0
    outcomes: Outcomes | None = None
    complete = False  # every point computed: the rows file is rewritten in grid order
    place = {p.key: p.index for p in plan.points}

    def rank(row: Mapping[str, Any]) -> int:
        return place.get((row["spec_hash"], row["seed"]), len(place))

    def record(outcome: Outcome) -> None:
        nonlocal lost
        row = sweep_row(outcome, plan.grid_keys, flow, plan.gd)
        if rows_file is not None and not outcome.lost:
            rows_file.append(row)
        lost += outcome.lost
        rows[outcome.point.index] = row

    try:
        # local workers start here, before the progress bar's thread (they may be forked)
        outcomes = execute(tasks(plan, todo, options), jobs=workers, scheduler=scheduler)
        with _sweep_progress(len(todo), plan.grid_keys) as tick:
            for outcome in outcomes:
                record(outcome)
                tick(rows[outcome.point.index])
        complete = True
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (cli.run turns it into one)
        # Every finished point is written; the ones cut short are not (a rerun computes
        # them). A second interrupt while the workers hand in their finished points
        # stops at once: the rows written so far stay.
        if outcomes is not None:
            finished = outcomes.rest()
            try:
                for outcome in finished:
                    record(outcome)
            except KeyboardInterrupt:
                pass
            finally:
                outcomes.close()
        where = f"; rerun the same command to resume from {output_file}" if output_file else ""
        print(
            f"ntkcheck: interrupted after {len(rows)} of {len(plan.points)} points{where}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except NtkcheckError as exc:  # the scheduler could not be reached
        say_error(str(exc))
        return EXIT_ERROR
    finally:
        if outcomes is not None:
            outcomes.close()
        if rows_file is not None:
            rows_file.close(rank if complete else None)
    ordered = [rows[i] for i in sorted(rows)]
    fits: list[Fit] = []
    thresholds: list[Threshold] = []
    if fit or plot is not None:
        fits, thresholds = sweep_report.analyse(
            ordered, plan.grid_keys, flow=flow, lazy_tol=lazy_tol
        )
    shown = (fits, thresholds) if fit else ([], [])
    if r.fmt == "json":
        sys.stdout.write(sweep_report.render_json(ordered, *shown))
    elif r.fmt == "rich" and sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        for item in sweep_report.sweep_renderables(
            ordered, plan.grid_keys, *shown, lazy_tol=lazy_tol
        ):
            console.print(item)
    elif r.fmt == "rich":
        sys.stdout.write(
            sweep_report.render_rich(ordered, plan.grid_keys, *shown, lazy_tol=lazy_tol)
        )
    else:
        sys.stdout.write(
            sweep_report.render_text(ordered, plan.grid_keys, *shown, lazy_tol=lazy_tol)
        )
    if output_file is not None:
        print(f"ntkcheck: rows in {output_file}", file=sys.stderr)
    if plot is not None:
        with atomic_target(plot) as tmp:
            plot_sweep(ordered, plan.grid_keys, fits, thresholds, tmp, lazy_tol=lazy_tol)
        print(f"ntkcheck: wrote plot to {plot}", file=sys.stderr)
    if lost:
        say_error(f"{lost} points were not computed (a worker died); rerun the same command")
    statuses = {row["status"] for row in ordered}
    return status_exit(statuses, ("not_certified", "not_applicable"), r.exit_zero, errors=lost > 0)


@contextmanager
def _sweep_progress(
    total: int, keys: tuple[str, ...]
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A progress bar on stderr when it is a terminal; error rows as one line each."""
    errors = 0

    def note(row: dict[str, Any], say: Callable[[str], None]) -> None:
        nonlocal errors
        if row["status"] != "error":
            return
        errors += 1
        if errors <= MAX_ERRORS_SHOWN:
            where = " ".join(f"{k}={row[k]}" for k in keys)
            say(f"ntkcheck: error: [{where}] {row['error']}")
        elif errors == MAX_ERRORS_SHOWN + 1:
            say("ntkcheck: more errors: see the error column")

    if not sys.stderr.isatty() or total == 0:  # no rich to load for a pipe or a log
        yield lambda row: note(row, lambda line: print(line, file=sys.stderr))
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    start, done = time.monotonic(), 0
    with Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sweep", total=total, failed=0, eta="-:--:--")

        def tick(row: dict[str, Any]) -> None:
            # rows come in bursts (one task: every γ of a point), so the time left is
            # the mean time per row so far, not rich's recent speed
            nonlocal done
            done += 1
            note(row, lambda line: bar.console.print(line, markup=False, highlight=False))
            left = round((time.monotonic() - start) / done * (total - done))
            eta = f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
            bar.update(task, advance=1, failed=errors, eta=eta)

        yield tick
