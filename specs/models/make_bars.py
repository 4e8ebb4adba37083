"""Write ``specs/data/bars8.npz``: 64 synthetic 8×8 images, a horizontal bar (y = +1) or a
vertical one (y = −1) at a random row or column, plus Gaussian noise of std 0.3; X is
stored flat (64, 64) — ``model.input_shape: [1, 8, 8]`` gives the CNN its images."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def bars(
    n: int = 64, side: int = 8, noise: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.zeros((n, side, side))
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    for j in range(n):
        k = int(rng.integers(1, side - 1))
        if y[j] > 0:
            X[j, k, :] = 1.0
        else:
            X[j, :, k] = 1.0
    X += noise * rng.standard_normal(X.shape)
    return X.reshape(n, side * side), y


if __name__ == "__main__":
    X, y = bars()
    np.savez(Path(__file__).parents[1] / "data" / "bars8.npz", X=X, y=y)
