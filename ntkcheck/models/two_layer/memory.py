"""Peak-memory plans of the two-layer family's tasks, before anything is allocated."""

from __future__ import annotations

from ...linalg.dense import GRAM_WORKSPACE

FLOAT_BYTES = 8
#: Neuron-block size target: n·block float64 values per temporary (16 MiB: below glibc's
#: 32 MiB mmap ceiling, so blocks are reused instead of page-faulted in each time).
BLOCK_VALUES = 1 << 21


def block_size(n: int, width: int, block_values: int = BLOCK_VALUES) -> int:
    """Neurons per block: about ``block_values`` values of n×block, at least 1."""
    return max(1, min(width, block_values // max(n, 1)))


def matrix_free_peak_bytes(n: int, d: int, width: int, block_values: int = BLOCK_VALUES) -> int:
    """Peak bytes of ``certify`` without K0: data (3nd), weights and a product's
    output (3Nd), three n×block temporaries, the eigensolvers' O(n) vectors and the
    d×d Gram of |W| (``rounding.factor_error_bound``)."""
    block = block_size(n, width, block_values)
    return FLOAT_BYTES * (3 * n * d + 3 * width * d + 3 * n * block + 60 * n + d * d)


def certify_peak_bytes(n: int, d: int, width: int, block_values: int = BLOCK_VALUES) -> int:
    """Peak bytes of ``certify`` with the dense spectrum: the above plus K0 (n²) and the
    dense kernels' n×n workspace (``linalg.dense.GRAM_WORKSPACE``)."""
    matrices = 1 + GRAM_WORKSPACE
    return matrix_free_peak_bytes(n, d, width, block_values) + FLOAT_BYTES * n * n * matrices


def simulate_peak_bytes(n: int, d: int, width: int) -> int:
    """Peak bytes: a few n×N factors (S_t, S_0, σ(Z)), the DOP853 stages (13·N·d) and n² Grams."""
    return FLOAT_BYTES * (4 * n * width + 16 * width * d + 6 * n * n + 3 * n * d)
