"""Peak-memory plans of the deep network's tasks, before anything is allocated."""

from __future__ import annotations

from .rounding import OP_NORM_BLOCK

FLOAT_BYTES = 8
#: Rows per block of the block-wise passes: about this many values per (rows × width) array.
BLOCK_VALUES = 1 << 21


def _op_norm_bytes(sizes: tuple[int, ...]) -> int:
    """The Gram that proves ‖W_k‖_op (``rounding.op_norm_upper``): its block, the
    symmetrized copy and the Cholesky's copy."""
    side = max(min(sizes[k], sizes[k + 1], OP_NORM_BLOCK) for k in range(len(sizes) - 1))
    return FLOAT_BYTES * (4 * side * side + 64 * side)


def factors_values(n: int, sizes: tuple[int, ...]) -> int:
    """Values of the factors ``H_k`` (k ≥ 1; H_0 is the data) and ``Δ_k`` at n points."""
    return 2 * n * sum(sizes[1:-1])


def gram_peak_bytes(n: int, sizes: tuple[int, ...]) -> int:
    """``gram``: the factors, five (n × width) temporaries (the passes and σ, σ's own), three n × n
    arrays (K, and the two syrk outputs of a layer), per-sample bounds, and the
    ‖W‖_op proof (when it runs inside the pass)."""
    h = max(sizes)
    values = factors_values(n, sizes) + 5 * n * h + 3 * n * n + n * (12 * len(sizes) + 64)
    return FLOAT_BYTES * values + _op_norm_bytes(sizes)


def matvec_peak_bytes(n: int, sizes: tuple[int, ...], params: int) -> int:
    """``matvec`` without a cache: the factors of one block of rows (recomputed per
    product), Jᵀv and its pieces (3P), and the eigensolver's O(n) vectors."""
    h = max(sizes)
    rows = max(1, min(n, BLOCK_VALUES // h))
    values = 2 * rows * sum(sizes) + 5 * rows * h + 3 * params + 100 * n
    return FLOAT_BYTES * values + _op_norm_bytes(sizes)


def simulate_peak_bytes(n: int, sizes: tuple[int, ...], params: int) -> int:
    """``simulate``: three linearizations alive (θ0, the state, a checkpoint's), the
    DOP853 stages (16P), and a few n × n Grams."""
    values = 3 * factors_values(n, sizes) + 3 * n * max(sizes) + 16 * params + 8 * n * n
    return FLOAT_BYTES * values


def cache_peak_bytes(n: int, sizes: tuple[int, ...]) -> int:
    """The cached factors of ``gram_operator(cache=True)`` and one temporary of their size."""
    return FLOAT_BYTES * (factors_values(n, sizes) + n * max(sizes))
