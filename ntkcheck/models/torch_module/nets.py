"""Modules of the conformance cases and the tests, at module level so that they pickle."""

from __future__ import annotations

import torch


class TanhSkip(torch.nn.Module):
    """``f(x) = w₂ᵀσ(W₁x + b₁) + 0.3·⟨a, x⟩`` with the skip weights ``a`` frozen
    (``requires_grad=False``: a fixed tensor, not part of θ); σ tanh or gelu."""

    def __init__(self, d: int, width: int, outputs: int = 1, activation: str = "tanh") -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(d, width)
        self.act = torch.nn.Tanh() if activation == "tanh" else torch.nn.GELU()
        self.out = torch.nn.Linear(width, outputs)
        self.skip = torch.nn.Parameter(torch.randn(outputs, d), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.hidden(x))) + 0.3 * x @ self.skip.T
