"""ntkcheck benchmarks: certify and simulate against the hardware limit, in one run.

    python benchmarks/bench.py                 # full ladder up to (4096, 100, 65536)
    python benchmarks/bench.py --quick         # small sizes only (a minute)
    python benchmarks/bench.py --json out.json # also write the numbers as JSON

certify, per size (n, d, N), each run in a fresh process (median of --repeat):
  first     time of the first `certify_spec` in a fresh process (BLAS threads
            start, memory is mapped) — what one CLI call pays
  wall      time of a second call in the same process (data, init, blocked
            Gram, spectrum, β), comparable with the warm BLAS timing
  peak      the process's peak resident memory (ru_maxrss)
  blas      the dominant product alone: S Sᵀ by `dsyrk` over the same neuron
            blocks, on random data — the hardware limit for this size
  wall/blas how far from that limit certify runs
  J-build   forming J (n × N·d) explicitly and K = J Jᵀ + eigvalsh, as tools
            that materialize the Jacobian do (only where J fits in memory)
  speed-up  J-build / first (both a single call in a fresh process)

simulate: right-hand-side evaluations per second of the gradient flow, against
the BLAS time of one forward + backward pass (X Wᵀ, Sᵀ(r ⊙ X), S0ᵀ[u⊙X, r̃⊙X]).

--compete: the certify rows again while one CPU-bound process runs (the benchmark
starts and stops it): what a shared CI runner or a busy laptop sees. The BLAS time
of each row is measured under the same load, so the ratio w/b is comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

LADDER = [(256, 16, 4096), (1024, 64, 16384), (2048, 100, 20000), (4096, 100, 65536)]
QUICK = [(256, 16, 4096), (512, 32, 8192)]
SIM_CASES = [(64, 16, 4096), (256, 32, 16384)]

CERTIFY_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    from scipy.linalg import blas
    from ntkcheck import parse_spec, certify_spec
    from ntkcheck.cli._malloc import tune_malloc
    from ntkcheck.models.two_layer.memory import BLOCK_VALUES
    from pathlib import Path
    tune_malloc()
    n, d, N = map(int, sys.argv[1:4])
    text = f"gamma: 100\\ndata: {{n: {n}, d: {d}}}\\nmodel: {{width: {N}, activation: tanh}}\\n"
    spec = parse_spec(text, source="bench", base_dir=Path("."))
    t = time.perf_counter()
    r = certify_spec(spec)
    cold = time.perf_counter() - t  # first call: BLAS threads start, pages are mapped
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    r = certify_spec(spec)
    wall = time.perf_counter() - t
    # the dominant product alone, same blocks: G += S_b S_bᵀ
    step = max(1, min(N, BLOCK_VALUES // n))
    S = np.random.default_rng(0).standard_normal((n, step))
    G = np.zeros((n, n), order="F")
    t = time.perf_counter()
    for start in range(0, N, step):
        b = min(step, N - start)
        G = blas.dsyrk(1.0, S[:, :b].T, beta=1.0, c=G, trans=1, lower=0, overwrite_c=1)
    blas_time = time.perf_counter() - t
    print(json.dumps({"wall": wall, "cold": cold, "peak": peak, "blas": blas_time,
                      "sigma_min": r.estimate.sigma_min, "status": r.certificate.status.value,
                      "spectrum": r.estimate.spectrum.method, "stages": r.timing}))
    """
)

