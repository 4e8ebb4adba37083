"""Training data (X, y) from the spec: synthetic or from a file (spec block ``data:``)."""

from __future__ import annotations

import csv
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arrays import require_finite, require_real
from ..errors import DataError, EstimationError
from ..linalg.memory import require
from .loaded import LoadedSpec
from .spec_files import check_file


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``X`` (n, d), targets ``y`` (n,), float64, and a one-line description."""

    X: np.ndarray
    y: np.ndarray
    description: str

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


def _unit_rms(v: np.ndarray) -> np.ndarray:
    rms = math.sqrt(float(np.mean(v * v)))
    return v / rms if rms > 0 else v


def synthetic_data(
    n: int, d: int, *, inputs: str, target: str, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic ``(X, y)``.

    Inputs: ``gaussian`` rows ~ N(0, I_d); ``sphere`` rows uniform on ‖x‖ = √d.
    Targets (then scaled to unit root-mean-square, then ``noise``·N(0,1) added):
    ``teacher`` tanh(⟨w*, x⟩), ``linear`` ⟨w*, x⟩, ``sign`` sign(⟨w*, x⟩), ``random``
    N(0,1) — with w* uniform on the unit sphere, so ⟨w*, x⟩ has unit variance.
    """
    X = rng.standard_normal((n, d))
    if inputs == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X *= math.sqrt(d) / np.where(norms > 0, norms, 1.0)
    teacher = rng.standard_normal(d)
    teacher /= np.linalg.norm(teacher) or 1.0
    z = X @ teacher
    y = {
        "teacher": lambda: np.tanh(z),
        "linear": lambda: z,
        "sign": lambda: np.where(z >= 0, 1.0, -1.0),
        "random": lambda: rng.standard_normal(n),
    }[target]()
    y = _unit_rms(y)
    if noise > 0:
        y = y + noise * rng.standard_normal(n)
    return X, y


def read_npz(path: Path, names: tuple[str, ...], label: str, hint: str) -> list[np.ndarray]:
    """The arrays ``names`` of an .npz file, refusing before decompressing too much.

    No pickles are loaded; the uncompressed size of each array is planned
    against the memory first (a small zip can hold a huge array).
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in names if k not in archive.files]
            if missing:
                raise DataError(
                    f"{label}: the .npz has arrays {sorted(archive.files)[:10]} but needs "
                    f"{' and '.join(missing)}; {hint}"
                )
            size = sum(archive.zip.getinfo(f"{k}.npy").file_size for k in names)
            require(2 * size, f"{label} ({size:,} bytes uncompressed)", "use a smaller file")
            return [archive[k] for k in names]
    except (DataError, EstimationError):
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{label}: not a readable .npz file ({exc})") from None


@dataclass(frozen=True)
class Positions:
    """How errors name a row and a column of X: NumPy's 0-based ``X[i]``, ``X[:, j]``
    for arrays; for a CSV file, the file's own line and column (1-based, the header
    and blank lines counted), as an editor shows them."""

    lines: tuple[int, ...] | None = None  # the file line of each data row (CSV)

    def row(self, i: int) -> str:
        return f"X[{i}]" if self.lines is None else f"line {self.lines[i]}"

    def column(self, j: int) -> str:
        return f"X[:, {j}]" if self.lines is None else f"column {j + 1}"


def _read_npz(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, Positions]:
    X, y = read_npz(path, ("X", "y"), label, "save with np.savez(path, X=X, y=y)")
    return X, y, Positions()


def _read_csv(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, Positions]:
    """X and y of a CSV file (y the last column; a first row without numbers is a header).

    Errors name the file's line and column (1-based, header and blank lines counted).
    """
    # parsing keeps ~10 Python objects per cell: plan for it before reading
    require(40 * path.stat().st_size, f"{label} ({path.stat().st_size:,} bytes)", "use .npz")
    rows: list[list[str]] = []
    lines: list[int] = []  # the line each kept record starts on
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            start = 1
            for record in reader:
                if record and any(c.strip() for c in record):
                    rows.append(record)
                    lines.append(start)
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{label}: not a readable CSV text file ({exc})") from None
    if rows and _no_numbers(rows[0]):
        rows, lines = rows[1:], lines[1:]  # a header: no cell of the first row is a number
    if not rows:
        raise DataError(f"{label}: no data rows; write one point per row, y in the last column")
    width = len(rows[0])
    if width < 2:
        raise DataError(f"{label}: needs at least 2 columns (inputs, then y); found {width}")
    values = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(
                f"{label}: line {lines[i]} has {len(row)} columns, line {lines[0]} "
                f"(the first data row) has {width}"
            )
        for j, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"{label}: line {lines[i]}, column {j + 1}: {cell.strip()!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise DataError(
                    f"{label}: line {lines[i]}, column {j + 1}: {cell.strip()!r}; "
                    "values must be finite"
                )
            values[i, j] = value
    return values[:, :-1], values[:, -1], Positions(tuple(lines))


def _no_numbers(row: list[str]) -> bool:
    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    return not any(number(c) for c in row)


def check_arrays(X: object, y: object, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes, dtypes and finiteness of user-given X (n, d) and y (n,)."""
    X = np.asarray(X)
    y = np.asarray(y)
    require_real(X, "X", label)
    require_real(y, "y", label)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{label}: X must be a non-empty (n, d) matrix, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise DataError(
            f"{label}: y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}"
        )
    X = X.astype(np.float64)
    y = y.astype(np.float64)
    require_finite(X, "X", label)
    require_finite(y, "y", label)
    return X, y


