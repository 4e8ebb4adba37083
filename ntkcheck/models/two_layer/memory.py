"""Peak-memory plans of the two-layer family's tasks, before anything is allocated.

Sizes are n points; with C outputs (THEORY.md §14) the Gram is m × m, m = n·C: C² times
the one-output Gram, and the plans count it so.
"""

from __future__ import annotations

from ...linalg.dense import GRAM_WORKSPACE

FLOAT_BYTES = 8
#: Neuron-block size target: n·block float64 values per temporary (16 MiB: below glibc's
#: 32 MiB mmap ceiling, so blocks are reused instead of page-faulted in each time).
BLOCK_VALUES = 1 << 21


def block_size(n: int, width: int, block_values: int = BLOCK_VALUES) -> int:
    """Neurons per block: about ``block_values`` values of n×block, at least 1."""
    return max(1, min(width, block_values // max(n, 1)))


def matrix_free_peak_bytes(
    n: int, d: int, width: int, block_values: int = BLOCK_VALUES, *, outputs: int = 1
) -> int:
    """Peak bytes of ``certify`` without K0: data (3nd), weights and a product's
    output (3Nd), three n×block temporaries, the eigensolvers' O(n) vectors and the
    d×d Gram of |W| (``rounding.factor_error_bound``). With C outputs: the readout
    (N·C), the eigensolvers' vectors of length m = n·C and the products' (n, C) blocks."""
    block = block_size(n, width, block_values)
    base = 3 * n * d + 3 * width * d + 3 * n * block + 60 * n + d * d
    if outputs == 1:
        return FLOAT_BYTES * base
    m = n * outputs
    return FLOAT_BYTES * (base + 60 * m + width * outputs + 4 * m)


def certify_peak_bytes(
    n: int, d: int, width: int, block_values: int = BLOCK_VALUES, *, outputs: int = 1
) -> int:
    """Peak bytes of ``certify`` with the dense spectrum: the above plus K0 (m², m = n·C)
    and the dense kernels' m×m workspace (``linalg.dense.GRAM_WORKSPACE``). With C
    outputs also the Gram's neuron blocks: σ'(W_b Xᵀ) (|b| × n) and the expanded factor
    (m × |b|) with SciPy's copy of it, |b| ≈ ``block_values``/m."""
    matrices = 1 + GRAM_WORKSPACE
    free = matrix_free_peak_bytes(n, d, width, block_values, outputs=outputs)
    if outputs == 1:
        return free + FLOAT_BYTES * n * n * matrices
    m = n * outputs
    block = block_size(m, width, block_values)
    return free + FLOAT_BYTES * (m * m * matrices + n * n + 3 * m * block)


def simulate_peak_bytes(n: int, d: int, width: int, *, outputs: int = 1) -> int:
    """Peak bytes: a few n×N factors (S_t, S_0, σ(Z)), the DOP853 stages (13·N·d) and n² Grams
    (with C outputs: m² Grams, m = n·C, and an m × block factor of the Gram's blocks)."""
    if outputs == 1:
        return FLOAT_BYTES * (4 * n * width + 16 * width * d + 6 * n * n + 3 * n * d)
    m = n * outputs
    return FLOAT_BYTES * (
        4 * n * width + 16 * width * d + 6 * m * m + 3 * n * d + 2 * BLOCK_VALUES + 8 * m
    )
