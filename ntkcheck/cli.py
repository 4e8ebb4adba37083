"""The command line (DESIGN.md, "Command line contract"): thin wrappers over the library.

Exit codes: 0 all certified, 1 any not certified / not applicable, 2 bad input,
bad usage or internal error — always one line on stderr, never a traceback
(unless ``--debug``).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ._malloc import tune_malloc
from ._version import __version__
from .certify import Status
from .errors import NtkcheckError
from .example import EXAMPLE_YAML, example_spec
from .report import render, rich_renderables
from .report.plot import check_plot_target, plot_simulation
from .result import CertifyResult, certify_spec, simulate_spec
from .spec import LoadedSpec, load_spec

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

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


def _err(message: str) -> None:
    """One line on stderr."""
    print(f"ntkcheck: error: {message}", file=sys.stderr)


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
    if fmt is not None:
        return fmt
    return Format.rich if output_file is None and sys.stdout.isatty() else Format.text


def _load(spec: Path | None, overrides: dict[str, object]) -> LoadedSpec:
    return example_spec(overrides) if spec is None else load_spec(spec, overrides)


class SpectrumMethod(StrEnum):
    auto = "auto"
    dense = "dense"
    iterative = "iterative"


SpectrumOption = Annotated[
    SpectrumMethod,
    typer.Option(
        "--spectrum",
        help="auto: dense eigvalsh if K0 fits and n ≤ 6000, else Lanczos (matrix-free if need be).",
    ),
]
BetaLocalOption = Annotated[
    bool, typer.Option("--beta-local", help="Also estimate the local β at θ0.")
]


def _run_one(
    spec: Path | None, gamma: float | None, seed: int | None, beta_local: bool, spectrum: str
) -> CertifyResult:
    return certify_spec(
        _load(spec, {"gamma": gamma, "seed": seed}), with_local_beta=beta_local, spectrum=spectrum
    )


@app.command()
def certify(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spec files (YAML). None: the built-in lecture example.", show_default=False
        ),
    ] = None,
    gamma: Annotated[float | None, typer.Option("--gamma", help="Override the spec's γ.")] = None,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", "-f", help="rich (terminal default), text, json or markdown."),
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the report here.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the spec's seed.")] = None,
    beta_local: BetaLocalOption = False,
    spectrum: SpectrumOption = SpectrumMethod.auto,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> int:
    """Estimate σ_min, σ_max, L0, β at initialization and certify γ > γ*."""
    fmt = _choose_format(fmt, output_file)
    targets: list[Path | None] = list(specs) if specs else [None]
    if not specs:
        print("ntkcheck: no SPEC given: certifying the built-in lecture example", file=sys.stderr)
    entries: list[CertifyResult | tuple[str, str]] = []
    status = Console(stderr=True)
    for target in targets:
        label = "<built-in example>" if target is None else str(target)
        try:
            if status.is_terminal:
                with status.status(f"certifying {label} …"):
                    entries.append(_run_one(target, gamma, seed, beta_local, spectrum.value))
            else:
                entries.append(_run_one(target, gamma, seed, beta_local, spectrum.value))
        except NtkcheckError as exc:
            msg = str(exc) if str(exc).startswith(label) else f"{label}: {exc}"
            _err(msg)
            entries.append((label, msg))
        except MemoryError:
            msg = f"{label}: ran out of memory; reduce data.n or model.width"
            _err(msg)
            entries.append((label, msg))
        except (KeyboardInterrupt, typer.Abort):
            raise
        except Exception as exc:
            if debug:
                raise
            msg = (
                f"{label}: internal error ({type(exc).__name__}: {exc}); please report it — "
                "rerun with --debug for the traceback"
            )
            _err(msg)
            entries.append((label, msg))
    # Errors are on stderr already; the report repeats them only where it is a
    # complete record (JSON, or a list of several specs with its summary line).
    complete = fmt is Format.json or len(entries) > 1
    shown = entries if complete else [e for e in entries if isinstance(e, CertifyResult)]
    _emit(shown, fmt, output_file)
    return _exit_code(entries)


def _emit(entries: list, fmt: Format, output_file: Path | None) -> None:
    if not entries:
        return
    if output_file is not None:
        try:
            output_file.write_text(render(entries, fmt.value), encoding="utf-8")
        except OSError as exc:
            _err(f"--output-file {output_file}: cannot write: {exc.strerror}")
            raise typer.Exit(EXIT_ERROR) from None
        print(f"ntkcheck: wrote {fmt.value} report to {output_file}", file=sys.stderr)
    elif fmt is Format.rich:
        console = Console()
        for item in rich_renderables(entries):
            console.print(item)
    else:
        sys.stdout.write(render(entries, fmt.value))


def _exit_code(entries: list) -> int:
    if any(not isinstance(e, CertifyResult) for e in entries):
        return EXIT_ERROR
    if all(e.certificate.status is Status.certified for e in entries):
        return EXIT_OK
    return EXIT_FAIL


def _horizon(value: str | None) -> float | str | None:
    """``--horizon``: a time or ``auto`` (validated with the spec)."""
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        return value  # the spec's validation names it: "--horizon: must be ..."


@app.command()
def simulate(
    spec: Annotated[
        Path | None,
        typer.Argument(help="Spec file (YAML); none: the built-in example.", show_default=False),
    ] = None,
    gamma: Annotated[float | None, typer.Option("--gamma", help="Override the spec's γ.")] = None,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="Time T, or auto (simulate.horizon).")
    ] = None,
    points: Annotated[
        int | None, typer.Option("--points", help="Checkpoints (simulate.points).")
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", "-f", help="rich (terminal default), text, json or markdown."),
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the report here.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save the curves (.png, .svg, .pdf).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the spec's seed.")] = None,
    beta_local: BetaLocalOption = False,
    spectrum: SpectrumOption = SpectrumMethod.auto,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> int:
    """Certify, then train the true and the linearized network by gradient flow; check C1–C5."""
    fmt = _choose_format(fmt, output_file)
    label = "<built-in example>" if spec is None else str(spec)
    if spec is None:
        print("ntkcheck: no SPEC given: simulating the built-in lecture example", file=sys.stderr)
    overrides = {
        "gamma": gamma,
        "seed": seed,
        "simulate.horizon": _horizon(horizon),
        "simulate.points": points,
    }
    try:
        if plot is not None:
            check_plot_target(plot)
        loaded = _load(spec, overrides)
        result = _simulate_with_progress(
            loaded, with_local_beta=beta_local, spectrum=spectrum.value
        )
    except NtkcheckError as exc:
        msg = str(exc) if str(exc).startswith(label) else f"{label}: {exc}"
        _err(msg)
        return EXIT_ERROR
    sim = result.simulation
    assert sim is not None
    _emit([result], fmt, output_file)
    if plot is not None:
        plot_simulation(result, plot)
        print(f"ntkcheck: wrote plot to {plot}", file=sys.stderr)
    if sim.status == "interrupted":
        print("ntkcheck: interrupted: the report covers the checkpoints reached", file=sys.stderr)
        return EXIT_INTERRUPTED
    if sim.status != "completed":
        _err(f"{label}: {sim.message}")
        return EXIT_FAIL
    return EXIT_OK if result.certificate.certified and sim.all_hold else EXIT_FAIL


def _simulate_with_progress(loaded: LoadedSpec, **options: object) -> CertifyResult:
    """Run ``simulate_spec`` with a progress bar on stderr when it is a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        return simulate_spec(loaded, **options)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    points = loaded.spec.simulate.points
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
            progress=lambda k, tau: bar.update(task, completed=k, tau=f"{tau:.3g}"),
            **options,
        )


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Where to write the example spec ('-' for stdout).")
    ] = Path("ntkcheck.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> int:
    """Write a commented example spec (the built-in lecture example)."""
    if str(path) == "-":
        sys.stdout.write(EXAMPLE_YAML)
        return EXIT_OK
    if path.exists() and not force:
        _err(f"{path} exists; use --force to overwrite it or give another PATH")
        return EXIT_ERROR
    try:
        path.write_text(EXAMPLE_YAML, encoding="utf-8")
    except OSError as exc:
        _err(f"{path}: cannot write: {exc.strerror}")
        return EXIT_ERROR
    print(f"ntkcheck: wrote {path}; run: ntkcheck certify {path}", file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, map every failure to one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    tune_malloc()
    try:
        code = app(args=args, prog_name="ntkcheck", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        print("ntkcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _err(f"{exc.format_message().strip()}{hint}")
        return EXIT_ERROR
    except Exception as exc:
        if "--debug" in args:
            raise
        _err(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback")
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    sys.exit(main())
