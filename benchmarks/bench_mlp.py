"""Benchmarks of the deep fully connected family (``model.architecture: mlp``), in one run.

    python benchmarks/bench_mlp.py                # the rows below (a few minutes)
    python benchmarks/bench_mlp.py --quick        # small rows only
    python benchmarks/bench_mlp.py --ratios       # β(0), ℓ2 chain and β_loc vs width/depth
    python benchmarks/bench_mlp.py --json out.json

certify, per row (n, d, widths), in a fresh process:
  first     the first `certify_spec` (BLAS threads start, pages are mapped)
  wall      a second `certify_spec` in the same process (a new problem: the passes,
            the Gram, the ‖W‖_op proofs, the spectrum and its Cholesky proofs, β, ρ*)
  blas      the dominant BLAS products alone, measured in the same process on random
            arrays of the same shapes: the forward gemms (n·h_{l−1}·h_l), the backward
            gemms (n·h_l·h_{l+1} for l ≥ 1) and the two Gram syrks per layer (n²·h)
  wall/blas how far certify is from those products
  parts     the Gram pass, the ‖W_l‖_op proofs and the dense spectrum, timed alone
  J-build   the n × P Jacobian formed explicitly from the same factors, K = J Jᵀ by
            syrk and eigvalsh, as tools that materialize J do (only where J fits)

Target: certify at (1024, 64), widths [2048, 2048] within 3× of its BLAS products.
The machine may be shared: wall and blas are measured back to back so the ratio
is meaningful even when absolute times are not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

ROWS = [(1024, 64, (512, 512)), (1024, 64, (2048, 2048)), (1024, 64, (4096, 4096, 4096))]
QUICK = [(256, 32, (256, 256)), (512, 64, (1024, 1024))]

CHILD = textwrap.dedent(
    """
    import json, math, resource, sys, time
    from pathlib import Path
    import numpy as np
    from scipy.linalg import blas, eigvalsh
    from ntkcheck import build_problem, certify_spec, parse_spec
    from ntkcheck.cli._malloc import tune_malloc
    from ntkcheck.models.mlp.passes import factors
    tune_malloc()
    n, d = int(sys.argv[1]), int(sys.argv[2])
    widths = [int(w) for w in sys.argv[3].split(",")]
    j_limit = float(sys.argv[4])
    text = (f"gamma: 1.0e4\\ndata: {{n: {n}, d: {d}}}\\nmodel: {{architecture: mlp, "
            f"widths: {widths}, activation: tanh, centered: true}}\\n")
    spec = parse_spec(text, source="bench", base_dir=Path("."))
    t = time.perf_counter(); r = certify_spec(spec); first = time.perf_counter() - t
    t = time.perf_counter(); r = certify_spec(spec); wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # the dominant products alone, same shapes, SciPy's BLAS (as the passes use)
    sizes = [d, *widths, 1]
    rng = np.random.default_rng(0)
    H = [np.asfortranarray(rng.standard_normal((m, n))) for m in sizes[:-1]]
    W = [np.asfortranarray(rng.standard_normal((sizes[k], sizes[k + 1])))
         for k in range(len(sizes) - 1)]
    t = time.perf_counter()
    for k in range(len(widths)):
        blas.dgemm(1.0, W[k], H[k], trans_a=1)            # forward Z_k
    for k in range(1, len(widths)):
        blas.dgemm(1.0, W[k], H[k + 1])                   # backward G_{k-1}
    for k in range(len(sizes) - 1):
        blas.dsyrk(1.0, H[k], trans=1, lower=0)           # H_k H_kᵀ
        if k < len(widths):
            blas.dsyrk(1.0, H[k + 1], trans=1, lower=0)   # Δ_k Δ_kᵀ
    blas_time = time.perf_counter() - t
    del H, W

    # the parts, alone, on a fresh problem
    p = build_problem(spec); X, model = p.X, p.model
    t = time.perf_counter(); _ = model.layer_constants; t_op = time.perf_counter() - t
    t = time.perf_counter(); K = model.gram(X); t_gram = time.perf_counter() - t
    t = time.perf_counter(); lam = eigvalsh(K); t_eig = time.perf_counter() - t
    t = time.perf_counter()
    rho = model.drift(X).safe_radius(0.5 * math.sqrt(lam[0]))
    t_drift = time.perf_counter() - t

    out = {"first": first, "wall": wall, "peak": peak, "blas": blas_time,
           "op_norms": t_op, "gram": t_gram, "eig": t_eig, "drift": t_drift,
           "params": model.n_params, "sigma_min": r.estimate.sigma_min,
           "status": r.certificate.status.value, "gamma_star": r.certificate.gamma_star,
           "beta0": r.estimate.beta, "rho_star": rho, "stages": r.timing}
    jbytes = 8.0 * n * model.n_params
    if jbytes <= j_limit:
        del K
        t = time.perf_counter()
        fac = factors(X, model.structure, model.params)
        st = model.structure
        blocks = []
        for k in st.trained_layers:
            a = st.alphas[k]
            if k == st.depth - 1:
                blocks += [st.s * a * fac.H[k], np.full((n, 1), st.s)]
            else:
                Dk = fac.Delta[k]
                blocks += [a * (Dk[:, :, None] * fac.H[k][:, None, :]).reshape(n, -1), Dk]
        J = np.hstack(blocks); del blocks, fac
        KJ = blas.dsyrk(1.0, J); del J
        lamJ = eigvalsh(KJ, lower=False)
        out["jbuild"] = time.perf_counter() - t
        out["jbuild_sigma_min"] = float(np.sqrt(lamJ[0]))
        out["jbuild_peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["jbytes"] = jbytes
    print(json.dumps(out))
    """
)

RATIOS_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from ntkcheck.models.activations import get_activation
    from ntkcheck.models.mlp import MlpNetwork, Params, Structure
    depth, m = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    sizes = (8, *([m] * (depth - 1)), 1)
    W = tuple(rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(depth))
    b = tuple(0.1 * rng.standard_normal(sizes[k + 1]) for k in range(depth))
    X = rng.standard_normal((16, 8))
    net = MlpNetwork(Structure(sizes, get_activation("tanh")), Params(W, b))
    s = net.beta(X)
    loc = net.local_beta(X)
    print(json.dumps({"beta0": s.beta, "chain": s.bounds["l2_chain_at_theta0"],
                      "local": loc.value, "spread": loc.spread}))
    """
)


