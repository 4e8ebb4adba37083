"""Peak-memory plans of the deep network's tasks, before anything is allocated.

``sizes = (d, h1, …, C)``: with C outputs the signals Δ_k have m = n·C rows and the
Gram is m × m, C² times a single output's (THEORY.md §14); every plan counts them.
"""

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
    """Values of the factors ``H_k`` (k ≥ 1; H_0 is the data; n rows) and ``Δ_k`` (n·C
    rows) at n points."""
    return (1 + sizes[-1]) * n * sum(sizes[1:-1])


def gram_peak_bytes(n: int, sizes: tuple[int, ...]) -> int:
    """``gram``: the factors, five (n·C × width) temporaries (the passes and σ, σ's own),
    three n × n arrays (K, and the two syrk outputs of a layer), per-row bounds, and the
    ‖W‖_op proof (when it runs inside the pass). With C > 1 outputs (m = n·C) the larger
    of a layer's two m × m and one n × n arrays, and K with the three blocks of
    ``dense.symmetrize_upper`` (of side min(m, 512)) that complete it."""
    h = max(sizes)
    m = n * sizes[-1]
    block = min(m, 512)
    grams = 3 * n * n if m == n else max(2 * m * m + n * n, m * m + 3 * block * block)
    values = factors_values(n, sizes) + 5 * m * h + grams + m * (12 * len(sizes) + 64)
    return FLOAT_BYTES * values + _op_norm_bytes(sizes)


def matvec_peak_bytes(n: int, sizes: tuple[int, ...], params: int) -> int:
    """``matvec`` without a cache: the factors of one block of points (recomputed per
    product; (1 + C)·width values per point), Jᵀv and its pieces (3P), and the
    eigensolver's O(m) vectors (m = n·C)."""
    C = sizes[-1]
    h = max(sizes)
    rows = max(1, min(n, BLOCK_VALUES // (h * C)))
    values = (1 + C) * rows * sum(sizes) + 5 * rows * C * h + 3 * params + 100 * n * C
    return FLOAT_BYTES * values + _op_norm_bytes(sizes)


def simulate_peak_bytes(n: int, sizes: tuple[int, ...], params: int) -> int:
    """``simulate``: three linearizations alive (θ0, the state, a checkpoint's), the
    DOP853 stages (16P), and a few m × m Grams (m = n·C)."""
    m = n * sizes[-1]
    values = 3 * factors_values(n, sizes) + 3 * m * max(sizes) + 16 * params + 8 * m * m
    return FLOAT_BYTES * values


def cache_peak_bytes(n: int, sizes: tuple[int, ...]) -> int:
    """The cached factors of ``gram_operator(cache=True)`` and one temporary of their size."""
    return FLOAT_BYTES * (factors_values(n, sizes) + n * sizes[-1] * max(sizes))
