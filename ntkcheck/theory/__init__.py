"""The theorems as functions of plain numbers (THEORY.md §3–§5, §8–§9).

Importing this package loads no spec, YAML, pydantic, model or integrator code, and
no numpy until a bound curve is computed; the closed-form linear flow
(``theory.linear_flow``, scipy.linalg) is imported from its module.
"""

from .certificate import Certificate, Quantities, Reason, Status, Theorem, certify, certify_both
from .gamma_set import Interval, certified_gammas
from .guarantees import STATEMENTS, BoundCurves, Guarantees, bound_curves
from .lecture import gamma_star, lecture_lambda, radius_B, radius_R

__all__ = [
    "STATEMENTS",
    "BoundCurves",
    "Certificate",
    "Guarantees",
    "Interval",
    "Quantities",
    "Reason",
    "Status",
    "Theorem",
    "bound_curves",
    "certified_gammas",
    "certify",
    "certify_both",
    "gamma_star",
    "lecture_lambda",
    "radius_B",
    "radius_R",
]
