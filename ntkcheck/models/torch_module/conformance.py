"""Small PyTorch modules for the conformance suite (``ntkcheck.testing``): a tanh network
that is not an ``nn.Sequential`` (so it stays a torch model, not recognised as mlp), with a
skip connection and a frozen parameter (tanh, gelu; one output, or C = 3); a small CNN
on 4×4 images;
float64 throughout (finite differences need it). Torch loads only when a case is built."""

from __future__ import annotations

from typing import Any

import numpy as np

#: The cases' names; ``tanh-skip-3`` has C = 3 outputs (rows point-major, m = n·C,
#: THEORY.md §14).
CASES: tuple[str, ...] = ("tanh-skip", "gelu-skip", "cnn-tanh", "tanh-skip-3")


def make_tanh_mlp(d: int = 3, width: int = 6, outputs: int = 1, activation: str = "tanh") -> Any:
    """``nets.TanhSkip``: a Module subclass (not recognised), with a frozen parameter."""
    from ntkcheck.models.torch_module.nets import TanhSkip

    return TanhSkip(d, width, outputs, activation)


def make_cnn(channels: int = 3, side: int = 4) -> Any:
    """conv(1 → channels, 3×3, padding 1) → tanh → flatten → linear(1)."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(channels * side * side, 1),
    )


def conformance_case(name: str) -> tuple[Any, np.ndarray]:
    """The case ``name`` (one of ``CASES``): the model and its inputs (float64)."""
    import torch

    from .init import from_module

    torch.manual_seed(len(name))
    rng = np.random.default_rng(len(name))
    if name == "tanh-skip":
        return from_module(make_tanh_mlp(3, 6)), rng.standard_normal((6, 3))
    if name == "gelu-skip":
        module = make_tanh_mlp(3, 5, activation="gelu")
        return from_module(module), rng.standard_normal((4, 3))
    if name == "tanh-skip-3":
        return from_module(make_tanh_mlp(3, 6, 3), outputs=3), rng.standard_normal((5, 3))
    if name == "cnn-tanh":
        return from_module(make_cnn(), recognize=False), rng.standard_normal((5, 1, 4, 4))
    raise KeyError(name)
