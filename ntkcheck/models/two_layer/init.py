"""Initial weights of the two-layer family from its spec block (THEORY.md §1, §6)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...arrays import require_finite, require_real
from ...errors import DataError
from ..activations import get_activation
from ..protocol import SpecContext
from .memory import matrix_free_peak_bytes
from .network import TwoLayerNetwork


def output_factor(scaling: str, width: int) -> float:
    """``s``: 1 (standard), 1/√N (ntk), 1/N (mean_field) — THEORY.md §6."""
    return {"standard": 1.0, "ntk": 1.0 / math.sqrt(width), "mean_field": 1.0 / width}[scaling]


def symmetric_weights(
    width: int, d: int, std: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (w, +a), (w, −a): ``f_θ0 ≡ 0`` exactly (THEORY.md §1)."""
    half = width // 2
    W_half = std * rng.standard_normal((half, d))
    a_half = rng.choice(np.array([-1.0, 1.0]), size=half)
    return np.concatenate([W_half, W_half]), np.concatenate([a_half, -a_half])


def _file_weights(ms: Any, d: int, ctx: SpecContext) -> tuple[np.ndarray, np.ndarray]:
    label = f"model.init_path {ms.init_path!r}"
    W, a = ctx.read_arrays(
        ("W", "a"),
        suffix_error="must be a .npz file with arrays W (N,d) and a (N,)",
        hint="save with np.savez(path, W=W, a=a)",
    )
    require_real(W, "W", label)
    require_real(a, "a", label)
    if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] != d:
        raise DataError(
            f"{label}: W must have shape (N, {d}) to match the data's d = {d}, got {W.shape}"
        )
    if a.shape != (W.shape[0],):
        raise DataError(f"{label}: a must have shape ({W.shape[0]},) to match W, got {a.shape}")
    W = W.astype(np.float64)
    a = a.astype(np.float64)
    require_finite(W, "W", label)
    bad = np.flatnonzero(np.abs(a) != 1.0)
    if bad.size:
        raise DataError(
            f"{label}: a[{int(bad[0])}] = {a[bad[0]]:g}; output weights must be ±1 "
            "(put their size into W or the scaling)"
        )
    if ms.width is not None and ms.width != W.shape[0]:
        raise ctx.error(
            f"is {ms.width} but the init file has N = {W.shape[0]} neurons; remove width or fix it",
            "model",
            "width",
        )
    return np.ascontiguousarray(W), a


def build(ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext) -> TwoLayerNetwork:
    """The network at θ0 for the ``model:`` block ``ms`` and inputs of dimension d."""
    if ms.init == "file":
        W, a = _file_weights(ms, d, ctx)
    else:
        assert ms.width is not None
        std = ms.init_std if ms.init_std is not None else 1.0 / np.sqrt(d)
        if ms.init == "symmetric":
            W, a = symmetric_weights(ms.width, d, std, rng)
        else:
            W = std * rng.standard_normal((ms.width, d))
            a = rng.choice(np.array([-1.0, 1.0]), size=ms.width)
    return TwoLayerNetwork(
        W=W,
        a=a,
        s=output_factor(ms.scaling, W.shape[0]),
        activation=get_activation(ms.activation),
        scaling=ms.scaling,
    )


def plan_bytes(ms: Any, n: int, d: int) -> tuple[int, str] | None:
    """The smallest plan (matrix-free spectrum) before anything is allocated, or None."""
    if ms.width is None:
        return None
    return matrix_free_peak_bytes(n, d, ms.width), f"N = {ms.width:,}"


def f0_is_zero(ms: Any) -> bool:
    """A symmetric init gives ``f_θ0 ≡ 0`` exactly."""
    return bool(ms.init == "symmetric")