JBUILD_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    from scipy.linalg import blas, eigvalsh
    from ntkcheck import parse_spec, build_problem
    from ntkcheck.cli._malloc import tune_malloc
    from pathlib import Path
    tune_malloc()
    n, d, N = map(int, sys.argv[1:4])
    text = f"gamma: 100\\ndata: {{n: {n}, d: {d}}}\\nmodel: {{width: {N}, activation: tanh}}\\n"
    p = build_problem(parse_spec(text, source="bench", base_dir=Path(".")))
    X, net = p.X, p.model
    t = time.perf_counter()
    S = net.activation.sigma_prime(X @ net.W.T) * (net.s * net.a)
    J = (S[:, :, None] * X[:, None, :]).reshape(n, N * d)  # the n × P Jacobian
    del S
    K = blas.dsyrk(1.0, J)  # J Jᵀ (upper)
    K = np.triu(K) + np.triu(K, 1).T
    lam = eigvalsh(K)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall": wall, "peak": peak, "sigma_min": float(np.sqrt(lam[0]))}))
    """
)

SIM_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from pathlib import Path
    from ntkcheck import parse_spec, build_problem
    from ntkcheck.cli._malloc import tune_malloc
    from ntkcheck.flow.deviation import Deviation
    from ntkcheck.theory.linear_flow import LinearizedFlow
    tune_malloc()
    n, d, N, reps = map(int, sys.argv[1:5])
    text = f"gamma: 100\\ndata: {{n: {n}, d: {d}}}\\nmodel: {{width: {N}, activation: tanh}}\\n"
    p = build_problem(parse_spec(text, source="bench", base_dir=Path(".")))
    X, net = p.X, p.model
    L0 = net.linearize(X)
    lin = LinearizedFlow.from_gram(L0.gram(), p.residual(L0.f), p.gamma)
    rhs = Deviation(p, L0, lin).rhs
    e = 1e-6 * np.random.default_rng(1).standard_normal(net.n_params)
    def median_time(f):
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
        return float(np.median(ts))
    rhs_time = median_time(lambda: rhs(1e-7, e))
    W = net.W + 1e-3
    r = np.ones(n)
    U = np.ones((n, 2 * d))
    blas_time = median_time(lambda: (X @ W.T, L0.S.T @ (r[:, None] * X), L0.S.T @ U))
    print(json.dumps({"rhs": rhs_time, "blas": blas_time}))
    """
)


def _child(code: str, *args: object) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt_bytes(b: float) -> str:
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def bench_certify(sizes, repeat: int, j_limit: float) -> list[dict]:
    rows = []
    for n, d, N in sizes:
        runs = [_child(CERTIFY_CHILD, n, d, N) for _ in range(repeat if n < 4096 else 1)]
        wall = statistics.median(r["wall"] for r in runs)
        cold = statistics.median(r["cold"] for r in runs)
        blas_t = statistics.median(r["blas"] for r in runs)
        row = {
            "n": n, "d": d, "N": N, "P": N * d,
            "wall": wall, "cold": cold, "peak": max(r["peak"] for r in runs), "blas": blas_t,
            "ratio": wall / blas_t, "spectrum": runs[0]["spectrum"],
            "jacobian_bytes": n * N * d * 8, "stages": runs[0]["stages"],
        }  # fmt: skip
        if row["jacobian_bytes"] <= j_limit:  # J-build is timed warm-ish: one call, as a tool does
            jb = _child(JBUILD_CHILD, n, d, N)
            row["jbuild"] = jb["wall"]
            row["jbuild_peak"] = jb["peak"]
            row["speedup"] = jb["wall"] / cold  # both one call in a fresh process
            row["agree"] = abs(jb["sigma_min"] / runs[0]["sigma_min"] - 1)
        rows.append(row)
        _print_certify_row(row)
    return rows


def _print_certify_row(r: dict) -> None:
    jb = (
        f"{r['jbuild']:8.2f} s  {r['speedup']:6.1f}×"
        if "jbuild" in r
        else f"   (J = {_fmt_bytes(r['jacobian_bytes'])}: not built)"
    )
    print(
        f"{r['n']:>5} {r['d']:>4} {r['N']:>6} {r['P']:>9,}  "
        f"{r['cold']:8.2f} s  {r['wall']:8.2f} s  "
        f"{_fmt_bytes(r['peak']):>9}  {r['blas']:7.2f} s  {r['ratio']:5.2f}  {jb}",
        flush=True,
    )


