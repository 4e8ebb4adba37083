"""Training accuracy and prediction agreement of a classifier's flow (issue 19, THEORY.md §14).

With class labels the trained output at a checkpoint is ``r + y`` (m,), r the residual:
``r = γf_θ − y`` gives γf_θ, and when centered ``r = γ(f_θ − f_θ0) − y`` gives
γ(f_θ − f_θ0), the model that is trained; so the prediction is read from r without
knowing γ or f_θ0. Reshaped (n, C) point-major (row j·C + c), the predicted class of
point j is ``argmax_c`` of its row (first maximum on ties). For one output (C = 1) with
labels, the class whose target value is nearest to the output (the sign for ±1 targets).

- accuracy: the fraction of points whose predicted class is their label;
- agreement: the fraction of points on which the network and its linearization
  predict the same class (the literature's "prediction agreement").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..problem import Problem
from . import CLASS_ARRAYS

__all__ = ["CLASS_ARRAYS", "ClassRule", "points_text", "rows_text"]


def rows_text(problem: Problem) -> str:
    """``n = 500 points × C = 10 outputs (m = 5,000 rows)`` (THEORY.md §14)."""
    return f"n = {problem.n:,} points × C = {problem.outputs} outputs (m = {problem.rows:,} rows)"


def points_text(problem: Problem) -> str:
    """``n = 64 points`` (one output), else ``rows_text``: what a simulation's memory plan
    names."""
    return f"n = {problem.n:,} points" if problem.outputs == 1 else rows_text(problem)


@dataclass(frozen=True, eq=False)
class ClassRule:
    """How residuals become predicted classes for one problem (``labels`` (n,) indices
    into the C outputs; ``targets`` (n, C) the encoded targets y)."""

    labels: np.ndarray
    targets: np.ndarray

    @classmethod
    def of(cls, problem: Problem) -> ClassRule | None:
        """The problem's rule, or None when its targets are not class labels."""
        if problem.labels is None:
            return None
        return cls(np.asarray(problem.labels, dtype=np.int64), problem.Y)

    def predict(self, r: np.ndarray) -> np.ndarray:
        """The predicted class of each point from the residual r (m,): argmax over the C
        outputs of the trained output r + y (C = 1: the nearest class target)."""
        out = r.reshape(self.targets.shape) + self.targets
        if out.shape[1] > 1:
            return np.argmax(out, axis=1)
        present = np.unique(self.labels)
        values = np.array([self.targets[np.flatnonzero(self.labels == c)[0], 0] for c in present])
        return present[np.argmin(np.abs(out[:, :1] - values[None, :]), axis=1)]

    def accuracy(self, predicted: np.ndarray) -> float:
        """The fraction of points whose predicted class is their label."""
        return float(np.mean(predicted == self.labels)) if predicted.size else 0.0

    def measures(self, r: np.ndarray, r_lin: np.ndarray) -> tuple[float, float, float]:
        """(accuracy of the network, accuracy of its linearization, their agreement)
        from the two residuals at one checkpoint."""
        p, q = self.predict(r), self.predict(r_lin)
        agree = float(np.mean(p == q)) if p.size else 1.0
        return self.accuracy(p), self.accuracy(q), agree
