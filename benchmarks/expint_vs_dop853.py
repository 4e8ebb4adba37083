"""ExpRK (ntkcheck.flow.expint) against DOP853 on ntkcheck-like deviation equations.

    python benchmarks/expint_vs_dop853.py            # the cases below (a few minutes)
    python benchmarks/expint_vs_dop853.py --quick    # skip the full-horizon λ_max = 1e4 case

Problems: tests/test_expint.py's LazyProblem — gradient flow of
f(θ) = J0θ + ε·C(1 − cos Mθ) against its linearization, in the deviation e,
n = 8, P = 40, K0's spectrum geometric on [1, λ_max], horizon ntkcheck's auto
T = 2 ln(1e8)/λ_min unless given; 50 checkpoints read from the dense outputs,
hand-stepped as ntkcheck.flow.integrate does. Tolerances: rtol and ntkcheck's
atol = atol_rel·‖r0‖/σ_min/√P with atol_rel = 1e-11; ExpRK also with both ×1000.
Error: max over checkpoints and components of |e − e_ref|, relative to max|e_ref|
(references: DOP853 rtol 1e-13, or Radau rtol 1e-12, atol/100, with the exact
Jacobian when λ_max > 1e3: ~1e-9 relative). Counts: evaluations of F (ExpRK in
full_rhs mode: it adds A·e itself), and ExpRK's calls of the products with J0 / J0ᵀ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_expint import LazyProblem, compare

CASES = [  # (λ_max, ε, horizon or None for ntkcheck's auto horizon)
    (50.0, 1e-3, None),
    (1e4, 1e-3, 1.0),
    (1e4, 1e-3, None),
    (50.0, 1.0, None),
    (1e4, 1.0, 1.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rtol", type=float, default=1e-8)
    args = parser.parse_args()
    head = f"{'λ_max':>6} {'ε':>6} {'T':>5} | {'solver':<16} {'nfev':>7} {'steps':>6}"
    print(head + f" {'rej':>4} {'jvp+vjp':>8} {'error':>8}")
    for lam_max, eps, horizon in CASES:
        if args.quick and lam_max > 1e3 and horizon is None:
            continue
        pb = LazyProblem.make(lam_max=lam_max, eps=eps)
        T = pb.T if horizon is None else horizon
        tag = f"{lam_max:6g} {eps:6g} {T:5.3g} |"
        for loosen in (1.0, 1e3):
            t0 = time.perf_counter()
            c = compare(pb, T, rtol=args.rtol, loosen=loosen, with_dop=loosen == 1.0)
            wall = time.perf_counter() - t0  # includes DOP853 and, once, the reference
            e = c.exp
            name = f"ExpRK ×{loosen:g}"
            print(
                f"{tag} {name:<16} {e.nfev:7d} {e.n_accepted:6d} {e.n_rejected:4d}"
                f" {e.nlinear:8d} {c.err_exp:8.1e}"
            )
            if c.dop is not None:
                d = c.dop
                dop_nfev = d.nfev
                steps = d.n_steps_taken
                blank = " " * 13
                print(f"{tag} {'DOP853':<16} {d.nfev:7d} {steps:6d} {blank} {c.err_dop:8.1e}")
                print(f"{tag} {'ratio nfev':<16} {d.nfev / e.nfev:7.1f}   (wall {wall:.1f} s)")
        print(f"{tag} {'ratio at ×1000':<16} {dop_nfev / c.exp.nfev:7.1f}")


if __name__ == "__main__":
    main()
