"""Operators and spectra: dense and iterative eigensolvers, rigorous bounds, memory plans.

Knows matrices and matrix-vector products, never models. Import from the
modules (``linalg.spectrum``, ``linalg.rigorous``, ``linalg.memory``).
"""
