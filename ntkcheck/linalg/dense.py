"""Small helpers for dense symmetric matrices formed by BLAS (upper triangle only)."""

from __future__ import annotations

import numpy as np


def symmetrize_upper(G: np.ndarray, step: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``G`` onto its lower one, in place, in blocks."""
    n = G.shape[0]
    for start in range(0, n, step):
        stop = min(start + step, n)
        diag = G[start:stop, start:stop]
        diag[...] = np.triu(diag) + np.triu(diag, 1).T
        G[stop:, start:stop] = G[start:stop, stop:].T
    return G
