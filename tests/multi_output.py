"""Hand-made models with C outputs and the pipeline run at the Problem level (issue 19).

Until the families grow C outputs, the generic pipeline (measure, certify, simulate,
GD, JSON, report) is tested on two models written here, both implementing the model
protocol with rows stacked point-major (row j·C + c, THEORY.md §14):

- the toy family's linear model with C outputs (``tests/toy_family/linear``),
  f_c(x) = s⟨w_c, x⟩: J is constant, K0 = s²XXᵀ ⊗ I_C exactly, β = 0;
- ``ReadoutTanh``: f_c(x) = (1/√N) Σ_i a_ic tanh⟨w_i, x⟩ with a fixed ±1 readout
  matrix a (N × C) and θ = vec(W), W (N × d). It forms the dense Jacobian (tests
  only), and its drift bound is the Frobenius one re-derived for C outputs:
  ‖J_θ − J_θ'‖_F² = Σ_{j,c,i} (a_ic²/N)(σ'(w_i·x_j) − σ'(w'_i·x_j))²‖x_j‖²
  ≤ (C/N)·sup|σ''|²·Σ_i ‖w_i − w'_i‖²·Σ_j ‖x_j‖⁴, so β = sup|σ''|·√(C/N)·(Σ_j ‖x_j‖⁴)^{1/2}.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

import ntkcheck.models
from ntkcheck.choices import TrainMethod
from ntkcheck.models.protocol import BetaSummary, GramError, ModelInfo
from ntkcheck.problem import Problem
from ntkcheck.run.job import certificates_for, gd_certificate_for, simulate_at
from ntkcheck.run.measure import estimate_at, measure
from ntkcheck.run.result import CertifyResult, ProblemInfo
from ntkcheck.theory.certificate import Theorem
from ntkcheck.theory.drift import LipschitzDrift

TOY = Path(__file__).parent / "toy_family"
#: sup|tanh''| = 4/(3√3), at tanh(x) = 1/√3.
TANH_D2 = 4.0 / (3.0 * math.sqrt(3.0))


def linear_model(d: int, outputs: int, *, scale: float = 1.0, seed: int = 0) -> Any:
    """The toy family's linear model with C outputs (its folder put on ``ntkcheck.models``'
    package path, as tests/test_toy_family.py does in a subprocess; not registered)."""
    if str(TOY) not in ntkcheck.models.__path__:
        ntkcheck.models.__path__.append(str(TOY))
    network = __import__("ntkcheck.models.linear.network", fromlist=["build"])
    block = SimpleNamespace(init="gaussian", init_std=None, scale=scale)
    return network.build(block, d, np.random.default_rng(seed), None, outputs)


@dataclass(frozen=True)
class _DenseLin:
    f: np.ndarray
    J: np.ndarray

    def jvp(self, v: np.ndarray) -> np.ndarray:
        return self.J @ v

    def vjp(self, r: np.ndarray) -> np.ndarray:
        return self.J.T @ r

    def gram(self) -> np.ndarray:
        K = self.J @ self.J.T
        return np.triu(K) + np.triu(K, 1).T

    def drift_gram(self, other: Any) -> np.ndarray:
        D = self.J - other.J
        return D @ D.T


@dataclass(frozen=True)
class ReadoutTanh:
    """f_c(x) = (1/√N) Σ_i a_ic tanh⟨w_i, x⟩, readout a (N, C) fixed, W (N, d) trained."""

    W: np.ndarray
    a: np.ndarray

    @property
    def n_params(self) -> int:
        return int(self.W.size)

    @property
    def outputs(self) -> int:
        return int(self.a.shape[1])

    @property
    def theta0(self) -> np.ndarray:
        return self.W.reshape(-1)

    def info(self) -> ModelInfo:
        N, d = self.W.shape
        return ModelInfo(
            family="two_layer",  # the words of a two-layer network (increase model.width)
            params=self.n_params,
            activation="tanh",
            summary={"width": N, "params": self.n_params, "activation": "tanh"},
            heuristic_size=float(N),
            head=f"readout tanh network, N = {N:,}, d = {d}",
            tail="fixed ±1 readout",
        )

    def jacobian(self, X: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(f (m,), J (m, P)) densely: J[(j, c), (i, :)] = a_ic σ'(w_i·x_j) x_j / √N."""
        N, d = self.W.shape
        n, C = X.shape[0], self.outputs
        W = theta.reshape(N, d)
        Z = X @ W.T  # (n, N)
        f = (np.tanh(Z) @ self.a / math.sqrt(N)).reshape(-1)
        dz = 1.0 - np.tanh(Z) ** 2
        J = np.einsum("ic,ji,jk->jcik", self.a, dz, X) / math.sqrt(N)
        return f, J.reshape(n * C, N * d)

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        return self.jacobian(X, self.theta0 if theta is None else theta)[0]

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> _DenseLin:
        return _DenseLin(*self.jacobian(X, self.theta0 if theta is None else theta))

    def gram(self, X: np.ndarray) -> np.ndarray:
        return self.linearize(X).gram()

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        return GramError(X.shape[1] * 2.0**-52 * trace, rigorous=False)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        lin = self.linearize(X)
        return lambda v: lin.jvp(lin.vjp(v))

    def _beta(self, X: np.ndarray) -> float:
        N = self.W.shape[0]
        return (
            TANH_D2 * math.sqrt(self.outputs / N) * math.sqrt(float(np.sum(np.sum(X * X, 1) ** 2)))
        )

    def beta(self, X: np.ndarray) -> BetaSummary:
        b = self._beta(X)
        return BetaSummary(b, "frobenius", {"frobenius": b}, TANH_D2)

    def drift(self, X: np.ndarray) -> LipschitzDrift:
        return LipschitzDrift(self._beta(X))

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> None:
        return None

    def obstruction(self, X: np.ndarray) -> None:
        return None

    def peak_bytes(self, task: str, n: int) -> int:
        m = n * self.outputs
        return 8 * (8 * m * m + 4 * m * self.n_params) + (1 << 16)

    def cache_bytes(self, n: int) -> int:
        return 0

    def gram_flops(self, n: int) -> int:
        return (n * self.outputs) ** 2 * self.n_params


