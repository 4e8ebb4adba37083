"""Operators and spectra: dense and iterative eigensolvers, memory plans.

Knows matrices and matrix-vector products, never models.
"""

from .memory import available_bytes, fits, format_bytes, require
from .spectrum import EPS, Spectrum, dense_spectrum, iterative_spectrum

__all__ = [
    "EPS",
    "Spectrum",
    "available_bytes",
    "dense_spectrum",
    "fits",
    "format_bytes",
    "iterative_spectrum",
    "require",
]
