"""One job per spec: spec → problem → measurement → certificate (→ simulation), timed.

``run_specs`` runs many, turning every failure into a one-line ``SpecFailure``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import TrainMethod
from ..errors import EstimationError, NtkcheckError
from ..io.build import build_problem
from ..io.example import example_spec
from ..io.loaded import LoadedSpec
from ..io.loading import load_spec
from ..io.overrides import FlagNames
from ..models.registry import family_spec
from ..problem import Problem
from ..theory.certificate import Certificate, Quantities, Status, Theorem, certify_both
from ..theory.gd import GdCertificate, certify_gd
from .advice import (
    MAX_SIZE,
    WouldCertify,
    nearest_gamma,
    search_budget,
    search_size,
    size_of,
    trend_size,
)
from .measure import Estimate, Measurement, estimate_at, measure
from .result import CertifyResult, Entry, ProblemInfo, SpecFailure
from .settings import DEFAULT, RunSettings
from .specs import labelled

if TYPE_CHECKING:
    from ..flow.deviation import Progress
    from ..flow.gd import GdSimulation
    from ..flow.simulate import Simulation


def quantities_for(problem: Problem, est: Estimate) -> Quantities:
    """What a theorem reads: the proven σ bounds (THEORY.md §11), L0 and the γ-dependence."""
    m = est.measurement
    return Quantities(
        sigma_min=est.sigma_min_lower,
        sigma_max=est.sigma_max_upper,
        loss0=est.loss0,
        f0_sq=m.f0_norm * m.f0_norm,
        f0_dot_y=m.f0_dot_y,
        y_sq=m.y_norm * m.y_norm,
        full_rank=m.full_rank.holds,
        loss_depends_on_gamma=problem.loss_depends_on_gamma,
    )


def certificates_for(problem: Problem, est: Estimate, gamma: float) -> dict[Theorem, Certificate]:
    """Both theorems' certificates at γ from an estimate at that γ (``estimate_at``).

    The σ's are the bounds a rigorous certificate may rely on (THEORY.md §11); the
    certificate is rigorous when those bounds and the drift bound are.
    """
    m = est.measurement
    q = quantities_for(problem, est)
    return certify_both(gamma, q, m.drift, rigorous=m.drift.rigorous and m.bounds.rigorous)


def gd_certificate_for(
    problem: Problem, est: Estimate, gamma: float, train: Any
) -> GdCertificate | None:
    """The GD certificate (THEORY.md §13) at γ for the spec's ``train:`` block; None for
    gradient flow."""
    if train.method != TrainMethod.gd:
        return None
    m = est.measurement
    return certify_gd(
        gamma,
        train.lr,
        train.loss,
        train.steps,
        problem.rows,  # m = n·C residual entries (MSELoss's mean, THEORY.md §13–§14)
        quantities_for(problem, est),
        m.drift,
        rigorous=m.drift.rigorous and m.bounds.rigorous,
    )


def simulate_at(
    problem: Problem,
    gamma: float,
    est: Estimate,
    certificates: dict[Theorem, Certificate],
    theorem: Theorem,
    sp: Any,
    *,
    progress: Progress | None = None,
    horizon_hint: str = "give a time instead, e.g. --horizon 1e-3",
    gd: GdCertificate | None = None,
    notice: Callable[[str], None] | None = None,
) -> Simulation | GdSimulation:
    """The flow for a certified (or not) problem: ``simulate`` with the spec's ``simulate:``;
    with ``gd`` (``train.method: gd``) gradient descent with its step, for its steps.
    ``notice`` receives one sentence before a flow predicted to take long starts."""
    if gd is None and sp.horizon == "auto" and not est.full_rank.holds:
        code = est.full_rank.code.replace("_", " ")
        raise EstimationError(
            f"simulate.horizon: auto needs σ_min > 0, but (H2) fails ({code}); {horizon_hint}"
        )
    if gd is not None:  # train.method: gd: the configured steps, exactly (THEORY.md §13)
        from ..flow.gd import simulate_gd

        return simulate_gd(
            problem,
            gamma,
            eta=gd.eta,
            steps=gd.steps,
            points=sp.points,
            sigma_min=est.sigma_min_lower,
            sigma_max=est.sigma_max_upper,
            guarantees=gd.guarantees,
            rigorous=gd.rigorous,
            progress=progress,
        )
    from ..flow.simulate import simulate  # scipy.integrate: only when simulating

    return simulate(
        problem,
        gamma,
        sigma_min=est.sigma_min,
        sigma_max=est.sigma_max,
        guarantees={t.value: c.guarantees for t, c in certificates.items()},
        rigorous=certificates[theorem].rigorous,
        theorem=theorem.value,
        horizon=sp.horizon,
        points=sp.points,
        loss_tol=sp.loss_tol,
        progress=progress,
        method=sp.method,
        notice=notice,
    )


def certify_spec(loaded: LoadedSpec, settings: RunSettings = DEFAULT) -> CertifyResult:
    """Build the problem, measure at θ0, certify at the spec's γ; time each stage.

    With ``settings.advise``, when not certified, find what would certify
    (``run.advice``; for the size this certifies the spec again at a few sizes).
    """
    return run_at(measure_spec(loaded, settings), loaded.spec.gamma, settings)[0]


def simulate_spec(
    loaded: LoadedSpec,
    settings: RunSettings = DEFAULT,
    *,
    progress: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> CertifyResult:
    """Certify, then integrate the true and the linearized flow and check C1–C5 (§5).

    ``notice`` receives one sentence before a run predicted to take long starts."""
    shared = measure_spec(loaded, settings)
    return run_at(
        shared, loaded.spec.gamma, settings, simulate_flow=True, progress=progress, notice=notice
    )[0]


@dataclass(frozen=True)
class Measured:
    """A spec's built problem and its γ-free measurement (THEORY.md §4: only L0 depends
    on γ), with the time each took: what every γ of a spec shares. ``loaded`` is the
    spec measured; its γ is never read (:func:`run_at` takes γ), its other keys are
    (``train``, ``simulate``, ``certify.theorem``; the result's labels)."""

    loaded: LoadedSpec
    problem: Problem
    measurement: Measurement
    timing: dict[str, float]


def beta_method(loaded: LoadedSpec, problem: Problem) -> str:
    """``certify.beta``, or ``local`` for a model whose family proves no drift bound
    (THEORY.md §10, "Any model": its certificate is an estimate from β_loc). The built
    model's family decides: a PyTorch module recognised as an mlp is the mlp's."""
    if not family_spec(problem.model.info().family).analytic_beta:
        return "local"
    return str(loaded.spec.certify.beta)


def measure_spec(loaded: LoadedSpec, settings: RunSettings = DEFAULT) -> Measured:
    """Build the problem and measure it at θ0 (σ's, β, the drift bound), timed:
    ``settings.spectrum`` and ``settings.with_local_beta`` are read here."""
    start = time.perf_counter()
    problem = build_problem(loaded)
    return measure_problem(loaded, problem, settings, time.perf_counter() - start)


def measure_problem(
    loaded: LoadedSpec, problem: Problem, settings: RunSettings, built_s: float
) -> Measured:
    """Measure a built ``problem`` of ``loaded`` at θ0, timed (``built_s``: the seconds its
    building took)."""
    start = time.perf_counter()
    measurement = measure(
        problem,
        beta=beta_method(loaded, problem),
        with_local_beta=settings.with_local_beta,
        spectrum_method=settings.spectrum,
        seed=loaded.spec.seed,
    )
    timing = {"problem": built_s, "estimate": time.perf_counter() - start}
    return Measured(loaded, problem, measurement, timing)


def run_at(
    measured: Measured,
    gamma: float,
    settings: RunSettings = DEFAULT,
    *,
    simulate_flow: bool = False,
    progress: Progress | None = None,
    horizon_hint: str | None = None,
    notice: Callable[[str], None] | None = None,
) -> tuple[CertifyResult, Simulation | GdSimulation | None]:
    """γ on a measured problem: L0(γ), both certificates and the GD one (and with
    ``simulate_flow`` the flow), timed. Without ``simulate_flow``, with
    ``settings.advise``, a spec not certified at γ also gets what would certify it
    (``would_certify``; a simulation does not search).

    γ is this argument only: the measured spec's ``gamma`` is not read (a sweep runs
    every γ of a point on one measurement).
    """
    loaded = measured.loaded
    timing = dict(measured.timing)
    problem = measured.problem
    t = time.perf_counter()
    est = estimate_at(problem, measured.measurement, gamma)
    timing["estimate"] += time.perf_counter() - t
    t = time.perf_counter()
    certificates = certificates_for(problem, est, gamma)
    gd = gd_certificate_for(problem, est, gamma, loaded.spec.train)
    theorem = Theorem(loaded.spec.certify.theorem)
    timing["certify"] = time.perf_counter() - t
    sim = None
    if simulate_flow:
        t = time.perf_counter()
        hint = {} if horizon_hint is None else {"horizon_hint": horizon_hint}
        sim = simulate_at(
            problem,
            gamma,
            est,
            certificates,
            theorem,
            loaded.spec.simulate,
            progress=progress,
            gd=gd,
            notice=notice,
            **hint,
        )
        timing["simulate"] = time.perf_counter() - t
    timing["total"] = sum(timing.values())
    result = result_of(loaded, problem, gamma, est, certificates, timing, sim, gd)
    if not simulate_flow and settings.advise and result.verdict.status is Status.not_certified:
        t = time.perf_counter()
        advice = would_certify(loaded, result, settings)
        timing = {**result.timing, "advice": time.perf_counter() - t}
        timing["total"] = sum(v for k, v in timing.items() if k != "total")
        result = replace(result, would_certify=advice, timing=timing)
    return result, sim


def would_certify(
    loaded: LoadedSpec, result: CertifyResult, settings: RunSettings = DEFAULT
) -> WouldCertify:
    """The nearest certified γ, a model size that certifies (half of it does not) and the
    largest certified lr at the result's γ, everything else fixed (``run.advice``)."""
    c = result.verdict
    lr = result.gd.lr_max if result.gd is not None and result.gd.lr_max > 0 else None
    axis = size_of(loaded)
    if axis is None:
        return WouldCertify(nearest_gamma(c), None, lr, False)
    key, size0, even = axis
    gamma = c.gamma
    lo = nearest_gamma(c)
    if lo is not None and gamma < lo:
        ratio = lo / gamma
    else:
        path = result.certificates.get(Theorem.path)
        ratio = path.gamma_star / gamma if path is not None else math.inf
    once = replace(settings, advise=False)
    # a run at size W costs about W/size0 times the spec's own (the Gram is linear in it)
    measured = result.timing.get("problem", 0.0) + result.timing.get("estimate", 0.0)
    budget = search_budget(measured)

    def predicted_s(size: int) -> float:
        return measured * size / size0

    first = trend_size(size0, ratio, even=even)
    if first <= MAX_SIZE and predicted_s(first) > budget:  # the trend's size, unchecked
        return WouldCertify(nearest_gamma(c), first, lr, False, (), size0, key)

    def certifies(size: int) -> bool:
        other = measure_spec(reload(loaded, {key: size}), once)
        return run_at(other, gamma, once)[0].verdict.certified

    try:
        size, runs = search_size(
            size0, ratio, certifies, even=even, budget_s=budget, predicted_s=predicted_s
        )
    except (NtkcheckError, MemoryError):  # a model too large for this machine: no advice
        size, runs = None, ()
    return WouldCertify(nearest_gamma(c), size, lr, size is not None, runs, size0, key)


def reload(loaded: LoadedSpec, extra: dict[str, Any]) -> LoadedSpec:
    """The same spec with more overrides (a file is read again)."""
    overrides = {**loaded.overrides, **extra}
    if loaded.builtin:
        return example_spec(overrides)
    return load_spec(Path(loaded.source), overrides)


def result_of(
    loaded: LoadedSpec,
    problem: Problem,
    gamma: float,
    est: Estimate,
    certificates: dict[Theorem, Certificate],
    timing: dict[str, float],
    sim: Simulation | GdSimulation | None,
    gd: GdCertificate | None = None,
) -> CertifyResult:
    """The result of one spec: the flow certificate is ``certify.theorem``'s; with
    ``train.method: gd`` the GD certificate decides (``CertifyResult.verdict``)."""
    return CertifyResult(
        spec=loaded.source,
        name=loaded.name,
        builtin=loaded.builtin,
        problem=ProblemInfo.of(problem, gamma),
        estimate=est,
        certificate=certificates[Theorem(loaded.spec.certify.theorem)],
        certificates=certificates,
        timing=timing,
        simulation=sim,
        gd=gd,
        gamma_line=loaded.line_of("gamma"),
        overrides=dict(loaded.overrides),
    )


def load(
    spec: Path | None, overrides: dict[str, Any], *, flag_names: FlagNames | None = None
) -> LoadedSpec:
    """The spec at ``spec``, or the built-in example when None (``flag_names``: the
    overrides came from the CLI's flags, and errors name those)."""
    if spec is None:
        return example_spec(overrides, flag_names=flag_names)
    return load_spec(spec, overrides, flag_names=flag_names)


def guarded(label: str, job: Callable[[], CertifyResult], *, debug: bool = False) -> Entry:
    """Run one job; every failure becomes a one-line ``SpecFailure``.

    ``KeyboardInterrupt`` propagates; with ``debug`` so does an internal error.
    """
    try:
        return job()
    except NtkcheckError as exc:
        return SpecFailure(label, labelled(label, exc), exc.line)
    except MemoryError:
        return SpecFailure(label, f"{label}: ran out of memory; reduce data.n or the model's size")
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if debug:
            raise
        msg = (
            f"{label}: internal error ({type(exc).__name__}: {exc}); please report it — "
            "rerun with --debug for the traceback"
        )
        return SpecFailure(label, msg)
