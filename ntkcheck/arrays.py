"""Checks on user-given arrays (data files, weight files): one clear line each."""

from __future__ import annotations

import numpy as np

from .errors import DataError


def require_real(arr: np.ndarray, name: str, label: str) -> None:
    """A clear error unless ``arr`` holds real numbers (not text, objects or complex)."""
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DataError(f"{label}: {name} must hold real numbers, got dtype {arr.dtype}")


def require_finite(arr: np.ndarray, name: str, label: str) -> None:
    """A clear error naming the first non-finite entry of ``arr``."""
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        where = ", ".join(str(int(i)) for i in bad[0])
        raise DataError(f"{label}: {name}[{where}] is {arr[tuple(bad[0])]}; values must be finite")
