"""Gradient flow of the true network beside its closed-form linearization (THEORY.md §1, §5, §7).

``deviation`` owns the ODE and its coordinates, ``checks`` compares the path
with C1–C5, ``simulate`` runs both and measures laziness.
"""