def _child(code: str, *args: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def bench(rows, j_limit: float) -> list[dict]:
    print(
        f"{'n':>5} {'d':>3} {'widths':>18} {'P':>11}  {'first':>7} {'wall':>7} {'blas':>7} "
        f"{'w/b':>5}  {'gram':>6} {'‖W‖op':>6} {'eig':>5} {'drift':>6}  {'peak':>9}  J-build"
    )
    out = []
    for n, d, widths in rows:
        r = _child(CHILD, n, d, ",".join(map(str, widths)), j_limit)
        r.update(n=n, d=d, widths=list(widths), ratio=r["wall"] / r["blas"])
        jb = (
            f"{r['jbuild']:.2f} s ({r['jbuild'] / r['first']:.1f}× first; "
            f"σ_min agrees to {abs(r['jbuild_sigma_min'] / r['sigma_min'] - 1):.0e})"
            if "jbuild" in r
            else f"(J = {_gib(r['jbytes'])}: not built)"
        )
        print(
            f"{n:>5} {d:>3} {list(widths)!s:>18} {r['params']:>11,}  {r['first']:6.2f}s "
            f"{r['wall']:6.2f}s {r['blas']:6.2f}s {r['ratio']:5.2f}  {r['gram']:5.2f}s "
            f"{r['op_norms']:5.2f}s {r['eig']:4.2f}s {r['drift']:5.2f}s  "
            f"{_gib(r['peak']):>9}  {jb}",
            flush=True,
        )
        out.append(r)
    return out


def ratios() -> list[dict]:
    print(f"{'L':>2} {'width':>6}  {'β(0)':>8} {'ℓ2 chain':>9} {'β_loc':>8} {'β(0)/β_loc':>10}")
    out = []
    for depth in (2, 3, 4):
        for m in (64, 256, 1024):
            r = _child(RATIOS_CHILD, depth, m)
            r.update(depth=depth, width=m)
            print(
                f"{depth:>2} {m:>6}  {r['beta0']:8.3g} {r['chain']:9.3g} {r['local']:8.3g} "
                f"{r['beta0'] / r['local']:10.2f}",
                flush=True,
            )
            out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small rows only")
    ap.add_argument("--ratios", action="store_true", help="β(0), ℓ2 chain, β_loc by width/depth")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--j-limit", type=float, default=6e9, help="largest J (bytes) to build")
    args = ap.parse_args()
    result: dict[str, list[dict]] = {}
    if args.ratios:
        result["ratios"] = ratios()
    else:
        result["certify"] = bench(QUICK if args.quick else ROWS, args.j_limit)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