def readout_tanh(d: int, width: int, outputs: int, *, seed: int = 0) -> ReadoutTanh:
    rng = np.random.default_rng(seed)
    return ReadoutTanh(rng.standard_normal((width, d)), rng.choice([-1.0, 1.0], (width, outputs)))


def sphere(n: int, d: int, seed: int = 1) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True) * math.sqrt(d)


def classes_problem(
    model: Any, X: np.ndarray, *, seed: int = 2, centered: bool = True, encoding: str = "onehot"
) -> Problem:
    """A classification problem: labels from a random linear teacher's argmax (every class
    present), targets one-hot (or centered: one-hot − 1/C)."""
    C = model.outputs
    rng = np.random.default_rng(seed)
    labels = np.argmax(X @ rng.standard_normal((X.shape[1], C)), axis=1)
    labels[:C] = np.arange(C)  # every class has a sample
    Y = np.eye(C)[labels]
    if encoding == "centered":
        Y = Y - 1.0 / C
    return make_problem(model, X, Y, labels=labels, centered=centered)


def make_problem(
    model: Any,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    centered: bool = True,
) -> Problem:
    C = model.outputs
    Y = Y.reshape(X.shape[0], C)
    f0 = model.forward(X)
    return Problem(
        name="multi-output",
        source="<test>",
        X=X,
        y=np.ascontiguousarray(Y).reshape(-1),
        data=f"test data, {C} outputs",
        model=model,
        init="gaussian",
        centered=centered,
        f0=f0,
        f0_zero=False,
        outputs=C,
        labels=labels,
        classes=None if labels is None else tuple(str(c) for c in range(C)),
    )


def simulate_block(**kw: Any) -> SimpleNamespace:
    base = {"horizon": "auto", "points": 12, "loss_tol": 1e-8, "method": "auto"}
    return SimpleNamespace(**(base | kw))


def gd_block(lr: float, steps: int, loss: str = "half_sum") -> SimpleNamespace:
    return SimpleNamespace(method=TrainMethod.gd, lr=lr, steps=steps, loss=loss)


def run(
    problem: Problem,
    gamma: float,
    *,
    sp: SimpleNamespace | None = None,
    train: SimpleNamespace | None = None,
) -> CertifyResult:
    """What ``run.job.run_at`` does for a spec, from a Problem: measure, certify at γ (GD
    with ``train``), simulate with ``sp``."""
    measurement = measure(problem)
    est = estimate_at(problem, measurement, gamma)
    certificates = certificates_for(problem, est, gamma)
    gd = gd_certificate_for(problem, est, gamma, train or SimpleNamespace(method=TrainMethod.flow))
    sim = None
    if sp is not None:
        sim = simulate_at(problem, gamma, est, certificates, Theorem.path, sp, gd=gd)
    return CertifyResult(
        spec="<test>",
        name=problem.name,
        builtin=False,
        problem=ProblemInfo.of(problem, gamma),
        estimate=est,
        certificate=certificates[Theorem.path],
        certificates=certificates,
        simulation=sim,
        gd=gd,
    )


def independent_classes(Y: np.ndarray, labels: np.ndarray, r: np.ndarray, r_lin: np.ndarray):
    """(accuracy, accuracy_linear, agreement, margin) from two residuals, written apart from
    ``flow.classes``: the trained outputs r + y, their argmax per point, and the smallest gap
    between a point's two largest outputs (where rounding could flip a prediction)."""
    out, out_lin = (r.reshape(Y.shape) + Y), (r_lin.reshape(Y.shape) + Y)
    p, q = out.argmax(axis=1), out_lin.argmax(axis=1)
    top = np.sort(out, axis=1)
    top_lin = np.sort(out_lin, axis=1)
    margin = min(
        float(np.min(top[:, -1] - top[:, -2])), float(np.min(top_lin[:, -1] - top_lin[:, -2]))
    )
    return float(np.mean(p == labels)), float(np.mean(q == labels)), float(np.mean(p == q)), margin


__all__ = [
    "ReadoutTanh",
    "classes_problem",
    "gd_block",
    "independent_classes",
    "linear_model",
    "make_problem",
    "readout_tanh",
    "run",
    "simulate_block",
    "sphere",
]
