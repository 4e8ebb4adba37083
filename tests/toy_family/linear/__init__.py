"""A toy family: the linear model f(x) = s·⟨w, x⟩ (J = s·X, constant: no drift)."""

from __future__ import annotations

from ..registry import lazy_exports

_EXPORTS = {
    "LinearModel": ".network",
    "build": ".network",
    "f0_is_zero": ".network",
    "plan_bytes": ".network",
}
__all__ = ["LinearModel", "build", "f0_is_zero", "plan_bytes"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
