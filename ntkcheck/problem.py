"""A problem instance: data and the model at θ0 — plain values, no spec, no γ.

Built from a spec by ``ntkcheck.io.build``; read by the measurement, the flow
and the report. The output scale γ is not the problem's: the pipeline passes it
explicitly (one problem and its γ-free measurement serve every γ of a sweep).
Pickles (for worker processes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.protocol import Model


@dataclass(frozen=True, eq=False)
class Problem:
    """``X`` (n, d), ``y`` (m,), the model at θ0 and ``f0 = f_θ0(X)`` (m,).

    With C ``outputs`` per point the problem has m = n·C rows stacked point-major
    (row ``j·C + c``; THEORY.md §14, docs/DESIGN.md "Several outputs"): ``y`` and
    ``f0`` are flat (m,); ``Y`` is ``y`` as (n, C). ``labels`` (n,) are the class
    indices when the targets encode classes (else None), ``classes`` their names.
    ``f0_zero`` is True when ``f_θ0 ≡ 0`` holds exactly by construction
    (e.g. ``init: symmetric``); then ``f0`` is stored as exact zeros.
    ``centered`` trains ``γ(f_θ − f_θ0)`` (THEORY.md §1).
    """

    name: str
    source: str
    X: np.ndarray
    y: np.ndarray
    data: str  # one-line description of the data
    model: Model
    init: str
    centered: bool
    f0: np.ndarray
    f0_zero: bool
    outputs: int = 1
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        """Points (rows of X)."""
        return int(self.X.shape[0])

    @property
    def rows(self) -> int:
        """m = n·C: the residual's length and the Gram's size (THEORY.md §14)."""
        return self.n * self.outputs

    @property
    def Y(self) -> np.ndarray:
        """The targets as (n, C)."""
        return self.y.reshape(self.n, self.outputs)

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def f0_trained(self) -> np.ndarray:
        """The output that enters the residual at θ0: 0 when centered, else ``f0``."""
        return np.zeros_like(self.f0) if self.centered else self.f0

    @property
    def loss_depends_on_gamma(self) -> bool:
        """False when L0 = ½‖y‖² for every γ (f_θ0 ≡ 0 or centered)."""
        return not (self.centered or self.f0_zero)

    def residual0(self, gamma: float) -> np.ndarray:
        """``r(θ0) = γ f0 − y`` (``−y`` when centered or f_θ0 ≡ 0) at ``gamma``: the
        residual every certificate and the simulation start from."""
        return gamma * self.f0_trained - self.y

    def loss0(self, gamma: float) -> float:
        """``L0(γ) = ½‖γ f0 − y‖²`` (THEORY.md §4); ``½‖y‖²`` when centered or f_θ0 ≡ 0."""
        r0 = self.residual0(gamma)
        return 0.5 * float(r0 @ r0)

    def residual(self, f: np.ndarray, gamma: float) -> np.ndarray:
        """``r = γ f_θ(X) − y`` (centered: ``γ(f_θ(X) − f_θ0(X)) − y``) from f_θ(X)."""
        offset = self.f0 if self.centered else 0.0
        return gamma * (f - offset) - self.y
