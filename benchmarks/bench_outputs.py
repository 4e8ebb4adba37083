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
  lanczos   the same with the spectrum of ``--spectrum iterative`` when K0 fits: the Gram,
            its rounding bound, Lanczos on K0 and the two Cholesky proofs (λ_min > τ,
            λ_max < t'), β and the drift bound — assembled here from the pipeline's own
            functions with m rows, since its iterative path still sizes vectors by points
            until the several-outputs pipeline lands

The ratios measure/syrk and gram/syrk are printed per repeat and as medians; the issue's
target is measure/syrk ≤ 2.5. Other processes on the machine move these numbers: run it
on an idle machine for figures to quote.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.linalg import blas

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
        del K
        t = time.perf_counter()
        result = measure(problem, spectrum_method="dense")
        whole = time.perf_counter() - t
        t = time.perf_counter()
        K2 = net.gram(X)
        E_K = _gram_error(net, X, K2)
        spectrum = iterative_spectrum(K2.__matmul__, m, operator="explicit")
        bounds = _bounds_iterative(spectrum, E_K, K2)
        net.beta(X), net.drift(X)
        lanczos = time.perf_counter() - t
        del K2
        rows.append((syrk, gram, whole, lanczos))
        print(
            f"  repeat {r + 1}: syrk {syrk:6.2f} s   gram {gram:6.2f} s ({gram / syrk:4.2f}×)"
            f"   measure {whole:6.2f} s ({whole / syrk:4.2f}×)"
            f"   lanczos {lanczos:6.2f} s ({lanczos / syrk:4.2f}×)   σ_min ≥ "
            f"{result.bounds.sigma_min_lower:.6g} ({result.bounds.method}), "
            f"{bounds.sigma_min_lower:.6g} ({bounds.method})"
        )
    syrk, gram, whole, lanczos = (statistics.median(v) for v in zip(*rows, strict=True))
    print(
        f"median: syrk {syrk:.2f} s, gram {gram:.2f} s ({gram / syrk:.2f}×), measure "
        f"{whole:.2f} s ({whole / syrk:.2f}×), lanczos {lanczos:.2f} s ({lanczos / syrk:.2f}×)"
    )
    for name, k in (("gram", 1), ("measure", 2), ("lanczos", 3)):
        ratio = statistics.median(row[k] / row[0] for row in rows)
        print(f"median of per-repeat {name}/syrk: {ratio:.2f}× (target for certify ≤ 2.5×)")


if __name__ == "__main__":
    main()
