"""The NTK Gram of a CNN (n = 512 images 16×16, P ≈ 10⁵, float64): the torch family's
``gram`` against torch.func's own recipe (``vmap(jacrev)`` over the samples, the
Jacobians flattened and concatenated, then ``J @ J.T``) in the same run (issue 20).

Each method runs in its own process (peak memory is per process: ``ru_maxrss``); the
table gives the wall time of the Gram, the peak resident memory above the process's
memory before it (model, data and torch loaded), and the largest entry-wise difference of
the two Grams relative to max |K|. Not a timed test.

    python benchmarks/bench_torch.py [--n 512] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _net(torch):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 16 * 16, 11),
        torch.nn.Tanh(),
        torch.nn.Linear(11, 1),
    ).double()


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(method: str, n: int, threads: int, out: str) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    net = _net(torch)
    X = np.random.default_rng(0).standard_normal((n, 1, 16, 16))
    P = sum(p.numel() for p in net.parameters())
    if method == "ntkcheck":
        from ntkcheck.linalg import threads as th
        from ntkcheck.models.torch_module import from_module

        th.threads_for = lambda task, size=0: threads  # the same threads for both
        import ntkcheck.models.torch_module.network as network

        network.threads_for = th.threads_for
        model = from_module(net, recognize=False)
        model.forward(X[:2])  # the probe (shape checks, saved bytes per point)
        base = _rss()
        t = time.perf_counter()
        K = model.gram(X)
        wall = time.perf_counter() - t
    else:
        from torch.func import functional_call, jacrev, vmap

        params = {k: v.detach() for k, v in net.named_parameters()}
        x = torch.tensor(X)

        def single(p, xi):  # type: ignore[no-untyped-def]
            return functional_call(net, p, (xi.unsqueeze(0),)).reshape(-1)

        base = _rss()
        t = time.perf_counter()
        jac = vmap(jacrev(single), (None, 0))(params, x)
        J = torch.cat([j.reshape(n, -1) for j in jac.values()], dim=1)
        K = (J @ J.T).numpy()
        wall = time.perf_counter() - t
    np.save(out, K)
    print(json.dumps({"method": method, "P": P, "wall": wall, "peak_above": _rss() - base}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.n, args.threads, args.child[1])
        return 0
    import numpy as np

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        grams = {}
        for method in ("torch.func", "ntkcheck"):
            out = str(Path(tmp) / f"{method}.npy")
            proc = subprocess.run(
                [sys.executable, __file__, "--n", str(args.n), "--threads", str(args.threads),
                 "--child", method, out],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            grams[method] = np.load(out)
    K, ref = grams["ntkcheck"], grams["torch.func"]
    diff = float(np.max(np.abs(K - ref)) / np.max(np.abs(ref)))
    print(f"n = {args.n}, P = {rows[0]['P']:,}, float64, {args.threads} threads")
    print(f"{'method':<12}{'Gram (s)':>10}{'peak above start (MiB)':>26}")
    for r in rows:
        print(f"{r['method']:<12}{r['wall']:>10.2f}{r['peak_above'] / 2**20:>26.0f}")
    ratio = rows[1]["wall"] / rows[0]["wall"]
    print(f"time ratio ntkcheck / torch.func = {ratio:.2f}; max |ΔK| / max |K| = {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
