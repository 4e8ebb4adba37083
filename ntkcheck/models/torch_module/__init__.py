"""Any PyTorch model (``architecture: torch``): a factory's ``nn.Module`` as a model
(THEORY.md §10 "Any model (autodiff): estimate only"; recognised modules: the mlp family).

The names below load on first use (PEP 562), so that ``.spec`` (the ``model:`` block,
numpy- and torch-free) imports without the network; torch itself loads only when a model
is built (``pip install "ntkcheck[torch]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import lazy_exports

_EXPORTS = {
    "TorchModel": ".network",
    "TorchLinearization": ".network",
    "build": ".init",
    "f0_is_zero": ".init",
    "from_module": ".init",
    "plan_bytes": ".init",
}
__all__ = ["TorchLinearization", "TorchModel", "build", "f0_is_zero", "from_module", "plan_bytes"]

__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .init import build, f0_is_zero, from_module, plan_bytes
    from .network import TorchLinearization, TorchModel
