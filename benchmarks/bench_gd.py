"""GD steps of ``flow.gd.simulate_gd`` against a plain NumPy GD loop, in one run.

    python benchmarks/bench_gd.py                          # (n, d, N) = (1024, 64, 16384), tanh
    python benchmarks/bench_gd.py --steps 50 --rounds 3    # more steps and rounds
    python benchmarks/bench_gd.py --n 256 --N 4096         # other sizes

The plain loop is the two-layer network f(x) = s Σ_i a_i σ(⟨w_i, x⟩) written here,
one forward pass and one vjp per step (σ = tanh, in place where NumPy allows):

    Z = X Wᵀ;  T = tanh Z;  r = γ s T a − y;  W −= ηγ ((1 − T²) ⊙ s a ⊙ r)ᵀ X.

``engine`` is ``simulate_gd`` with no certificate (the steps, the norms and the
divergence test), ``engine+checks`` the same run with a (made-up) GdGuarantees, so that
G1, G2 and G5 are evaluated at every step (G5 adds s_k = V(μ^k ⊙ Vᵀr0), n² per step).
The engine's time per step is its ``timing["steps"]`` (the loop without the K0
eigendecomposition and the checkpoints' Grams) over K. The variants alternate round
by round, so that a shared machine's load falls on each alike; the ratio is of the
medians over rounds. Target: engine+checks within 1.5× of the plain loop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ntkcheck.flow.gd import simulate_gd
from ntkcheck.io.build import build_problem
from ntkcheck.run.job import load
from ntkcheck.theory.gd import GdGuarantees


def plain_gd(X, y, W0, a, s, gamma, eta, steps):
    """``steps`` GD steps on ½‖γ f_W(X) − y‖² (f_W0 ≡ 0 by the symmetric init); seconds."""
    W = W0.copy()
    sa = s * a
    start = time.perf_counter()
    for _ in range(steps):
        T = X @ W.T  # (n, N)
        np.tanh(T, out=T)
        r = gamma * s * (T @ a) - y
        np.square(T, out=T)
        np.subtract(1.0, T, out=T)  # σ' = 1 − tanh²
        T *= sa
        G = T.T @ (r[:, None] * X)  # Jᵀr as (N, d)
        G *= -eta * gamma
        W += G
    elapsed = time.perf_counter() - start
    assert np.all(np.isfinite(W))
    return elapsed


def top_eigenvalue(problem, iterations=8):
    """λ_max(K0) by a few power iterations with J0 (for a stable η; not timed)."""
    lin = problem.model.linearize(problem.X)
    v = np.random.default_rng(0).standard_normal(problem.n)
    lam = 0.0
    for _ in range(iterations):
        w = lin.jvp(lin.vjp(v))
        lam = float(np.linalg.norm(w) / np.linalg.norm(v))
        v = w
    return lam


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--N", type=int, default=16384)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    overrides = {"data.n": args.n, "data.d": args.d, "model.width": args.N, "seed": 0}
    problem = build_problem(load(None, overrides))
    model, X, y, gamma = problem.model, problem.X, problem.y, problem.gamma
    lam_max = top_eigenvalue(problem)
    sigma_max = float(np.sqrt(lam_max)) * 1.01
    eta = 1.0 / (gamma**2 * sigma_max**2)  # stability ≈ 1
    r0 = float(np.linalg.norm(problem.residual0()))
    made_up = GdGuarantees(
        loss0=0.5 * r0 * r0, eta=eta, gamma=gamma, descent=0.5, alpha=0.1 * sigma_max,
        Sigma=1.1 * sigma_max, rate=0.999, radius_R=1.0, radius_gd=1.0, h_R=1e-3,
        q=0.999, lam=0.9995, deviation_coef=1e-3,
    )  # fmt: skip

    def engine(guarantees):
        sim = simulate_gd(problem, eta=eta, steps=args.steps, points=2, sigma_min=0.0,
                          sigma_max=sigma_max, guarantees=guarantees, rigorous=True)  # fmt: skip
        assert sim.status == "completed", sim.message
        return sim.timing["steps"], sim

    per_step: dict[str, list[float]] = {"plain": [], "engine": [], "engine+checks": []}
    setup: list[float] = []
    for _ in range(args.rounds):
        W0 = model.theta0.reshape(args.N, args.d)
        plain = plain_gd(X, y, W0, model.a, model.s, gamma, eta, args.steps)
        per_step["plain"].append(plain / args.steps)
        t, sim = engine(None)
        per_step["engine"].append(t / args.steps)
        setup.append(sim.timing["linearized"] + sim.timing["checkpoints"])
        t, _ = engine(made_up)
        per_step["engine+checks"].append(t / args.steps)
    med = {k: statistics.median(v) for k, v in per_step.items()}
    print(
        f"n={args.n} d={args.d} N={args.N}: {args.steps} steps × {args.rounds} rounds, "
        f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    for key, values in per_step.items():
        runs = ", ".join(f"{v * 1e3:.0f}" for v in values)
        print(f"  {key:14s} median {med[key] * 1e3:8.1f} ms/step  (rounds: {runs})")
    print(f"  engine/plain        {med['engine'] / med['plain']:.3f}")
    print(f"  engine+checks/plain {med['engine+checks'] / med['plain']:.3f}  (target ≤ 1.5)")
    print(f"  not in the steps: K0, its eigendecomposition and 2 checkpoints, "
          f"median {statistics.median(setup):.1f} s per run")  # fmt: skip


if __name__ == "__main__":
    main()
