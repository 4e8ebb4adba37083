"""Timing of the activation-flip bound (ntkcheck/models/flips.py).

    python benchmarks/bench_flips.py                      # n=1024, d=64, N=16384, relu
    python benchmarks/bench_flips.py --n 512 --N 4096     # other sizes
    python benchmarks/bench_flips.py --outlier            # one input of norm 1000·√d

Prints the wall time of ``flip_bound`` (best and median of --repeat, same process), the
number of hull segments, the peak resident memory and the load average (the machine may
be shared: compare the load with the core count). --outlier scales one input so that
many neurons need the divide-and-conquer hull (the cascade case of local pruning).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ntkcheck.models.flips import flip_bound, jump_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--N", type=int, default=16384)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--block-values", type=int, default=1 << 21)
    parser.add_argument("--outlier", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d))
    if args.outlier:
        X[0] *= 1000.0
    W = rng.standard_normal((args.N, args.d))
    a = rng.choice([-1.0, 1.0], args.N)
    s = 1.0 / np.sqrt(args.N)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        fb = flip_bound(X, W, a, s, jump_of("relu"), block_values=args.block_values)
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"n={args.n} d={args.d} N={args.N} block_values={args.block_values}"
        f"{' outlier' if args.outlier else ''}: best {min(times):.2f} s,"
        f" median {statistics.median(times):.2f} s over {args.repeat};"
        f" segments {fb.n_segments} ({fb.n_segments / args.N:.1f}/neuron);"
        f" peak RSS {peak_mb:.0f} MB; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(f"h(1) = {fb.h(1.0):.6g}, safe_radius(0.5) = {fb.safe_radius(0.5):.6g}")


if __name__ == "__main__":
    main()
