"""ntkcheck: certify that gradient flow on γ·f_θ stays in the lazy (NTK) regime.

Public API (the CLI is one caller of it)::

    from ntkcheck import load_spec, certify_spec
    result = certify_spec(load_spec("spec.yaml"))
    result.certificate.status, result.estimate.sigma_min
"""

from __future__ import annotations

from ._version import __version__
from .activations import ACTIVATIONS, Activation, get_activation
from .certify import (
    Certificate,
    Guarantees,
    Status,
    certified_gammas,
    certify,
    gamma_star,
    radius_B,
    radius_R,
)
from .errors import DataError, EstimationError, NtkcheckError, SpecError
from .estimate import Estimate, FullRank, Spectrum, estimate
from .example import EXAMPLE_YAML, example_spec
from .model import BetaBounds, TwoLayerNetwork, output_factor
from .problem import Problem, build_problem
from .result import CertifyResult, certify_spec
from .spec import LoadedSpec, Spec, load_spec, parse_spec

__all__ = [
    "ACTIVATIONS",
    "EXAMPLE_YAML",
    "Activation",
    "BetaBounds",
    "Certificate",
    "CertifyResult",
    "DataError",
    "Estimate",
    "EstimationError",
    "FullRank",
    "Guarantees",
    "LoadedSpec",
    "NtkcheckError",
    "Problem",
    "Spec",
    "SpecError",
    "Spectrum",
    "Status",
    "TwoLayerNetwork",
    "__version__",
    "build_problem",
    "certified_gammas",
    "certify",
    "certify_spec",
    "estimate",
    "example_spec",
    "gamma_star",
    "get_activation",
    "load_spec",
    "output_factor",
    "parse_spec",
    "radius_B",
    "radius_R",
]