RUN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from ntkcheck import example_spec, simulate_spec
    from ntkcheck.cli._malloc import tune_malloc
    tune_malloc()
    overrides = json.loads(sys.argv[1])
    t = time.perf_counter()
    r = simulate_spec(example_spec(overrides))
    wall = time.perf_counter() - t
    s = r.simulation
    print(json.dumps({"wall": wall, "n_rhs": s.n_rhs, "n_linear": s.n_linear,
                      "method": s.method, "all_hold": s.all_hold,
                      "integrate": s.timing.get("integrate", 0.0)}))
    """
)
#: Whole simulate runs: the built-in example (lazy, κ² ≈ 50) and a narrow network
#: (width 64: the feature regime, where the remainder is not small).
RUN_CASES = {
    "built-in example": {},
    "narrow (N = 64, γ = 1)": {"model.width": 64, "gamma": 1.0},
}


def bench_simulate_runs() -> list[dict]:
    rows = []
    for name, overrides in RUN_CASES.items():
        for method in ("expint", "dop853"):
            r = _child(RUN_CHILD, json.dumps({**overrides, "simulate.method": method}))
            rows.append({"case": name, **r})
            print(
                f"{name:<26} {method:>7}  {r['n_rhs']:>7,} rhs  {r['n_linear']:>6,} J0 products"
                f"  {r['wall']:7.2f} s  checks {'hold' if r['all_hold'] else 'FAIL/NA'}",
                flush=True,
            )
    return rows


def bench_simulate(cases, repeat: int) -> list[dict]:
    rows = []
    for n, d, N in cases:
        r = _child(SIM_CHILD, n, d, N, max(repeat, 200))
        row = {"n": n, "d": d, "N": N, "rhs_per_s": 1 / r["rhs"], "rhs": r["rhs"],
               "blas": r["blas"], "ratio": r["rhs"] / r["blas"]}  # fmt: skip
        rows.append(row)
        print(
            f"{n:>5} {d:>4} {N:>6}  {row['rhs_per_s']:10.0f}/s  {r['rhs'] * 1e3:8.2f} ms  "
            f"{r['blas'] * 1e3:8.2f} ms  {row['ratio']:5.2f}",
            flush=True,
        )
    return rows


@contextmanager
def competing() -> Iterator[None]:
    """One CPU-bound process beside the benchmark (a busy core), stopped afterwards."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (median)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--j-limit", type=float, default=9e9, help="largest J (bytes) to build")
    ap.add_argument(
        "--compete", action="store_true", help="also run certify beside a CPU-bound process"
    )
    args = ap.parse_args()
    print("certify (median of runs; blas = S Sᵀ by dsyrk alone; J-build = explicit Jacobian)")
    print(f"{'n':>5} {'d':>4} {'N':>6} {'P':>9}  {'first':>10}  {'wall':>10}  {'peak':>9}  "
          f"{'blas':>9}  {'w/b':>5}  {'J-build':>10}  {'speed-up':>7}")  # fmt: skip
    certify_rows = bench_certify(QUICK if args.quick else LADDER, args.repeat, args.j_limit)
    compete_rows = []
    if args.compete:
        print("\ncertify beside one CPU-bound process (blas measured under the same load)")
        with competing():
            compete_rows = bench_certify(QUICK if args.quick else LADDER[:2], args.repeat, 0)
    print("\nsimulate (median over calls of one right-hand side)")
    print(f"{'n':>5} {'d':>4} {'N':>6}  {'rhs/s':>12}  {'rhs':>11}  {'blas':>11}  {'r/b':>5}")
    sim_rows = bench_simulate(SIM_CASES[:1] if args.quick else SIM_CASES, args.repeat)
    print("\nsimulate runs (right-hand sides, products with J0/J0ᵀ, wall time)")
    run_rows = bench_simulate_runs()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            doc = {
                "certify": certify_rows,
                "compete": compete_rows,
                "simulate": sim_rows,
                "simulate_runs": run_rows,
            }
            json.dump(doc, fh, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
