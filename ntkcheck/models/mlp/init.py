"""Initial weights of the ``mlp`` family from its spec block (THEORY.md §10, docs/mlp.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...arrays import require_finite, require_real
from ...errors import DataError
from ..activations import get_activation
from ..protocol import SpecContext
from .memory import matvec_peak_bytes
from .network import MlpNetwork
from .structure import Params, Structure


def default_std(parametrization: str, fan_in: int) -> float:
    """Std of W_l's entries: 1 (ntk: the layer divides by √fan-in) or 1/√fan-in (standard)."""
    return 1.0 if parametrization == "ntk" else 1.0 / math.sqrt(fan_in)


def structure_of(ms: Any, d: int, outputs: int = 1) -> Structure:
    """The network's shape from the block (``widths`` is validated to be present); the
    output layer has ``outputs`` (C) rows (THEORY.md §14)."""
    assert ms.widths is not None
    return Structure(
        sizes=(d, *ms.widths, outputs),
        activation=get_activation(ms.activation),
        parametrization=ms.parametrization,
        s=float(ms.output_scale),
        bias=bool(ms.bias),
        train_output=bool(ms.train_output),
    )


def _gaussian(ms: Any, st: Structure, rng: np.random.Generator) -> Params:
    L = st.depth
    stds = ms.init_std if isinstance(ms.init_std, list) else [ms.init_std] * L
    W = []
    for k in range(L):
        fan_in = st.sizes[k]
        std = stds[k] if stds[k] is not None else default_std(st.parametrization, fan_in)
        W.append(std * rng.standard_normal((st.sizes[k + 1], fan_in)))
    b = tuple(np.zeros(st.sizes[k + 1]) for k in range(L)) if st.bias else None
    return Params(tuple(W), b)


def _file(ms: Any, st: Structure, ctx: SpecContext) -> Params:
    L = st.depth
    label = f"model.init_path {ms.init_path!r}"
    names = tuple(f"W{k + 1}" for k in range(L))
    if st.bias:
        names += tuple(f"b{k + 1}" for k in range(L))
    arrays = ctx.read_arrays(
        names,
        suffix_error=f"must be a .npz file with arrays {', '.join(names)}",
        hint=f"save with np.savez(path, {', '.join(f'{n}={n}' for n in names)})",
    )
    out: list[np.ndarray] = []
    for k, (name, A) in enumerate(zip(names, arrays, strict=True)):
        require_real(A, name, label)
        layer = k % L
        rows, cols = st.sizes[layer + 1], st.sizes[layer]
        shape: tuple[int, ...] = (rows,) if name.startswith("b") else (rows, cols)
        if A.shape != shape:
            if layer < L - 1:
                what = f"widths[{layer}] = {rows}"
            elif rows == 1:
                what = "the output layer has one row"
            else:
                what = f"the output layer has one row per output, C = {rows}"
            source = "the data's d" if layer == 0 else f"widths[{layer - 1}]"
            fix = f"({what}{'' if name.startswith('b') else f', {source} = {cols} columns'})"
            raise DataError(
                f"{label}: {name} must have shape {shape} {fix}, got {A.shape}; "
                "fix the file or model.widths"
            )
        A = np.ascontiguousarray(A, dtype=np.float64)
        require_finite(A, name, label)
        out.append(A)
    return Params(tuple(out[:L]), tuple(out[L:]) if st.bias else None)


def build(
    ms: Any, d: int, rng: np.random.Generator, ctx: SpecContext, outputs: int = 1
) -> MlpNetwork:
    """The network at θ0 for the ``model:`` block ``ms``, inputs of dimension d and C =
    ``outputs`` outputs (the output layer's C rows drawn like its one row for C = 1, so
    C = 1 draws exactly what it always did)."""
    if outputs < 1:
        raise ValueError(f"outputs must be ≥ 1, got {outputs}")
    st = structure_of(ms, d, outputs)
    params = _file(ms, st, ctx) if ms.init == "file" else _gaussian(ms, st, rng)
    return MlpNetwork(st, params)


def plan_bytes(ms: Any, n: int, d: int, outputs: int = 1) -> tuple[int, str] | None:
    """The smallest plan (matrix-free spectrum) before anything is allocated; with C > 1
    outputs it names the m × m Gram (m = n·C rows, C² times a single output's)."""
    if ms.widths is None:
        return None
    sizes = (d, *ms.widths, outputs)
    params = sum(sizes[k + 1] * sizes[k] + sizes[k + 1] for k in range(len(sizes) - 1))
    widths = ", ".join(f"{w:,}" for w in ms.widths)
    what = f"widths [{widths}]"
    if outputs > 1:
        m = n * outputs
        what += (
            f", C = {outputs:,} outputs (m = n·C = {m:,} rows: the Gram is {m:,} × {m:,}, "
            f"{outputs * outputs:,} times a single output's)"
        )
    return matvec_peak_bytes(n, sizes, params), what


def f0_is_zero(ms: Any) -> bool:
    """No initialization of this family makes f_θ0 ≡ 0 by construction."""
    return False
