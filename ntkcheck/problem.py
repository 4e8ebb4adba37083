"""A problem instance: data, initial network and γ, built from a spec (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import get_activation
from .data import Dataset, check_file, load_data, read_npz, require_finite, require_real
from .errors import DataError
from .memory import matrix_free_peak_bytes, require
from .model import BLOCK_VALUES, TwoLayerNetwork, output_factor
from .spec import LoadedSpec


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything the estimate needs: ``X``, ``y``, the network at θ0, ``γ``, ``f0 = f_θ0(X)``.

    ``f0_zero`` is True when ``f_θ0 ≡ 0`` holds exactly by construction
    (``init: symmetric``); then ``f0`` is stored as exact zeros.
    """

    name: str
    source: str
    data: Dataset
    network: TwoLayerNetwork
    gamma: float
    init: str
    scaling: str
    centered: bool
    f0: np.ndarray
    f0_zero: bool

    @property
    def X(self) -> np.ndarray:
        return self.data.X

    @property
    def y(self) -> np.ndarray:
        return self.data.y

    @property
    def f0_trained(self) -> np.ndarray:
        """The output that enters the residual at θ0: 0 when centered, else ``f0``."""
        return np.zeros_like(self.f0) if self.centered else self.f0

    def loss0(self, gamma: float) -> float:
        """``L0(γ) = ½‖γ f0 − y‖²`` (THEORY.md §4); ``½‖y‖²`` when centered or f_θ0 ≡ 0."""
        r0 = gamma * self.f0_trained - self.y
        return 0.5 * float(r0 @ r0)


def _symmetric_weights(
    width: int, d: int, std: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (w, +a), (w, −a): ``f_θ0 ≡ 0`` exactly (THEORY.md §1)."""
    half = width // 2
    W_half = std * rng.standard_normal((half, d))
    a_half = rng.choice(np.array([-1.0, 1.0]), size=half)
    return np.concatenate([W_half, W_half]), np.concatenate([a_half, -a_half])


def _file_weights(loaded: LoadedSpec, d: int) -> tuple[np.ndarray, np.ndarray]:
    ms = loaded.spec.model
    assert ms.init_path is not None
    path = loaded.resolve(ms.init_path)
    label = f"model.init_path {ms.init_path!r}"
    check_file(loaded, path, "model", "init_path")
    if path.suffix.lower() != ".npz":
        raise loaded.error(
            "must be a .npz file with arrays W (N,d) and a (N,)", "model", "init_path"
        )
    W, a = read_npz(path, ("W", "a"), label, "save with np.savez(path, W=W, a=a)")
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
        raise loaded.error(
            f"is {ms.width} but the init file has N = {W.shape[0]} neurons; remove width or fix it",
            "model",
            "width",
        )
    return np.ascontiguousarray(W), a


def build_problem(loaded: LoadedSpec) -> Problem:
    """Data, initial weights and f0 for the spec; one seed drives everything.

    Data and weights use independent streams spawned from ``seed``, so changing
    the width does not change the data.
    """
    spec = loaded.spec
    ds, ms = spec.data, spec.model
    if ds.source == "synthetic" and ms.width is not None:
        assert ds.n is not None and ds.d is not None
        require(  # the smallest plan (matrix-free spectrum), before anything is allocated
            matrix_free_peak_bytes(ds.n, ds.d, ms.width, BLOCK_VALUES),
            f"certifying n = {ds.n:,}, d = {ds.d:,}, N = {ms.width:,}",
            "reduce data.n or model.width",
        )
    data_seq, init_seq = np.random.SeedSequence(spec.seed).spawn(2)
    data = load_data(loaded, np.random.default_rng(data_seq))
    d = data.d
    if ms.init == "file":
        W, a = _file_weights(loaded, d)
    else:
        assert ms.width is not None
        std = ms.init_std if ms.init_std is not None else 1.0 / np.sqrt(d)
        rng = np.random.default_rng(init_seq)
        if ms.init == "symmetric":
            W, a = _symmetric_weights(ms.width, d, std, rng)
        else:
            W = std * rng.standard_normal((ms.width, d))
            a = rng.choice(np.array([-1.0, 1.0]), size=ms.width)
    network = TwoLayerNetwork(
        W=W, a=a, s=output_factor(ms.scaling, W.shape[0]), activation=get_activation(ms.activation)
    )
    f0_zero = ms.init == "symmetric"
    f0 = np.zeros(data.n) if f0_zero else network.forward(data.X)
    return Problem(
        name=loaded.name,
        source=loaded.source,
        data=data,
        network=network,
        gamma=spec.gamma,
        init=ms.init,
        scaling=ms.scaling,
        centered=ms.centered,
        f0=f0,
        f0_zero=f0_zero,
    )
