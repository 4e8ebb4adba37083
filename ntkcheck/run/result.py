"""The results of a job: one per spec, or a failure with its one-line message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: SpecFailure and the CLI gate load no numerics
    from ..flow.gd import GdSimulation
    from ..flow.simulate import Simulation
    from ..problem import Problem
    from ..theory.certificate import Certificate, Status, Theorem
    from ..theory.gd import GdCertificate
    from .advice import WouldCertify
    from .measure import Estimate


@dataclass(frozen=True)
class ProblemInfo:
    """The problem's shape, as the report and JSON show it (JSON ``problem``: n, outputs,
    rows, d, the family's ``summary`` keys, then init … gamma).

    ``n`` counts points, ``outputs`` C per point, ``rows`` m = n·C (THEORY.md §14).
    """

    n: int
    d: int
    params: int
    activation: str
    summary: Mapping[str, int | float | str]
    init: str
    centered: bool
    f0_zero: bool
    data: str
    gamma: float
    heuristic_size: float | None = None
    outputs: int = 1
    head: str = field(default="", compare=False)  # the model's own description (report)
    tail: str = field(default="", compare=False)

    @classmethod
    def of(cls, p: Problem, gamma: float) -> ProblemInfo:
        m = p.model.info()
        return cls(
            n=p.n,
            d=p.d,
            params=m.params,
            activation=m.activation,
            summary=dict(m.summary),
            init=p.init,
            centered=p.centered,
            f0_zero=p.f0_zero,
            data=p.data,
            gamma=gamma,
            heuristic_size=m.heuristic_size,
            outputs=p.outputs,
            head=m.head,
            tail=m.tail,
        )

    @property
    def rows(self) -> int:
        """m = n·C: the residual's length and the Gram's size (THEORY.md §14)."""
        return self.n * self.outputs

    @property
    def heuristic_gamma(self) -> float | None:
        """The lecture's heuristic scale of γ (THEORY.md §4): n^{3/2} over the family's
        heuristic size (``ModelInfo.heuristic_size``), None where the family has none."""
        return None if self.heuristic_size is None else self.n**1.5 / self.heuristic_size

    def to_dict(self) -> dict[str, Any]:
        """JSON ``problem``: n (points), outputs (C), rows (m = n·C), d, the family's
        summary, then the rest."""
        out: dict[str, Any] = {
            "n": self.n,
            "outputs": self.outputs,
            "rows": self.rows,
            "d": self.d,
            **self.summary,
        }
        out.update(
            init=self.init,
            centered=self.centered,
            f0_zero=self.f0_zero,
            data=self.data,
            gamma=self.gamma,
        )
        return out


@dataclass(frozen=True)
class CertifyResult:
    """Result of ``ntkcheck certify`` (and, with ``simulation``, of ``simulate``) for one spec."""

    spec: str
    name: str
    builtin: bool
    problem: ProblemInfo
    estimate: Estimate
    certificate: Certificate  # the deciding theorem's (``certify.theorem``)
    certificates: dict[Theorem, Certificate] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict, compare=False)
    simulation: Simulation | GdSimulation | None = None
    gamma_line: int | None = None  # where CI annotations point (the spec's `gamma:`)
    overrides: dict[str, Any] = field(default_factory=dict)
    gd: GdCertificate | None = None  # train.method: gd (THEORY.md §13): it decides
    would_certify: WouldCertify | None = None  # not certified: what would (run.advice)

    @property
    def verdict(self) -> Certificate | GdCertificate:
        """The deciding certificate: the GD one when the spec trains by GD, else
        ``certificate`` (``certify.theorem``'s flow certificate)."""
        return self.gd if self.gd is not None else self.certificate

    @property
    def status(self) -> Status:
        """The deciding certificate's status (what the CI gate reads)."""
        return self.verdict.status


@dataclass(frozen=True)
class SpecFailure:
    """A spec that could not be checked: bad spec, bad data, too large, internal error."""

    spec: str
    message: str
    line: int | None = None


Entry = CertifyResult | SpecFailure
