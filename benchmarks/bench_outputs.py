"""The two-layer family with C outputs (issue 19): the m × m Gram (m = n·C) and the whole
certify measurement against one m × N ``dsyrk``, measured in the same run.

    python benchmarks/bench_outputs.py                      # (512, 64, 8192, 10), 3 repeats
    python benchmarks/bench_outputs.py --size 256 32 4096 5 --repeat 5

Per repeat (medians printed):
  syrk      one ``scipy.linalg.blas.dsyrk`` of a random m × N matrix (C-ordered, so its
            transpose is a Fortran N × m: no copy) — the hardware limit of the Gram
  gram      ``TwoLayerNetwork.gram`` (σ' block by block, the expanded m × |b| factor,
            dsyrk per block, ⊙ X Xᵀ broadcast over the C × C output pairs)
  measure   the γ-free certify measurement on that model (``run.measure.measure``: the
            Gram, its rounding bound, the dense spectrum, the Cholesky proof, β and the
            drift bound) — what `certify` spends besides reading the spec and the data
  eig, chol the two largest steps of `measure` besides the Gram, alone: LAPACK's
            eigenvalues of the m × m Gram (``linalg.dense.eigvalsh``) and one Cholesky
            factorization of it (``linalg.dense.cholesky_succeeds``, the proof's kernel)
  lanczos   (with --lanczos) the same measurement with the spectrum of ``--spectrum
            iterative`` when K0 fits: the Gram, its rounding bound, Lanczos on K0,
            the two Cholesky proofs (λ_min > τ, λ_max < t'), β and the drift bound —
            assembled from the pipeline's own functions with m rows, since its
            iterative path still sizes vectors by points until the several-outputs
            pipeline lands

The ratios measure/syrk and gram/syrk are printed per repeat and as medians; the issue's
target is measure/syrk ≤ 2.5. Other processes on the machine move these numbers: run it
on an idle machine for figures to quote.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from scipy.linalg import blas

from ntkcheck.linalg import dense
from ntkcheck.linalg.spectrum import iterative_spectrum
from ntkcheck.models.activations import get_activation
from ntkcheck.models.two_layer import TwoLayerNetwork, output_factor
from ntkcheck.problem import Problem
from ntkcheck.run.measure import _bounds_iterative, _gram_error, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=4, type=int, default=[512, 64, 8192, 10],
                        metavar=("n", "d", "N", "C"))  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--lanczos", action="store_true", help="also time the Lanczos path")
    args = parser.parse_args()
    n, d, N, C = args.size
    m = n * C
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    half = N // 2
    W_half = rng.standard_normal((half, d)) / np.sqrt(d)
    a_half = rng.choice([-1.0, 1.0], size=(half, C))
    net = TwoLayerNetwork(
        np.concatenate([W_half, W_half]),
        np.concatenate([a_half, -a_half]),
        output_factor("ntk", N),
        get_activation(args.activation),
        "ntk",
    )
    problem = Problem(
        name="bench",
        source="bench",
        X=X,
        y=rng.standard_normal(m),
        data=f"random, n = {n}, d = {d}",
        model=net,
        init="symmetric",
        centered=False,
        f0=np.zeros(m),
        f0_zero=True,
        outputs=C,
    )
    A = rng.standard_normal((m, N))  # C-ordered: Aᵀ is the Fortran N × m dsyrk reads
    print(f"(n, d, N, C) = ({n}, {d}, {N}, {C}): m = {m:,}, the Gram is {m:,} × {m:,}")
    rows = []
    for r in range(args.repeat):
        t = time.perf_counter()
        G = blas.dsyrk(1.0, A.T, trans=1, lower=0)
        syrk = time.perf_counter() - t
        del G
        t = time.perf_counter()
        K = net.gram(X)
        gram = time.perf_counter() - t
        t = time.perf_counter()
        dense.eigvalsh(K)
        eig = time.perf_counter() - t
        t = time.perf_counter()
        dense.cholesky_succeeds(K)  # K is overwritten
        chol = time.perf_counter() - t
        del K
        t = time.perf_counter()
        result = measure(problem, spectrum_method="dense")
        whole = time.perf_counter() - t
        lanczos, lanczos_words = math.nan, ""
        if args.lanczos:
            t = time.perf_counter()
            K2 = net.gram(X)
            E_K = _gram_error(net, X, K2)
            spectrum = iterative_spectrum(K2.__matmul__, m, operator="explicit")
            bounds = _bounds_iterative(spectrum, E_K, K2)
            net.beta(X), net.drift(X)
            lanczos = time.perf_counter() - t
            del K2
            lanczos_words = (
                f"   lanczos {lanczos:6.2f} s ({lanczos / syrk:4.2f}×, σ_min ≥ "
                f"{bounds.sigma_min_lower:.6g}, {bounds.method})"
            )
        rows.append((syrk, gram, whole, eig, chol, lanczos))
        print(
            f"  repeat {r + 1}: syrk {syrk:6.2f} s   gram {gram:6.2f} s ({gram / syrk:4.2f}×)"
            f"   measure {whole:6.2f} s ({whole / syrk:4.2f}×; σ_min ≥ "
            f"{result.bounds.sigma_min_lower:.6g}, {result.bounds.method})"
            f"   eig {eig:6.2f} s   chol {chol:6.2f} s{lanczos_words}"
        )
    names = ("gram", "measure", "eig", "chol", "lanczos")[: 5 if args.lanczos else 4]
    syrk = statistics.median(row[0] for row in rows)
    print(f"median syrk {syrk:.2f} s; medians of the per-repeat ratios to it:")
    for k, name in enumerate(names, start=1):
        ratio = statistics.median(row[k] / row[0] for row in rows)
        seconds = statistics.median(row[k] for row in rows)
        print(f"  {name:8s} {seconds:7.2f} s  {ratio:5.2f}×")
    print("target (issue 19): certify within 2.5× of the syrk")


if __name__ == "__main__":
    main()
