"""Shared test helpers: independent reference computations (never used by the product).

The dense Jacobian here is built by *complex-step differentiation* of a forward
pass written in this file, ∂f/∂θ_k = Im f(θ + i h e_k) / h, which is exact to
machine precision for analytic activations and shares no code with ntkcheck.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from ntkcheck.models.activations import get_activation
from ntkcheck.models.two_layer import TwoLayerNetwork
from ntkcheck.problem import Problem

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class AtGamma:
    """A problem with a γ beside it (the product's ``Problem`` holds none; the pipeline
    passes γ explicitly): ``p.gamma``, ``p.residual0()``, ``p.residual(f)`` for tests."""

    problem: Problem
    gamma: float

    def __getattr__(self, name: str):
        return getattr(self.problem, name)

    def residual0(self):
        return self.problem.residual0(self.gamma)

    def residual(self, f):
        return self.problem.residual(f, self.gamma)


def at_gamma(loaded) -> AtGamma:
    """The problem of a loaded spec at the spec's γ."""
    from ntkcheck.io.build import build_problem

    return AtGamma(build_problem(loaded), loaded.spec.gamma)


SPECS = ROOT / "specs"

# Test-local σ that accept complex arguments (for the complex step).
COMPLEX_SIGMA = {
    "identity": lambda z: z,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "softplus": lambda z: np.log(1.0 + np.exp(z)),
    "erf": special.erf,
    "gelu": lambda z: z * 0.5 * (1.0 + special.erf(z / np.sqrt(2.0))),
    "silu": lambda z: z / (1.0 + np.exp(-z)),
    "sin": np.sin,
    "cos": np.cos,
    "elu": lambda z: np.where(z.real > 0, z, np.exp(z) - 1.0),
    "quadratic": lambda z: 0.5 * z * z,
}
SMOOTH = tuple(COMPLEX_SIGMA)

#: (β, σ_min, σ_max, L0) for the theorems' formulas: an ordinary case, an
#: ill-conditioned one, a tiny β with a large L0.
THEOREM_CASES = [(0.7, 0.5, 2.0, 3.0), (12.0, 1e-3, 40.0, 0.02), (1e-4, 2.0, 2.5, 1e3)]
#: Two evaluations of one formula of a dozen correctly rounded operations agree to a
#: few units in the last place.
FORMULA_REL = 1e-14


def reference_forward(X, W, a, s, sigma):
    """f_W(X) = s Σ_i a_i σ(⟨w_i, x⟩), written independently of ntkcheck."""
    return s * (sigma(X @ W.T) @ a)


def reference_jacobian(X, W, a, s, activation: str, h: float = 1e-30) -> np.ndarray:
    """Dense J (n × N·d) by complex step on ``reference_forward``."""
    sigma = COMPLEX_SIGMA[activation]
    N, d = W.shape
    J = np.empty((X.shape[0], N * d))
    for k in range(N * d):
        E = np.zeros(N * d, dtype=complex)
        E[k] = 1j * h
        J[:, k] = reference_forward(X, W + E.reshape(N, d), a, s, sigma).imag / h
    return J


def explicit_jacobian(net: TwoLayerNetwork, X: np.ndarray, W: np.ndarray | None = None):
    """Dense J from the row formula J[j, (i, :)] = s a_i σ'(⟨w_i, x_j⟩) x_j, by explicit loops.

    Works for every activation (also relu); used where complex step cannot be.
    """
    W = net.W if W is None else W
    n, (N, d) = X.shape[0], W.shape
    J = np.zeros((n, N * d))
    for j in range(n):
        for i in range(N):
            deriv = net.activation.sigma_prime(np.array([W[i] @ X[j]]))[0]
            J[j, i * d : (i + 1) * d] = net.s * net.a[i] * deriv * X[j]
    return J


def random_network(
    activation: str, n: int = 5, d: int = 3, N: int = 6, s: float = 0.7, seed: int = 0
) -> tuple[TwoLayerNetwork, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((N, d)) / np.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=N)
    return TwoLayerNetwork(W=W, a=a, s=s, activation=get_activation(activation)), X


@pytest.fixture
def spec_file(tmp_path):
    """Write a spec text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


MINIMAL = """\
seed: 0
gamma: 100.0
data: {n: 12, d: 4}
model: {width: 64, activation: tanh}
"""
