"""ntkcheck: certify that gradient flow on γ·f_θ stays in the lazy (NTK) regime.

Public API (the CLI is one caller of it)::

    from ntkcheck import load_spec, certify_spec, simulate_spec
    result = certify_spec(load_spec("spec.yaml"))
    result.certificate.status, result.estimate.sigma_min
    simulate_spec(load_spec("spec.yaml")).simulation.checks
    result_dict(result)["certificate"]["message"]  # the JSON, with its sentences

    import ntkcheck  # a PyTorch module on arrays (pip install "ntkcheck[torch]")
    ntkcheck.certify(net, X, y, gamma=1e5).to_dict()["certificate"]["status"]

The result objects carry the JSON's names (``result.estimate.eig_min`` is JSON
``estimate.eig_min``); the JSON's sentences (``message``) are made in ``report``.

Layers, top-down: ``cli`` → ``report`` → ``run`` → ``io`` → ``flow`` →
``problem`` → ``models`` → ``linalg`` → ``theory`` (docs/DESIGN.md).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name → the module that defines it. Loaded on first use (PEP 562), so that
#: ``import ntkcheck.theory`` or ``ntkcheck --version`` loads nothing else.
_EXPORTS = {
    "EXAMPLE_YAML": "ntkcheck.io.example",
    "Certificate": "ntkcheck.theory.certificate",
    "CertifyResult": "ntkcheck.run.result",
    "DataError": "ntkcheck.errors",
    "Estimate": "ntkcheck.run.measure",
    "EstimationError": "ntkcheck.errors",
    "LoadedSpec": "ntkcheck.io.loaded",
    "Measurement": "ntkcheck.run.measure",
    "NtkcheckError": "ntkcheck.errors",
    "Problem": "ntkcheck.problem",
    "Spec": "ntkcheck.io.spec_schema",
    "SpecError": "ntkcheck.errors",
    "SpecFailure": "ntkcheck.run.result",
    "Status": "ntkcheck.theory.certificate",
    "build_problem": "ntkcheck.io.build",
    "certify": "ntkcheck.api",
    "simulate": "ntkcheck.api",
    "certificates_for": "ntkcheck.run.job",
    "certify_spec": "ntkcheck.run.job",
    "RunSettings": "ntkcheck.run.settings",
    "estimate_at": "ntkcheck.run.measure",
    "example_spec": "ntkcheck.io.example",
    "load_spec": "ntkcheck.io.loading",
    "measure": "ntkcheck.run.measure",
    "parse_spec": "ntkcheck.io.loading",
    "result_dict": "ntkcheck.report.document",
    "simulate_spec": "ntkcheck.run.job",
}

__all__ = [
    "EXAMPLE_YAML",
    "Certificate",
    "CertifyResult",
    "DataError",
    "Estimate",
    "EstimationError",
    "LoadedSpec",
    "Measurement",
    "NtkcheckError",
    "Problem",
    "RunSettings",
    "Spec",
    "SpecError",
    "SpecFailure",
    "Status",
    "__version__",
    "build_problem",
    "certificates_for",
    "certify",
    "certify_spec",
    "estimate_at",
    "example_spec",
    "load_spec",
    "measure",
    "parse_spec",
    "result_dict",
    "simulate",
    "simulate_spec",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ntkcheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from .api import certify, simulate
    from .errors import DataError, EstimationError, NtkcheckError, SpecError
    from .io.build import build_problem
    from .io.example import EXAMPLE_YAML, example_spec
    from .io.loaded import LoadedSpec
    from .io.loading import load_spec, parse_spec
    from .io.spec_schema import Spec
    from .problem import Problem
    from .report.document import result_dict
    from .run.job import certificates_for, certify_spec, simulate_spec
    from .run.measure import Estimate, Measurement, estimate_at, measure
    from .run.result import CertifyResult, SpecFailure
    from .theory.certificate import Certificate, Status