def normalize_inputs(
    X: np.ndarray,
    how: str,
    label: str = "data.normalize",
    positions: Positions = Positions(),
    source: str = "",
) -> np.ndarray:
    """``standardize``: columns to mean 0, std 1; ``sphere``: rows to ‖x‖ = √d; ``none``.

    Errors name the row or column by ``positions`` (of the file ``source``, if given).
    """
    of = f" of {source}" if source else ""
    if how == "standardize":
        std = X.std(axis=0)
        flat = np.flatnonzero(std == 0)
        if flat.size:
            raise DataError(
                f"{label}: standardize: {positions.column(int(flat[0]))}{of} is constant; "
                "drop it or use normalize: none"
            )
        return (X - X.mean(axis=0)) / std
    if how == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        zero = np.flatnonzero(norms[:, 0] == 0)
        if zero.size:
            raise DataError(
                f"{label}: sphere: {positions.row(int(zero[0]))}{of} is zero and has no "
                "direction; remove it or use normalize: none"
            )
        return X * (math.sqrt(X.shape[1]) / norms)
    return X


def load_data(loaded: LoadedSpec, rng: np.random.Generator) -> Dataset:
    """The spec's dataset; relative paths resolve against the spec's folder."""
    ds = loaded.spec.data
    if ds.source == "synthetic":
        assert ds.n is not None and ds.d is not None
        X, y = synthetic_data(
            ds.n, ds.d, inputs=ds.inputs, target=ds.target, noise=ds.noise, rng=rng
        )
        description = f"synthetic: {ds.inputs} inputs, {ds.target} targets"
        if ds.noise:
            description += f", noise {ds.noise:g}"
        positions, source = Positions(), ""
    else:
        assert ds.path is not None
        path = loaded.resolve(ds.path)
        label = f"data.path {ds.path!r}"
        check_file(loaded, path, "data", "path")
        reader = _read_npz if path.suffix.lower() == ".npz" else _read_csv
        X, y, positions = reader(path, label)
        X, y = check_arrays(X, y, label)
        description = f"file {ds.path}"
        source = repr(ds.path)
    X = normalize_inputs(X, ds.normalize, positions=positions, source=source)
    if ds.normalize != "none":
        description += f", normalize {ds.normalize}"
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), description=description)
