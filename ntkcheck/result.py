"""One entry point per job: spec → problem → estimate → certificate (DESIGN.md)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._version import __version__
from .certify import Certificate, certify
from .estimate import Estimate, estimate
from .flow import Progress
from .problem import Problem, build_problem
from .simulate import Simulation, simulate
from .spec import LoadedSpec

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ProblemInfo:
    """The problem's shape, as the report and JSON show it (DESIGN.md ``problem``)."""

    n: int
    d: int
    width: int
    params: int
    activation: str
    scaling: str
    init: str
    centered: bool
    f0_zero: bool
    data: str
    gamma: float

    @classmethod
    def of(cls, p: Problem) -> ProblemInfo:
        net = p.network
        return cls(
            n=p.data.n,
            d=p.data.d,
            width=net.width,
            params=net.n_params,
            activation=net.activation.name,
            scaling=p.scaling,
            init=p.init,
            centered=p.centered,
            f0_zero=p.f0_zero,
            data=p.data.description,
            gamma=p.gamma,
        )

    @property
    def heuristic_gamma(self) -> float:
        """The lecture's heuristic scale n^{3/2}/N (THEORY.md §4)."""
        return self.n**1.5 / self.width


@dataclass(frozen=True)
class CertifyResult:
    """Result of ``ntkcheck certify`` for one spec."""

    spec: str
    name: str
    builtin: bool
    problem: ProblemInfo
    estimate: Estimate
    certificate: Certificate
    timing: dict[str, float] = field(default_factory=dict, compare=False)
    simulation: Simulation | None = None
    gamma_line: int | None = None  # where CI annotations point (the spec's `gamma:`)
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with DESIGN.md's key paths (∞ → None, see ``message``)."""
        est, cert = self.estimate, self.certificate
        estimate_d: dict[str, Any] = {
            "sigma_min": est.sigma_min,
            "sigma_max": est.sigma_max,
            "loss0": est.loss0,
            "f0_norm": est.f0_norm,
            "beta": est.beta,
            "beta_method": est.beta_method,
            "beta_bound": est.beta_bound,
            "beta_bounds": asdict(est.beta_bounds),
            "spectrum_method": est.spectrum.method,
            "spectrum": {
                "operator": est.spectrum.operator,
                "n_matvec": est.spectrum.n_matvec,
                "residual_min": est.spectrum.residual_min,
                "residual_max": est.spectrum.residual_max,
                "relative_error_bound": est.spectrum.relative_error_bound,
            },
            "condition_number": est.condition_number,
            "eig_min": est.spectrum.eig_min,
            "eig_max": est.spectrum.eig_max,
            "full_rank": est.full_rank.holds,
            "full_rank_reason": est.full_rank.reason or None,
            "lipschitz_derivative": est.lipschitz_derivative,
        }
        if est.beta_local is not None:
            estimate_d["beta_local"] = est.beta_local
            if est.beta_local_info is not None:
                estimate_d["beta_local_info"] = est.beta_local_info.to_dict()
        certificate_d: dict[str, Any] = {
            "gamma": cert.gamma,
            "gamma_star": cert.gamma_star,
            "margin": cert.margin,
            "certified": cert.certified,
            "rigorous": cert.rigorous,
            "status": cert.status.value,
            "gamma_interval": [list(iv) for iv in cert.gamma_interval],
            "radius_R": cert.radius_R,
            "radius_B": cert.radius_B,
            "message": cert.message,
            "lecture_lambda": cert.lecture_lambda,
            "heuristic_gamma": self.problem.heuristic_gamma,
            "guarantees": asdict(cert.guarantees) if cert.guarantees else None,
        }
        out: dict[str, Any] = {
            "spec": self.spec,
            "name": self.name,
            "overrides": self.overrides,
            "problem": asdict(self.problem),
            "estimate": estimate_d,
            "certificate": certificate_d,
        }
        if self.simulation is not None:
            out["simulation"] = self.simulation.to_dict()
        out["timing"] = self.timing
        return _finite_or_none(out)


@dataclass(frozen=True)
class SpecFailure:
    """A spec that could not be checked: bad spec, bad data, too large, internal error."""

    spec: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "error": self.message, "line": self.line}


Entry = CertifyResult | SpecFailure


def _finite_or_none(obj: Any) -> Any:
    """Replace ±∞ and NaN by None recursively (JSON has no infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_none(v) for v in obj]
    return obj


def certify_spec(
    loaded: LoadedSpec, *, with_local_beta: bool = False, spectrum: str = "auto"
) -> CertifyResult:
    """Build the problem, estimate at θ0, certify at the spec's γ; time each stage.

    ``spectrum``: ``auto`` | ``dense`` | ``iterative`` (see ``measure_spectrum``).
    """
    return _run(loaded, simulate_flow=False, with_local_beta=with_local_beta, spectrum=spectrum)


def simulate_spec(
    loaded: LoadedSpec,
    *,
    progress: Progress | None = None,
    with_local_beta: bool = False,
    spectrum: str = "auto",
) -> CertifyResult:
    """Certify, then integrate the true and the linearized flow and check C1–C5 (§5)."""
    return _run(
        loaded,
        simulate_flow=True,
        progress=progress,
        with_local_beta=with_local_beta,
        spectrum=spectrum,
    )


def _run(
    loaded: LoadedSpec,
    *,
    simulate_flow: bool,
    progress: Progress | None = None,
    with_local_beta: bool = False,
    spectrum: str = "auto",
) -> CertifyResult:
    timing: dict[str, float] = {}
    start = time.perf_counter()
    problem = build_problem(loaded)
    timing["problem"] = time.perf_counter() - start
    t = time.perf_counter()
    est = estimate(
        problem,
        beta=loaded.spec.certify.beta,
        with_local_beta=with_local_beta,
        spectrum_method=spectrum,
        seed=loaded.spec.seed,
    )
    timing["estimate"] = time.perf_counter() - t
    t = time.perf_counter()
    cert = certify(
        problem.gamma,
        est,
        activation=problem.network.activation.name,
        centered_or_zero=problem.centered or problem.f0_zero,
    )
    timing["certify"] = time.perf_counter() - t
    sim = None
    if simulate_flow:
        t = time.perf_counter()
        sp = loaded.spec.simulate
        sim = simulate(
            problem,
            est,
            cert,
            horizon=sp.horizon,
            points=sp.points,
            loss_tol=sp.loss_tol,
            progress=progress,
        )
        timing["simulate"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - start
    return CertifyResult(
        spec=loaded.source,
        name=loaded.name,
        builtin=loaded.builtin,
        problem=ProblemInfo.of(problem),
        estimate=est,
        certificate=cert,
        timing=timing,
        simulation=sim,
        gamma_line=loaded.line_of("gamma"),
        overrides=dict(loaded.overrides),
    )


def document(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The top-level JSON document (DESIGN.md): version, schema version, results."""
    return {"ntkcheck_version": __version__, "schema_version": SCHEMA_VERSION, "results": results}
