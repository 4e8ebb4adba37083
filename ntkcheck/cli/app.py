"""The command line: thin Typer commands over ``ntkcheck.run`` and ``ntkcheck.report``.

Exit codes: 0 all certified, 1 any not certified / not applicable, 2 bad input,
bad usage or internal error — always one line on stderr, never a traceback
(unless ``--debug``). ``--fail-on`` and ``--exit-zero`` choose what fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Collection
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._version import __version__
from ..choices import SpectrumMethod, SweepMeasure
from ..errors import NtkcheckError
from ..io.code import ENV as CODE_ENV
from ..io.yaml_lines import YamlError, load_yaml_with_lines
from ..report import DEFAULT_FAILING, MACHINE_FORMATS, render, render_validation, rich_renderables
from ..run.result import CertifyResult, Entry, SpecFailure
from ..run.settings import RunSettings
from ..run.specs import BUILTIN, expand_specs, inputs_of, labelled
from ..theory.certificate import Theorem
from ._malloc import tune_malloc
from .flags import CLI_FLAG_NAMES
from .gate import EXIT_ERROR, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, exit_code, say_error

if TYPE_CHECKING:
    from ..io.loaded import LoadedSpec

# Numerical code (numpy, scipy, the pipeline), rich and pydantic load inside the commands
# that need them: `--version`, `--help`, `validate` and `schema` start fast.

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    invoke_without_command=True,
    rich_markup_mode=None,
    help="Certify that a training configuration is in the lazy (NTK) regime — and prove it.",
)


class Format(StrEnum):
    rich = "rich"
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"
    junit = "junit"
    sarif = "sarif"


class FailOn(StrEnum):
    not_certified = "not-certified"
    not_applicable = "not-applicable"
    error = "error"


FORMAT_HELP = "rich (terminal default), text, json, markdown, github, junit or sarif; "
FORMAT_HELP += "default from NTKCHECK_FORMAT"

GammaOption = Annotated[float | None, typer.Option("--gamma", help="Override the spec's γ.")]
LrOption = Annotated[
    float | None,
    typer.Option("--lr", help="Override train.lr (needs train.method: gd, THEORY.md §13)."),
]
StepsOption = Annotated[
    int | None, typer.Option("--steps", help="Override train.steps (gradient-descent steps K).")
]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Override the spec's seed.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a spec key, e.g. --set model.width=8192 (repeatable)."),
]
FormatOption = Annotated[Format | None, typer.Option("--format", "-f", help=FORMAT_HELP)]
OutputOption = Annotated[
    Path | None, typer.Option("--output-file", "-o", help="Write the report here.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Overwrite an existing file that is not a report ntkcheck wrote (never an input).",
    ),
]
AllowCodeOption = Annotated[
    bool,
    typer.Option(
        "--allow-code",
        help="Run the Python code a spec names (model.architecture: torch's factory); "
        "default: refused, unless NTKCHECK_ALLOW_CODE=1.",
    ),
]
BetaLocalOption = Annotated[
    bool, typer.Option("--beta-local", help="Also estimate the local β at θ0.")
]


TheoremOption = Annotated[
    Theorem | None,
    typer.Option(
        "--theorem",
        help="Which theorem decides (certify.theorem): path (default, THEORY.md §9) or lecture "
        "(§4). Both are reported.",
    ),
]
SpectrumOption = Annotated[
    SpectrumMethod,
    typer.Option(
        "--spectrum",
        help="auto: dense eigvalsh if K0 fits and n ≤ 6000, else Lanczos (matrix-free if need be).",
    ),
]


def _version(value: bool) -> None:
    if value:
        print(f"ntkcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """ntkcheck: is γ·f_θ trained in the lazy regime? (THEORY.md §4)"""
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit(EXIT_OK)


def _choose_format(fmt: Format | None, output_file: Path | None) -> Format:
    """--format, else NTKCHECK_FORMAT, else rich on a terminal and text otherwise."""
    if fmt is not None:
        return fmt
    env = os.environ.get("NTKCHECK_FORMAT")
    if env:
        try:
            return Format(env.strip().lower())
        except ValueError:
            raise NtkcheckError(
                f"NTKCHECK_FORMAT={env!r} is not one of {', '.join(f.value for f in Format)}"
            ) from None
    return Format.rich if output_file is None and sys.stdout.isatty() else Format.text


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set a.b=value`` → ``{"a.b": value}``, the value read as a YAML scalar (safely)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise NtkcheckError(f"--set {item!r}: expected KEY=VALUE, e.g. --set model.width=8192")
        try:
            value, _ = load_yaml_with_lines(text) if text.strip() else (None, {})
        except YamlError as exc:
            raise NtkcheckError(
                f"--set {key}: cannot read the value {text!r}: {exc.detail}"
            ) from None
        if value is None:
            raise NtkcheckError(f"--set {key}: no value given; write --set {key}=VALUE")
        out[key] = value
    return out


@app.command("certify")
def certify_command(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spec files or folders; none: the built-in example.", show_default=False
        ),
    ] = None,
    gamma: GammaOption = None,
    lr: LrOption = None,
    steps: StepsOption = None,
    fmt: FormatOption = None,
    output_file: OutputOption = None,
    seed: SeedOption = None,
    sets: SetOption = None,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option("--fail-on", help="What fails the run (repeatable); default: all three."),
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Report without failing (errors still exit 2).")
    ] = False,
    beta_local: BetaLocalOption = False,
    spectrum: SpectrumOption = SpectrumMethod.auto,
    theorem: TheoremOption = None,
    force: ForceOption = False,
    allow_code: AllowCodeOption = False,
    debug: DebugOption = False,
) -> int:
    """Estimate σ_min, σ_max, L0, β at initialization and certify γ > γ*."""
    from ..io.output import check_output
    from ..run.job import certify_spec, guarded, load

    _allow_code(allow_code)

    settings = RunSettings(spectrum=spectrum.value, with_local_beta=beta_local)
    fmt = _choose_format(fmt, output_file)
    overrides = {
        "gamma": gamma,
        "train.lr": lr,
        "train.steps": steps,
        "seed": seed,
        "certify.theorem": theorem.value if theorem else None,
        **parse_sets(sets),
    }
    targets: list[Path | SpecFailure | None] = [*expand_specs(specs)] if specs else [None]
    if output_file is not None:
        paths = [t for t in targets if isinstance(t, Path)]
        try:
            check_output(
                output_file, "--output-file", inputs=inputs_of(paths, overrides), force=force
            )
        except NtkcheckError as exc:
            say_error(str(exc))
            return EXIT_ERROR
    if not specs:
        print("ntkcheck: no SPEC given: certifying the built-in lecture example", file=sys.stderr)
    entries: list[Entry] = []
    spinner = fmt is Format.rich and sys.stderr.isatty()
    interrupted = False
    try:
        for target in targets:
            if isinstance(target, SpecFailure):
                say_error(target.message)
                entries.append(target)
                continue
            label = BUILTIN if target is None else str(target)

            def job(target: Path | None = target) -> CertifyResult:
                loaded = load(target, overrides, flag_names=CLI_FLAG_NAMES)
                return certify_spec(loaded, settings)

            if spinner:
                from rich.console import Console

                with Console(stderr=True).status(f"certifying {label} …"):
                    entry = guarded(label, job, debug=debug)
            else:
                entry = guarded(label, job, debug=debug)
            if isinstance(entry, SpecFailure):
                say_error(entry.message)
            entries.append(entry)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the specs finished are reported
        interrupted = True
    failing = {f.value.replace("-", "_") for f in (fail_on or list(FailOn))}
    # Errors are on stderr already; human reports repeat them only where they are a
    # complete record (several specs, with the summary line).
    complete = fmt.value in MACHINE_FORMATS or len(entries) > 1
    shown: list[Entry] = (
        entries if complete else [e for e in entries if isinstance(e, CertifyResult)]
    )
    if interrupted:
        where = f" (in {output_file})" if output_file is not None and shown else ""
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop at once
            _emit(shown, fmt, output_file, failing, quiet=True)
        print(
            f"ntkcheck: interrupted after {len(entries)} of {len(targets)} specs; "
            f"the report{where} covers the specs finished",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    _emit(shown, fmt, output_file, failing)
    return exit_code(entries, failing, exit_zero)


def _emit(
    entries: list[Entry],
    fmt: Format,
    output_file: Path | None,
    failing: Collection[str] = DEFAULT_FAILING,
    *,
    quiet: bool = False,
) -> None:
    """The report on stdout, or written (atomically) to ``output_file``."""
    from ..io.output import write_text_atomic

    if not entries:
        return
    if output_file is not None:
        try:
            write_text_atomic(output_file, render(entries, fmt.value, failing))
        except OSError as exc:
            say_error(f"--output-file {output_file}: cannot write: {exc.strerror}")
            raise typer.Exit(EXIT_ERROR) from None
        if not quiet:
            print(f"ntkcheck: wrote {fmt.value} report to {output_file}", file=sys.stderr)
    elif fmt is Format.rich:
        from rich.console import Console

        console = Console()
        for item in rich_renderables(entries):
            console.print(item)
    else:
        sys.stdout.write(render(entries, fmt.value, failing))


def _horizon(value: str | None) -> float | str | None:
    """``--horizon``: a time or ``auto`` (validated with the spec)."""
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        return value  # the spec's validation names it: "--horizon: must be ..."


@app.command("simulate")
def simulate_command(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spec files or folders (YAML); none: the built-in example.", show_default=False
        ),
    ] = None,
    gamma: GammaOption = None,
    lr: LrOption = None,
    steps: StepsOption = None,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="Time T, or auto (simulate.horizon).")
    ] = None,
    points: Annotated[
        int | None, typer.Option("--points", help="Checkpoints (simulate.points).")
    ] = None,
    fmt: FormatOption = None,
    output_file: OutputOption = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save the curves (.png, .svg, .pdf).")
    ] = None,
    seed: SeedOption = None,
    sets: SetOption = None,
    beta_local: BetaLocalOption = False,
    spectrum: SpectrumOption = SpectrumMethod.auto,
    theorem: TheoremOption = None,
    force: ForceOption = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress on stderr (the bar, or a line every few seconds)."
        ),
    ] = False,
    allow_code: AllowCodeOption = False,
    debug: DebugOption = False,
) -> int:
    """Certify, then train the true and the linearized network by gradient flow; check C1–C5."""
    from ..io.output import atomic_target, check_output, same_file
    from ..report.plot import check_plot_target, plot_simulation
    from ..run.job import load

    _allow_code(allow_code)

    targets: list[Path | SpecFailure | None] = [*expand_specs(specs)] if specs else [None]
    spec = targets[0] if len(targets) == 1 and not isinstance(targets[0], SpecFailure) else None
    label = BUILTIN if spec is None else str(spec)
    settings = RunSettings(spectrum=spectrum.value, with_local_beta=beta_local, advise=False)
    try:
        given, fmt = fmt, _choose_format(fmt, output_file)
        if fmt in (Format.junit, Format.sarif, Format.github):
            source = "--format " if given is not None else "NTKCHECK_FORMAT="
            raise NtkcheckError(f"{source}{fmt.value} is for `certify`; use json for simulate")
        overrides = {
            "gamma": gamma,
            "train.lr": lr,
            "train.steps": steps,
            "seed": seed,
            "simulate.horizon": _horizon(horizon),
            "simulate.points": points,
            "certify.theorem": theorem.value if theorem else None,
            **parse_sets(sets),
        }
    except NtkcheckError as exc:
        say_error(labelled(label, exc))
        return EXIT_ERROR
    if plot is not None and len(targets) > 1:
        say_error(f"--plot {plot}: draws one simulation; give one SPEC")
        return EXIT_ERROR
    try:  # never over an input, nor over a file ntkcheck did not write (io.output)
        inputs = inputs_of([t for t in targets if isinstance(t, Path)], overrides)
        if plot is not None and output_file is not None and same_file(plot, output_file):
            raise NtkcheckError(f"--plot {plot}: is also --output-file; give another path")
        for flag, target in (("--output-file", output_file), ("--plot", plot)):
            if target is not None:
                check_output(target, flag, inputs=inputs, force=force)
    except NtkcheckError as exc:
        say_error(str(exc))
        return EXIT_ERROR
    try:
        if plot is not None:
            check_plot_target(plot)
    except NtkcheckError as exc:
        say_error(labelled(label, exc))
        return EXIT_ERROR
    if len(targets) > 1 or isinstance(targets[0], SpecFailure):
        return _simulate_many(
            targets,
            overrides,
            fmt,
            output_file,
            settings,
            debug=debug,
            quiet=quiet,
        )
    try:
        if spec is None:
            print(
                "ntkcheck: no SPEC given: simulating the built-in lecture example", file=sys.stderr
            )
        loaded = load(spec, overrides, flag_names=CLI_FLAG_NAMES)
        result = _simulate_with_progress(loaded, settings, label=label, quiet=quiet)
    except NtkcheckError as exc:
        say_error(labelled(label, exc))
        return EXIT_ERROR
    sim = result.simulation
    assert sim is not None
    interrupted = sim.status == "interrupted"
    _emit([result], fmt, output_file, quiet=interrupted)
    if plot is not None:
        with atomic_target(plot) as tmp:
            plot_simulation(result, tmp)
        if not interrupted:
            print(f"ntkcheck: wrote plot to {plot}", file=sys.stderr)
    if interrupted:
        written = [str(p) for p in (output_file, plot) if p is not None]
        where = f" (in {' and '.join(written)})" if written else ""
        print(
            f"ntkcheck: interrupted: the report{where} covers the checkpoints reached",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if sim.status != "completed":
        say_error(f"{label}: {sim.message}")
        return EXIT_FAIL
    return EXIT_OK if result.verdict.certified and sim.all_hold else EXIT_FAIL


def _simulate_many(
    targets: list[Path | SpecFailure | None],
    overrides: dict[str, Any],
    fmt: Format,
    output_file: Path | None,
    settings: RunSettings,
    *,
    debug: bool,
    quiet: bool = False,
) -> int:
    """``simulate`` over several specs, one after the other: one report (with the summary
    line), the worst exit code; on Ctrl-C the specs finished (and the checkpoints the
    one cut short reached) are reported, and the exit is 130."""
    from ..run.job import guarded, load

    entries: list[Entry] = []
    interrupted = False
    try:
        for target in targets:
            if isinstance(target, SpecFailure):
                say_error(target.message)
                entries.append(target)
                continue
            label = BUILTIN if target is None else str(target)

            def job(target: Path | None = target, label: str = label) -> CertifyResult:
                loaded = load(target, overrides, flag_names=CLI_FLAG_NAMES)
                return _simulate_with_progress(loaded, settings, label=label, quiet=quiet)

            entry = guarded(label, job, debug=debug)
            entries.append(entry)
            if isinstance(entry, SpecFailure):
                say_error(entry.message)
                continue
            sim = entry.simulation
            assert sim is not None
            if sim.status == "interrupted":
                interrupted = True
                break
            if sim.status != "completed":
                say_error(f"{label}: {sim.message}")
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM outside the flow (certifying, measuring)
        interrupted = True
    if interrupted:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop at once
            _emit(entries, fmt, output_file, quiet=True)
        where = f" (in {output_file})" if output_file is not None and entries else ""
        finished = sum(
            1
            for e in entries
            if isinstance(e, SpecFailure)
            or (e.simulation is not None and e.simulation.status != "interrupted")
        )
        print(
            f"ntkcheck: interrupted after {finished} of {len(targets)} specs; "
            f"the report{where} covers the specs finished and the checkpoints reached",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    _emit(entries, fmt, output_file)
    if any(isinstance(e, SpecFailure) for e in entries):
        return EXIT_ERROR
    held = all(
        isinstance(e, CertifyResult)
        and e.simulation is not None
        and e.simulation.status == "completed"
        and e.verdict.certified
        and e.simulation.all_hold
        for e in entries
    )
    return EXIT_OK if held else EXIT_FAIL


#: Seconds between two progress lines when stderr is not a terminal.
PROGRESS_SECONDS = 5.0


def _simulate_with_progress(
    loaded: LoadedSpec, settings: RunSettings, *, label: str, quiet: bool = False
) -> CertifyResult:
    """Run ``simulate_spec`` with progress on stderr: a bar on a terminal, else one line
    every ``PROGRESS_SECONDS``; none with ``quiet``. A flow predicted to take long says so
    first (one line, also with ``quiet``)."""
    from rich.console import Console

    from ..run.job import simulate_spec

    def notice(text: str) -> None:
        print(f"ntkcheck: {label}: {text}", file=sys.stderr, flush=True)

    console = Console(stderr=True)
    train = loaded.spec.train
    gd = train.method == "gd"  # progress(k, L_k): steps done and ½‖r_k‖² (THEORY.md §13)
    points = loaded.spec.simulate.points
    if quiet or not console.is_terminal:
        lines = _progress_lines(label, (train.steps or 0) if gd else points - 1, gd=gd)
        return simulate_spec(loaded, settings, progress=None if quiet else lines, notice=notice)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if gd:
        with Progress(
            TextColumn("gradient descent"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} steps · ½‖r‖² = {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("gd", total=train.steps, loss="—")
            return simulate_spec(
                loaded,
                settings,
                progress=lambda k, loss: bar.update(task, completed=k, loss=f"{loss:.3g}"),
            )
    with Progress(
        TextColumn("integrating gradient flow"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} checkpoints · τ = γ²t = {task.fields[tau]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("flow", total=points - 1, tau="0")
        return simulate_spec(
            loaded,
            settings,
            progress=lambda k, tau: bar.update(task, completed=k, tau=f"{tau:.3g}"),
            notice=lambda text: console.print(f"ntkcheck: {label}: {text}", markup=False),
        )


def _progress_lines(label: str, total: int, *, gd: bool = False) -> Callable[[int, float], None]:
    """A progress callback printing one line to stderr at most every PROGRESS_SECONDS:
    checkpoints and τ reached for the flow, steps and ½‖r‖² for gradient descent."""
    import time

    start = time.monotonic()
    last = [start]

    def progress(k: int, tau: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            where = (
                f"gradient descent: {k:,}/{total:,} steps, ½‖r‖² = {tau:.3g}"
                if gd
                else f"integrating: {k}/{total} checkpoints, τ = γ²t = {tau:.3g}"
            )
            print(f"ntkcheck: {label}: {where}, {now - start:.0f} s", file=sys.stderr, flush=True)

    return progress


class SweepFormat(StrEnum):
    rich = "rich"
    text = "text"
    json = "json"


@app.command()
def sweep(
    spec: Annotated[
        Path | None,
        typer.Argument(help="Spec file (YAML); none: the built-in example.", show_default=False),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="An axis over spec keys (repeatable): KEY=[v1, v2, …], "
            "KEY=logspace(a, b, k[, base=B]), linspace(a, b, k) or range(a, b[, step]); "
            "linked keys: data.n,data.d=[[32, 32], [64, 64]].",
        ),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", help="Repeat every point with seeds 0..K−1.")
    ] = None,
    sets: SetOption = None,
    measure: Annotated[
        SweepMeasure,
        typer.Option("--measure", help="certify, or flow: also simulate each point (flow.*)."),
    ] = SweepMeasure.certify,
    sweep_fmt: Annotated[
        SweepFormat | None,
        typer.Option("--format", "-f", help="rich (terminal default), text or json."),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            "-o",
            help="Write the rows as they come (.csv, .jsonl, .parquet); rerun to resume.",
        ),
    ] = None,
    fit: Annotated[
        bool, typer.Option("--fit", help="Fit power laws on the numeric axes (bootstrap CIs).")
    ] = False,
    lazy_tol: Annotated[
        float, typer.Option("--lazy-tol", help="Lazy: relative kernel change and gap below this.")
    ] = 1e-2,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save γ* and the phase diagram (.png/.svg/.pdf).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Local worker processes (default: cores).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="BLAS threads per point (default: cores // jobs in workers, 1 on Dask, "
            "ntkcheck's own policy with --jobs 1).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run the points on this Dask distributed scheduler."),
    ] = None,
    spectrum: SpectrumOption = SpectrumMethod.auto,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Report without failing (errors still exit 2).")
    ] = False,
    force: ForceOption = False,
    allow_code: AllowCodeOption = False,
    debug: DebugOption = False,
) -> int:
    """Certify (or simulate) every point of a grid of spec values × seeds; fit power laws."""
    from .sweep import SweepRequest, run_sweep

    _allow_code(allow_code)

    try:
        fmt = _choose_format(Format(sweep_fmt.value) if sweep_fmt else None, None)
        if fmt not in (Format.rich, Format.text, Format.json):  # from NTKCHECK_FORMAT
            raise NtkcheckError(f"NTKCHECK_FORMAT={fmt.value}: sweep writes rich, text or json")
        overrides = parse_sets(sets)
    except NtkcheckError as exc:
        say_error(str(exc))
        return EXIT_ERROR
    request = SweepRequest(
        spec=spec,
        grid=tuple(grid or ()),
        seeds=seeds,
        overrides=overrides,
        measure=measure,
        fmt=fmt.value,
        output_file=output_file,
        fit=fit,
        lazy_tol=lazy_tol,
        plot=plot,
        jobs=jobs,
        threads=threads,
        scheduler=scheduler,
        spectrum=spectrum.value,
        exit_zero=exit_zero,
        debug=debug,
        force=force,
    )
    return run_sweep(request)


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files or folders.", show_default=False)],
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="text (default), json or github.")
    ] = None,
    sets: SetOption = None,
) -> int:
    """Check specs against the schema, and that the files they name exist (nothing is
    read from those files, nothing is computed)."""
    from ..io.loading import load_spec
    from ..io.spec_files import check_referenced_files

    fmt = fmt or Format.text
    if fmt not in (Format.text, Format.json, Format.github):
        say_error(f"--format {fmt.value}: validate writes text, json or github")
        return EXIT_ERROR
    overrides = parse_sets(sets)
    rows: list[tuple[str, str | None, int | None]] = []
    for target in expand_specs(specs):
        if isinstance(target, SpecFailure):
            rows.append((target.spec, target.message, None))
            continue
        try:
            check_referenced_files(load_spec(target, overrides, flag_names=CLI_FLAG_NAMES))
            rows.append((str(target), None, None))
        except NtkcheckError as exc:
            rows.append((str(target), labelled(str(target), exc), exc.line))
    bad = [r for r in rows if r[1] is not None]
    for _, problem, _ in bad:
        say_error(str(problem))
    sys.stdout.write(render_validation(rows, fmt.value))
    return EXIT_ERROR if bad else EXIT_OK


@app.command()
def schema(output_file: OutputOption = None, force: ForceOption = False) -> int:
    """Print the JSON Schema of the spec (for editors: yaml-language-server)."""
    from ..io.output import check_output, write_text_atomic
    from ..io.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output_file is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        check_output(output_file, "--output-file", force=force)
        write_text_atomic(output_file, text)
    except NtkcheckError as exc:
        say_error(str(exc))
        return EXIT_ERROR
    except OSError as exc:
        say_error(f"--output-file {output_file}: cannot write: {exc.strerror}")
        return EXIT_ERROR
    print(f"ntkcheck: wrote the spec schema to {output_file}", file=sys.stderr)
    return EXIT_OK


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Where to write the example spec ('-' for stdout).")
    ] = Path("ntkcheck.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> int:
    """Write a commented example spec named after PATH, and the JSON Schema beside it."""
    from ..io.example import SCHEMA_FILE, example_yaml
    from ..io.output import write_text_atomic
    from ..io.schema import spec_json_schema

    if str(path) == "-":  # no name: a spec saved from it is named after its file
        sys.stdout.write(example_yaml(None))
        return EXIT_OK
    if path.exists() and not force:
        say_error(f"{path} exists; use --force to overwrite it or give another PATH")
        return EXIT_ERROR
    schema_path = path.parent / SCHEMA_FILE
    if path.is_dir():
        say_error(f"{path} is a folder; give a file name, e.g. {path / 'ntkcheck.yaml'}")
        return EXIT_ERROR
    try:
        write_text_atomic(path, example_yaml(path.stem))
        if not schema_path.exists() or force:
            text = json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
            write_text_atomic(schema_path, text)
    except OSError as exc:
        say_error(f"{path}: cannot write: {exc.strerror}")
        return EXIT_ERROR
    print(
        f"ntkcheck: wrote {path} (and {schema_path} for editors); run: ntkcheck certify {path}",
        file=sys.stderr,
    )
    return EXIT_OK


def _check_environment() -> None:
    """Bad NTKCHECK_THREADS / NTKCHECK_MEMORY_LIMIT are usage errors, found before any
    spec runs (else every point of a sweep would store the same error row)."""
    from ..linalg.memory import memory_limit
    from ..linalg.threads import thread_override

    thread_override()
    memory_limit()


def _allow_code(allow: bool) -> None:
    """``--allow-code``: code named by a spec may run in this command (``io.code``; the
    environment variable reaches worker processes; ``main`` restores it afterwards)."""
    if allow:
        os.environ[CODE_ENV] = "1"


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, map every failure to one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    tune_malloc()
    allowed_before = os.environ.get(CODE_ENV)
    try:
        with warnings.catch_warnings():
            # NumPy reports overflow and NaN as RuntimeWarnings; they are detected and
            # reported as one clear line, so NumPy's own would only add noise on stderr.
            warnings.simplefilter("ignore", RuntimeWarning)
            _check_environment()
            code = app(args=args, prog_name="ntkcheck", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        print("ntkcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NtkcheckError as exc:  # bad usage before any spec ran (--set, NTKCHECK_*)
        say_error(str(exc))
        return EXIT_ERROR
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        say_error(f"{exc.format_message().strip()}{hint}")
        return EXIT_ERROR
    except Exception as exc:
        if "--debug" in args:
            raise
        say_error(
            f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback"
        )
        return EXIT_ERROR
    finally:  # --allow-code holds for one command, also when main is called in-process
        if allowed_before is None:
            os.environ.pop(CODE_ENV, None)
        else:
            os.environ[CODE_ENV] = allowed_before
    return code if isinstance(code, int) else EXIT_OK
