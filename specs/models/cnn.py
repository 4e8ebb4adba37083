"""A small CNN for ``specs/torch-cnn.yaml``: conv(1 → channels, 3×3) → tanh → conv → tanh →
linear, on 8×8 single-channel images (``ntkcheck certify --allow-code specs/torch-cnn.yaml``)."""

from __future__ import annotations

import torch


def make_cnn(channels: int = 4, side: int = 8) -> torch.nn.Module:
    """Two tanh convolutions (padding 1, so the side is kept) and a linear readout."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Conv2d(channels, channels, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(channels * side * side, 1),
    )


def make_mlp(d: int = 64, width: int = 256) -> torch.nn.Module:
    """An ``nn.Sequential`` of linear layers and tanh: recognised as the mlp family and
    certified rigorously (``specs/torch-mlp.yaml``)."""
    return torch.nn.Sequential(
        torch.nn.Linear(d, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, 1),
    )
