"""One torch.func helper both the network and the local β use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.func import vjp


def pullback(fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> tuple[Any, Any]:
    """``(fn(θ), r ↦ (Jᵀ r,))`` by ``torch.func.vjp`` (the pullback may be called again,
    and vmapped)."""
    out = vjp(fn, theta)
    return out[0], out[1]
