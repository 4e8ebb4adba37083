"""Recognised modules become rigorous (issue 20, item 2): an ``nn.Sequential`` of
``nn.Linear`` layers with one supported activation between them, ending in one output,
is the ``mlp`` family's network (THEORY.md §10, standard parametrization, s = 1) with the
module's own weights — built through the registry (``init: file`` from the module's
arrays), so it has the mlp's structured Gram, its proved rounding and its drift bound.

The conversion is checked when it is made: the two networks' outputs on fixed probe
inputs agree to rounding, else the module stays a torch model (an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..protocol import Model, ModelInfo
from ..registry import family, family_spec

#: nn activation module → the mlp family's activation, when the module's parameters
#: give exactly that function (``ok``).
_ACTIVATIONS: dict[str, tuple[str, Any]] = {
    "Tanh": ("tanh", lambda m: True),
    "Sigmoid": ("sigmoid", lambda m: True),
    "GELU": ("gelu", lambda m: m.approximate == "none"),
    "SiLU": ("silu", lambda m: True),
    "ELU": ("elu", lambda m: m.alpha == 1.0),
    "ReLU": ("relu", lambda m: True),
    "LeakyReLU": ("leaky_relu", lambda m: m.negative_slope == 0.01),
    "Softplus": ("softplus", lambda m: m.beta == 1.0),
    "Identity": ("identity", lambda m: True),
}
#: Probe inputs of the load-time check.
PROBES = 8


@dataclass(frozen=True)
class _Arrays:
    """The ``SpecContext`` the mlp family reads its ``init: file`` weights from: the
    module's arrays by the mlp's names (W1..WL, b1..bL)."""

    arrays: dict[str, np.ndarray]

    def read_arrays(
        self, names: tuple[str, ...], *, suffix_error: str, hint: str
    ) -> list[np.ndarray]:
        return [self.arrays[name] for name in names]

    def error(self, message: str, *path: str | int) -> Exception:
        return ValueError(message)

    def resolve(self, relative: str) -> Path:
        return Path(relative)


@dataclass(frozen=True, eq=False)
class Recognised:
    """The mlp family's network, reported as recognised from a PyTorch module; every
    other protocol method is the network's own."""

    network: Any
    source: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "network":
            raise AttributeError(name)
        return getattr(self.network, name)

    @property
    def n_params(self) -> int:
        return int(self.network.n_params)

    @property
    def outputs(self) -> int:
        return int(self.network.outputs)

    @property
    def theta0(self) -> np.ndarray:
        return self.network.theta0  # type: ignore[no-any-return]

    def info(self) -> ModelInfo:
        base: ModelInfo = self.network.info()
        summary = {**base.summary, "recognised_from": self.source}
        head = f"PyTorch {self.source}, recognised as mlp: {base.head}"
        return ModelInfo(
            base.family, base.params, base.activation, summary, base.heuristic_size, head,
            base.tail,
        )  # fmt: skip


def _layers(module: torch.nn.Module) -> tuple[list[torch.nn.Linear], str | None] | None:
    """The Linear layers and the one activation name of a recognisable Sequential."""
    if type(module) is not torch.nn.Sequential:
        return None
    children = list(module.children())
    linears = children[0::2]
    acts = children[1::2]
    if len(children) < 3 or len(children) % 2 == 0:
        return None
    if any(type(m) is not torch.nn.Linear for m in linears):
        return None
    names = set()
    for act in acts:
        entry = _ACTIVATIONS.get(type(act).__name__)
        if entry is None or not entry[1](act):
            return None
        names.add(entry[0])
    if len(names) != 1:
        return None
    return [m for m in linears if isinstance(m, torch.nn.Linear)], names.pop()


def recognized(model: Any, d: int) -> Model | None:
    """The mlp network equal to ``model``'s module, or None when it is not recognised
    (shape, activation, biases, which layers are trained, dtype) or the outputs differ
    beyond rounding."""
    module = model.module
    found = _layers(module)
    if found is None or model.outputs != 1 or model.dtype != "float64":
        return None
    if model.input_shape not in (None, (d,)):
        return None
    linears, activation = found
    if linears[0].in_features != d or linears[-1].out_features != 1:
        return None
    biased = {lin.bias is not None for lin in linears}
    if len(biased) != 1:
        return None
    bias = biased.pop()
    trained = [all(p.requires_grad for p in lin.parameters()) for lin in linears]
    frozen = [not any(p.requires_grad for p in lin.parameters()) for lin in linears]
    if not all(trained[:-1]) or not (trained[-1] or frozen[-1]):
        return None
    arrays: dict[str, np.ndarray] = {}
    for k, lin in enumerate(linears, start=1):
        arrays[f"W{k}"] = lin.weight.detach().to(torch.float64).numpy().copy()
        if bias:
            assert lin.bias is not None
            arrays[f"b{k}"] = lin.bias.detach().to(torch.float64).numpy().copy()
    block = family_spec("mlp").block.model_validate(
        {
            "architecture": "mlp",
            "widths": [lin.out_features for lin in linears[:-1]],
            "activation": activation,
            "parametrization": "standard",
            "output_scale": 1.0,
            "bias": bias,
            "train_output": trained[-1],
            "init": "file",
            "init_path": "module.npz",
        }
    )
    network = family("mlp").build(block, d, np.random.default_rng(0), _Arrays(arrays))
    X = np.random.default_rng(20).standard_normal((PROBES, d))
    ours = network.forward(X)
    with torch.no_grad():
        theirs = module(torch.tensor(X, dtype=torch.float64)).reshape(-1).numpy()
    # rounding: each layer's sums of fan-in products, σ and the bias, relative to the
    # magnitudes involved (a Softplus past its threshold, 20, differs by ≤ e⁻²⁰: refused)
    fan = sum(lin.in_features + 4 for lin in linears)
    tol = 8 * fan * 2.0**-53 * (1.0 + float(np.max(np.abs(theirs))))
    if not np.all(np.isfinite(ours)) or float(np.max(np.abs(ours - theirs))) > tol:
        return None
    return Recognised(network, f"module Sequential{_source(model)}")  # type: ignore[return-value]


def _source(model: Any) -> str:
    return f" from {model.factory}" if model.factory else ""
