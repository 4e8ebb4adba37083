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


def _signs(rng: np.random.Generator, rows: int, outputs: int) -> np.ndarray:
    """Random ±1 readout: (rows,) for one output (today's draw, bit for bit), else
    (rows, C) (THEORY.md §14)."""
    size = rows if outputs == 1 else (rows, outputs)
    return rng.choice(np.array([-1.0, 1.0]), size=size)


def symmetric_weights(
    width: int, d: int, std: float, rng: np.random.Generator, outputs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (w, +a_i), (w, −a_i) — opposite readout rows with C outputs: ``f_θ0 ≡ 0``
    exactly (THEORY.md §1, §14)."""
    half = width // 2
    W_half = std * rng.standard_normal((half, d))
    a_half = _signs(rng, half, outputs)
    return np.concatenate([W_half, W_half]), np.concatenate([a_half, -a_half])


def _file_weights(
    ms: Any, d: int, ctx: SpecContext, outputs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    label = f"model.init_path {ms.init_path!r}"
    W, a = ctx.read_arrays(
        ("W", "a"),
        suffix_error="must be a .npz file with arrays W (N,d) and a (N,) or (N, C)",
        hint="save with np.savez(path, W=W, a=a)",
    )
    require_real(W, "W", label)
    require_real(a, "a", label)
    if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] != d:
        raise DataError(
            f"{label}: W must have shape (N, {d}) to match the data's d = {d}, got {W.shape}"
        )
    N = W.shape[0]
    if outputs == 1 and a.shape == (N, 1):
        a = a[:, 0]
    if outputs == 1 and a.ndim == 2 and a.shape[:1] == (N,):
        raise DataError(
            f"{label}: a has shape {a.shape}, {a.shape[1]} outputs, but the data have one "
            f"target per point; save a of shape ({N},) or give the data {a.shape[1]} targets"
        )
    if outputs > 1 and a.shape == (N,):
        raise DataError(
            f"{label}: a has shape ({N},), one output, but the data have C = {outputs} "
            f"outputs; save the readout as a of shape ({N}, {outputs})"
        )
    if a.shape != ((N,) if outputs == 1 else (N, outputs)):
        want = f"({N},)" if outputs == 1 else f"({N}, {outputs})"
        raise DataError(f"{label}: a must have shape {want} to match W, got {a.shape}")
    W = W.astype(np.float64)
    a = a.astype(np.float64)
    require_finite(W, "W", label)
    bad = np.argwhere(np.abs(a) != 1.0)
    if bad.size:
        at = tuple(int(k) for k in bad[0])
        where = ", ".join(str(k) for k in at)
        raise DataError(
            f"{label}: a[{where}] = {a[at]:g}; output weights must be ±1 "
            "(put their size into W or the scaling)"
        )
    if ms.width is not None and ms.width != W.shape[0]:
        raise ctx.error(
            f"is {ms.width} but the init file has N = {W.shape[0]} neurons; remove width or fix it",
            "model",
            "width",
        )
    return np.ascontiguousarray(W), a


def build(
    ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext, outputs: int = 1
) -> TwoLayerNetwork:
    """The network at θ0 for the ``model:`` block ``ms``, inputs of dimension d and C =
    ``outputs`` outputs (a ±1 readout a of shape (N,) for C = 1, (N, C) else; §14)."""
    if outputs < 1:
        raise ValueError(f"outputs must be ≥ 1, got {outputs}")
    if ms.init == "file":
        W, a = _file_weights(ms, d, ctx, outputs)
    else:
        assert ms.width is not None
        std = ms.init_std if ms.init_std is not None else 1.0 / np.sqrt(d)
        if ms.init == "symmetric":
            W, a = symmetric_weights(ms.width, d, std, rng, outputs)
        else:
            W = std * rng.standard_normal((ms.width, d))
            a = _signs(rng, ms.width, outputs)
    return TwoLayerNetwork(
        W=W,
        a=a,
        s=output_factor(ms.scaling, W.shape[0]),
        activation=get_activation(ms.activation),
        scaling=ms.scaling,
    )


def plan_bytes(ms: Any, n: int, d: int, outputs: int = 1) -> tuple[int, str] | None:
    """The smallest plan (matrix-free spectrum) before anything is allocated, or None.

    With C outputs it says how large the Gram is: m × m, m = n·C, C² times the one-output
    Gram (the dense spectrum's plan counts it; the caller names C before it)."""
    if ms.width is None:
        return None
    if outputs == 1:
        return matrix_free_peak_bytes(n, d, ms.width), f"N = {ms.width:,}"
    m = n * outputs
    return (
        matrix_free_peak_bytes(n, d, ms.width, outputs=outputs),
        f"N = {ms.width:,} (the NTK Gram is m × m, m = n·C = {m:,}: "
        f"{outputs * outputs}× the one-output Gram)",
    )


def f0_is_zero(ms: Any) -> bool:
    """A symmetric init gives ``f_θ0 ≡ 0`` exactly."""
    return bool(ms.init == "symmetric")
