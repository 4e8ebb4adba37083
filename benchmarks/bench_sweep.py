"""Sweep throughput: 64 certify points at (n, d, N) = (256, 32, 4096), --jobs 2 vs --jobs 1.

    python benchmarks/bench_sweep.py                 # 64 points, median of 3 runs each
    python benchmarks/bench_sweep.py --points 128 --repeat 5
    python benchmarks/bench_sweep.py --json out.json

Each run is the command a user types, in a fresh process, timed end to end:

    ntkcheck sweep --set data.n=256 --set data.d=32 --set model.width=4096 \\
        --seeds 64 --jobs J -f json

(the built-in example's tanh network at those sizes; 64 seeds = 64 problems, each
built and measured). ``--jobs 1`` runs the points in the process with every core's
BLAS threads; ``--jobs 2`` starts two workers with one BLAS thread each (forked on
Linux: they inherit the imported NumPy and ntkcheck; their start is included).
A third setting, ``--jobs 1 --threads 1``, shows how much of the difference is BLAS
threading (which suffers most when other processes compete for the cores).
Runs alternate between the two settings so that a change in the machine's load
affects both alike. The target is jobs-2 time ≤ 0.65 × jobs-1 time. The load
average is printed: on a shared machine compare it with the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (256, 32, 4096)
TARGET = 0.65


#: (label, options): the two settings compared, and one that separates BLAS threading.
SETTINGS = (
    ("--jobs 1", ["--jobs", "1"]),
    ("--jobs 2", ["--jobs", "2"]),
    ("--jobs 1 --threads 1", ["--jobs", "1", "--threads", "1"]),
)


def command(points: int, options: list[str]) -> list[str]:
    n, d, N = SIZE
    return [
        sys.executable, "-m", "ntkcheck", "sweep",
        "--set", f"data.n={n}", "--set", f"data.d={d}", "--set", f"model.width={N}",
        "--seeds", str(points), *options, "-f", "json",
    ]  # fmt: skip


def run_once(points: int, options: list[str]) -> tuple[float, list[dict[str, object]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(command(points, options), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr.strip()}")
    rows = json.loads(proc.stdout)["rows"]
    return wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label, _ in SETTINGS}
    compute: dict[str, list[float]] = {label: [] for label, _ in SETTINGS}
    for _ in range(args.repeat):
        for label, options in SETTINGS:
            wall, rows = run_once(args.points, options)
            times[label].append(wall)
            compute[label].append(sum(float(r["timing.total"]) for r in rows))  # type: ignore[arg-type]
    med = {label: statistics.median(t) for label, t in times.items()}
    ratio = med["--jobs 2"] / med["--jobs 1"]
    load = os.getloadavg()
    print(f"{args.points} certify points at (n, d, N) = {SIZE}, median of {args.repeat} runs")
    print(f"cores {len(os.sched_getaffinity(0))}, load average {load[0]:.2f} {load[1]:.2f}")
    for label, _ in SETTINGS:
        per_point = statistics.median(compute[label]) / args.points
        runs = ", ".join(f"{t:.2f}" for t in times[label])
        print(f"{label:<21} {med[label]:6.2f} s end to end (runs {runs}); "
              f"{per_point * 1e3:.0f} ms per point inside the workers")  # fmt: skip
    verdict = "meets" if ratio <= TARGET else "misses"
    single = med["--jobs 2"] / med["--jobs 1 --threads 1"]
    print(f"jobs 2 / jobs 1 = {ratio:.2f} ({verdict} the target ≤ {TARGET}); "
          f"jobs 2 / (jobs 1, threads 1) = {single:.2f}")  # fmt: skip
    if args.json is not None:
        out = {"size": SIZE, "points": args.points, "times": times, "ratio": ratio, "load": load}
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
