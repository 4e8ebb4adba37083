"""The choice lists that the spec, the CLI and the pipeline share (one place each).

The theorems are ``theory.certificate.Theorem``.
"""

from __future__ import annotations

from enum import StrEnum


class SpectrumMethod(StrEnum):
    """How σ_min, σ_max are computed (``--spectrum``)."""

    auto = "auto"
    dense = "dense"
    iterative = "iterative"


class BetaMethod(StrEnum):
    """Which β the certificate uses (``certify.beta``)."""

    analytic = "analytic"
    local = "local"


class SimulateMethod(StrEnum):
    """How ``simulate`` integrates the deviation flow (``simulate.method``)."""

    auto = "auto"
    expint = "expint"
    dop853 = "dop853"


class SweepMeasure(StrEnum):
    """What a sweep measures at each point (``--measure``): the certificate, or also the
    simulated flow (``flow.*`` columns)."""

    certify = "certify"
    flow = "flow"


class TrainMethod(StrEnum):
    """What training the certificate is about (``train.method``): gradient flow, the
    η → 0 limit (THEORY.md §9), or gradient descent with a step size (§13)."""

    flow = "flow"
    gd = "gd"


class LossConvention(StrEnum):
    """The loss the learning rate applies to (``train.loss``, THEORY.md §13): ½‖r‖²,
    ‖r‖² (PyTorch ``MSELoss(reduction='sum')``), ‖r‖²/m (``MSELoss()``), ½‖r‖²/m."""

    half_sum = "half_sum"
    sum = "sum"
    mse = "mse"
    half_mean = "half_mean"
