"""ntkcheck: certify that gradient flow on γ·f_θ stays in the lazy (NTK) regime.

Public API (the CLI is one caller of it)::

    from ntkcheck import load_spec, certify_spec, simulate_spec
    result = certify_spec(load_spec("spec.yaml"))
    result.certificate.status, result.estimate.sigma_min
    simulate_spec(load_spec("spec.yaml")).simulation.checks
"""

from __future__ import annotations

from ._version import __version__
from .activations import ACTIVATIONS, Activation, get_activation
from .beta_local import LocalBeta, local_beta
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
from .estimate import Estimate, FullRank, Spectrum, estimate, measure_spectrum
from .example import EXAMPLE_YAML, example_spec
from .model import BetaBounds, TwoLayerNetwork, output_factor
from .problem import Problem, build_problem
from .result import CertifyResult, SpecFailure, certify_spec, simulate_spec
from .simulate import Check, Simulation, simulate
from .spec import LoadedSpec, Spec, load_spec, parse_spec
from .spectrum import dense_spectrum, iterative_spectrum

__all__ = [
    "ACTIVATIONS",
    "EXAMPLE_YAML",
    "Activation",
    "BetaBounds",
    "Certificate",
    "CertifyResult",
    "Check",
    "DataError",
    "Estimate",
    "EstimationError",
    "FullRank",
    "Guarantees",
    "LoadedSpec",
    "LocalBeta",
    "NtkcheckError",
    "Problem",
    "Simulation",
    "Spec",
    "SpecError",
    "SpecFailure",
    "Spectrum",
    "Status",
    "TwoLayerNetwork",
    "__version__",
    "build_problem",
    "certified_gammas",
    "certify",
    "certify_spec",
    "dense_spectrum",
    "estimate",
    "example_spec",
    "gamma_star",
    "get_activation",
    "iterative_spectrum",
    "load_spec",
    "local_beta",
    "measure_spectrum",
    "output_factor",
    "parse_spec",
    "radius_B",
    "radius_R",
    "simulate",
    "simulate_spec",
]
