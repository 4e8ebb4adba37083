"""Training data from the spec (block ``data:``): synthetic, a file, or a dataset that
scikit-learn ships.

Targets have C columns (THEORY.md §14): regression targets Y (n, C), or class labels
(n,) that ``data.encoding`` turns into Y. A :class:`Dataset` holds them stacked
point-major, ``y = Y.reshape(-1)`` (row ``j·C + c`` is output c of point j;
docs/DESIGN.md "Several outputs"); C = 1 is the single-target layout of before.
"""

from __future__ import annotations

import csv
import difflib
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arrays import require_finite, require_real
from ..errors import DataError, EstimationError
from ..linalg.memory import require
from .datasets import SKLEARN_DATASETS, class_index
from .loaded import LoadedSpec
from .spec_files import check_file, require_sklearn

#: ``data.encoding``: how class labels become targets (README, "The spec").
ENCODINGS = ("onehot", "centered", "pm1")
#: The encoding of class labels when the spec names none.
DEFAULT_ENCODING = "onehot"
#: The extra that installs scikit-learn (``source: sklearn``).
DATASETS_EXTRA = 'pip install "ntkcheck[datasets]"'


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``X`` (n, d) and targets ``y`` (m,) = ``Y.reshape(-1)``, m = n·C, float64.

    ``labels`` (n,) are class indices into ``classes`` (the class names) when the
    targets encode classes, else None; ``description`` is one line for reports;
    ``input_shape``: the shape of one input when the file's X is (n, …) with more than
    two axes (X then holds its flat rows, (n, prod)), else None.
    """

    X: np.ndarray
    y: np.ndarray
    description: str
    outputs: int = 1
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    input_shape: tuple[int, ...] | None = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def rows(self) -> int:
        """m = n·C (THEORY.md §14)."""
        return self.n * self.outputs

    @property
    def Y(self) -> np.ndarray:
        """The targets as (n, C)."""
        return self.y.reshape(self.n, self.outputs)


@dataclass(frozen=True, eq=False)
class Targets:
    """What a source gives: regression targets ``Y`` (n, C), or class ``labels`` (n,),
    indices into the class names ``classes``."""

    Y: np.ndarray | None = None
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None


def encode_labels(labels: np.ndarray, classes: int, encoding: str) -> np.ndarray:
    """Targets (n, C) of class indices ``labels`` (n,), C = ``classes``, e_k the k-th unit
    vector: ``onehot`` e_k (0/1); ``centered`` e_k − 1/C (rows sum to 0); ``pm1`` 2e_k − 1 (±1)."""
    onehot = np.zeros((labels.shape[0], classes))
    onehot[np.arange(labels.shape[0]), labels] = 1.0
    if encoding == "centered":
        return onehot - 1.0 / classes
    if encoding == "pm1":
        return 2.0 * onehot - 1.0
    return onehot


def stratified_sample(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` of the points (ascending), stratified by class.

    Class k, with N_k of the N points, gets ⌊n·N_k/N⌋ of them; the n − Σ⌊·⌋ left over go
    one each to the largest remainders n·N_k mod N (ties: the lower k) — so every class
    gets n·N_k/N rounded down or up. Each class's points are drawn uniformly without
    replacement (``rng.permutation``, class by class in index order). All N when n ≥ N.
    """
    total = labels.shape[0]
    if n >= total:
        return np.arange(total)
    counts = np.bincount(labels)
    take, remainder = np.divmod(n * counts, total)
    order = np.lexsort((np.arange(counts.size), -remainder))
    take[order[: n - int(take.sum())]] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == k))[: take[k]] for k in range(counts.size)]
    return np.sort(np.concatenate(chosen))


def _unit_rms(v: np.ndarray) -> np.ndarray:
    rms = math.sqrt(float(np.mean(v * v)))
    return v / rms if rms > 0 else v


def synthetic_data(
    n: int,
    d: int,
    *,
    inputs: str,
    target: str,
    noise: float,
    rng: np.random.Generator,
    outputs: int = 1,
) -> tuple[np.ndarray, Targets]:
    """Synthetic ``X`` (n, d) and targets with C = ``outputs`` columns.

    Inputs: ``gaussian`` rows ~ N(0, I_d); ``sphere`` rows uniform on ‖x‖ = √d. With
    C teacher directions w*_c uniform on the unit sphere (independent; ⟨w*_c, x⟩ has
    unit variance), column c of the targets is ``teacher`` tanh(⟨w*_c, x⟩), ``linear``
    ⟨w*_c, x⟩, ``sign`` sign(⟨w*_c, x⟩), ``random`` N(0,1) — each column then scaled to
    unit root-mean-square and ``noise``·N(0,1) added. ``classes``: labels
    argmax_c ⟨w*_c, x⟩ (C ≥ 2 classes; encoded by the caller, no noise). C = 1 draws
    the random numbers of the single-target generator, in its order.
    """
    X = rng.standard_normal((n, d))
    if inputs == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X *= math.sqrt(d) / np.where(norms > 0, norms, 1.0)
    columns = []
    for w in rng.standard_normal((outputs, d)):
        columns.append(X @ (w / (np.linalg.norm(w) or 1.0)))
    Z = np.stack(columns, axis=1)
    if target == "classes":
        labels = np.argmax(Z, axis=1)
        return X, Targets(labels=labels, classes=tuple(str(c) for c in range(outputs)))
    Y = {
        "teacher": lambda: np.tanh(Z),
        "linear": lambda: Z,
        "sign": lambda: np.where(Z >= 0, 1.0, -1.0),
        "random": lambda: rng.standard_normal((n, outputs)),
    }[target]()
    Y = np.stack([_unit_rms(np.ascontiguousarray(Y[:, c])) for c in range(outputs)], axis=1)
    if noise > 0:
        Y = Y + noise * rng.standard_normal((n, outputs))
    return X, Targets(Y=Y)


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
    columns: tuple[int, ...] | None = None  # the file column of each column of X (CSV)

    def row(self, i: int) -> str:
        return f"X[{i}]" if self.lines is None else f"line {self.lines[i]}"

    def column(self, j: int) -> str:
        if self.lines is None:
            return f"X[:, {j}]"
        return f"column {(self.columns[j] if self.columns else j) + 1}"


#: Raises the error of a ``data:`` key: ``(message, key)`` → a located spec error.
RaiseAt = Callable[[str, str], Exception]


def _read_npz(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, Positions]:
    X, y = read_npz(path, ("X", "y"), label, "save with np.savez(path, X=X, y=y)")
    return X, y, Positions()


def _csv_records(path: Path, label: str) -> tuple[list[list[str]], list[int], list[str] | None]:
    """The non-blank records of a CSV file, the line each starts on, and its header (a
    first row without numbers), or None."""
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
    header = None
    if rows and _no_numbers(rows[0]):
        header = [c.strip() for c in rows[0]]
        rows, lines = rows[1:], lines[1:]
    return rows, lines, header


def _label_column(
    given: int | str, header: list[str] | None, width: int, shown: str, error: RaiseAt
) -> int:
    """The 0-based index of ``label_column`` (a header name, or a 1-based column number;
    negative counts from the last column)."""
    if isinstance(given, str):
        if header is None:
            raise error(
                f"{given!r} names a column but {shown} has no header row (its first row "
                f"holds numbers); give the column's number, 1 to {width} (-1: the last)",
                "label_column",
            )
        if given not in header:
            close = difflib.get_close_matches(given, header, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            names = ", ".join(header[:20]) + (", …" if len(header) > 20 else "")
            raise error(
                f"{given!r} is not a column of {shown}; {hint}its columns: {names}",
                "label_column",
            )
        return header.index(given)
    if given == 0 or abs(given) > width:
        raise error(
            f"column {given} does not exist: {shown} has {width} columns; give 1 to {width} "
            "(counted from 1, as error messages count them; -1 is the last) or a header name",
            "label_column",
        )
    return given - 1 if given > 0 else width + given


def _read_csv(
    path: Path,
    label: str,
    target_columns: int | None,
    label_column: int | str | None,
    error: RaiseAt,
) -> tuple[np.ndarray, np.ndarray, Positions, bool]:
    """X, the targets and positions of a CSV file, and whether the targets are labels.

    Targets: the last ``target_columns`` columns (default 1: the last column), or the
    integer class labels of ``label_column`` (any column; the others are X). Errors name
    the file's line and column (1-based, header and blank lines counted).
    """
    rows, lines, header = _csv_records(path, label)
    shown = repr(path.name) if label_column is not None or target_columns else label
    if not rows:
        raise DataError(f"{label}: no data rows; write one point per row, y in the last column")
    width = len(rows[0])
    if width < 2:
        raise DataError(f"{label}: needs at least 2 columns (inputs, then y); found {width}")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(
                f"{label}: line {lines[i]} has {len(row)} columns, line {lines[0]} "
                f"(the first data row) has {width}"
            )
    if label_column is not None:
        target = [_label_column(label_column, header, width, shown, error)]
    else:
        k = target_columns or 1
        if k >= width:
            raise error(
                f"{k} target columns leave no input column: {shown} has {width} columns; "
                f"use at most {width - 1}",
                "target_columns",
            )
        target = list(range(width - k, width))
    values = np.empty((len(rows), width))
    labels = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if label_column is not None and j == target[0]:
                labels[i] = _integer_label(cell, f"{label}: line {lines[i]}, column {j + 1}")
                continue
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
    inputs = [j for j in range(width) if j not in target]
    if label_column is not None:
        X = np.ascontiguousarray(values[:, inputs])
        return X, labels, Positions(tuple(lines), tuple(inputs)), True
    k = len(target)  # slices, not index lists: X C-ordered, as every reduction expects
    return (
        values[:, :-k],
        values[:, -k:] if k > 1 else values[:, -1],
        Positions(tuple(lines)),
        False,
    )


#: Class labels are whole numbers below this in magnitude (exact in float64 and int64).
_MAX_LABEL = 2.0**53


def _integer_label(cell: str, where: str) -> int:
    """A class label: a whole number (``3``, ``3.0``), |label| < 2⁵³."""
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not (value.is_integer() and abs(value) < _MAX_LABEL):
        raise DataError(
            f"{where}: {cell.strip()!r} is not an integer class label; labels are whole "
            "numbers (map class names to 0, 1, …), or use target_columns for regression"
        )
    return int(value)


def _no_numbers(row: list[str]) -> bool:
    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    return not any(number(c) for c in row)


def check_arrays(X: object, y: object, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate user-given X (n, d) — or (n, …), inputs of any shape — and y (n,) or
    (n, C); float64 copies (y (n, 1) → (n,))."""
    X = np.asarray(X)
    y = np.asarray(y)
    require_real(X, "X", label)
    require_real(y, "y", label)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if X.ndim < 2 or 0 in X.shape:
        raise DataError(
            f"{label}: X must be a non-empty (n, d) matrix (or (n, …) inputs), got shape {X.shape}"
        )
    n = X.shape[0]
    if not (y.shape == (n,) or (y.ndim == 2 and y.shape[0] == n and y.shape[1] >= 1)):
        raise DataError(
            f"{label}: y must have shape ({n},) (one target, or class labels) or ({n}, C) "
            f"(C targets) to match X {X.shape}, got {y.shape}"
        )
    X = X.astype(np.float64)
    y = y.astype(np.float64)
    require_finite(X, "X", label)
    require_finite(y, "y", label)
    return X, y


def _file_labels(y: np.ndarray, label: str) -> np.ndarray:
    """The vector y of an .npz with ``encoding`` as int64 class labels (whole numbers)."""
    bad = np.flatnonzero((y != np.round(y)) | (np.abs(y) >= _MAX_LABEL))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{label}: y[{i}] = {float(y[i])!r} is not an integer class label (with "
            "`encoding` given, a vector y holds class labels); save the labels as "
            "integers, or remove encoding to read y as a regression target"
        )
    return y.astype(np.int64)


def select_classes(
    labels: np.ndarray,
    values: tuple[int, ...],
    names: tuple[str, ...],
    given: int | list[int | str] | None,
    where: str,
    error: RaiseAt,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The points of the chosen classes, their class indices, the chosen class names.

    ``labels`` (n,) are positions in ``values``/``names`` (the label values and names of
    the classes present). ``given``: None (all, in order), K (the first K) or a list of
    label values (ints) or names (strs) — the order given is the order of the outputs.
    """
    if given is None:
        chosen = list(range(len(values)))
    elif isinstance(given, int):
        if given > len(values):
            raise error(
                f"{given} classes asked for but {where} has {len(values)} "
                f"({', '.join(names[:12])}); use at most {len(values)}",
                "classes",
            )
        chosen = list(range(given))
    else:
        chosen = []
        for g in given:
            k = class_index(g, names, values)
            if k is None:
                raise error(
                    f"class {g!r} has no sample in {where} (its classes: "
                    f"{', '.join(names[:12])}{', …' if len(names) > 12 else ''}); remove it",
                    "classes",
                )
            chosen.append(k)
    if len(chosen) < 2:
        raise error(
            f"{where} has only one class ({names[0]}); classification needs at least 2",
            "classes",
        )
    position = np.full(len(values), -1)
    position[chosen] = np.arange(len(chosen))
    keep = np.flatnonzero(position[labels] >= 0)
    return keep, position[labels[keep]], tuple(names[k] for k in chosen)


def normalize_inputs(
    X: np.ndarray,
    how: str,
    label: str = "data.normalize",
    positions: Positions = Positions(),
    source: str = "",
    droppable: bool = True,
) -> np.ndarray:
    """``standardize``: columns to mean 0, std 1; ``sphere``: rows to ‖x‖ = √d; ``none``.

    Errors name the row or column by ``positions`` (of the file ``source``, if given);
    ``droppable``: the fix may say to drop the column or row (a file's, not a library's).
    """
    of = f" of {source}" if source else ""
    if how == "standardize":
        std = X.std(axis=0)
        flat = np.flatnonzero(std == 0)
        if flat.size:
            fix = "drop it or use normalize: none" if droppable else "use normalize: sphere or none"
            raise DataError(
                f"{label}: standardize: {positions.column(int(flat[0]))}{of} is constant; {fix}"
            )
        return (X - X.mean(axis=0)) / std
    if how == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        zero = np.flatnonzero(norms[:, 0] == 0)
        if zero.size:
            fix = "remove it or use normalize: none" if droppable else "use normalize: none"
            raise DataError(
                f"{label}: sphere: {positions.row(int(zero[0]))}{of} is zero and has no "
                f"direction; {fix}"
            )
        return X * (math.sqrt(X.shape[1]) / norms)
    return X


def sklearn_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """X and the target of scikit-learn's bundled dataset ``name`` (``load_<name>``: read
    from the installed wheel, never downloaded). diabetes: the raw inputs
    (``scaled=False``) and the target standardized to mean 0, std 1."""
    try:
        from sklearn import datasets
    except ImportError:
        raise DataError(
            f"data.source: sklearn needs scikit-learn, an optional extra: {DATASETS_EXTRA}"
        ) from None
    if name == "diabetes":
        bunch = datasets.load_diabetes(scaled=False)
        t = np.asarray(bunch.target, dtype=np.float64)
        return np.asarray(bunch.data, dtype=np.float64), (t - t.mean()) / t.std()
    bunch = getattr(datasets, f"load_{name}")()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def _targets(
    targets: Targets, encoding: str | None
) -> tuple[np.ndarray, int, np.ndarray | None, tuple[str, ...] | None]:
    """(Y (n, C), C, labels, classes): class labels encoded (default one-hot)."""
    if targets.labels is None:
        assert targets.Y is not None
        Y = targets.Y if targets.Y.ndim == 2 else targets.Y[:, None]
        return Y, Y.shape[1], None, None
    assert targets.classes is not None
    C = len(targets.classes)
    Y = encode_labels(targets.labels, C, encoding or DEFAULT_ENCODING)
    return Y, C, targets.labels, targets.classes


def _classes_text(classes: tuple[str, ...] | None, encoding: str | None) -> str:
    assert classes is not None
    return f"{len(classes)} classes, {encoding or DEFAULT_ENCODING} targets"


def load_data(loaded: LoadedSpec, rng: np.random.Generator) -> Dataset:
    """The spec's dataset; relative paths resolve against the spec's folder."""
    ds = loaded.spec.data

    def error(message: str, key: str) -> Exception:
        return loaded.error(message, "data", key)

    positions, source, droppable = Positions(), "", True
    if ds.source == "synthetic":
        assert ds.n is not None and ds.d is not None
        C = ds.outputs or 1
        X, targets = synthetic_data(
            ds.n, ds.d, inputs=ds.inputs, target=ds.target, noise=ds.noise, rng=rng, outputs=C
        )
        if ds.target == "classes":
            description = (
                f"synthetic: {ds.inputs} inputs, {_classes_text(targets.classes, ds.encoding)}"
            )
            description += " (argmax of a random linear teacher)"
        else:
            description = f"synthetic: {ds.inputs} inputs, {ds.target} targets"
            if C > 1:
                description += f", {C} outputs"
        if ds.noise:
            description += f", noise {ds.noise:g}"
    elif ds.source == "sklearn":
        assert ds.name is not None
        require_sklearn(loaded)
        X, targets, description = _sklearn_data(ds.name, ds.n, ds.classes, ds.encoding, rng, error)
        source, droppable = ds.name, False
    else:
        X, targets, positions = _file_data(loaded, error)
        description = f"file {ds.path}"
        if targets.labels is not None:
            description += f", {_classes_text(targets.classes, ds.encoding)}"
        elif targets.Y is not None and targets.Y.ndim == 2:
            description += f", {targets.Y.shape[1]} target columns"
        source = repr(ds.path)
    input_shape = tuple(int(k) for k in X.shape[1:]) if X.ndim > 2 else None
    X = X.reshape(X.shape[0], -1)  # (n, …) inputs as flat rows
    X = normalize_inputs(X, ds.normalize, positions=positions, source=source, droppable=droppable)
    if ds.normalize != "none":
        description += f", normalize {ds.normalize}"
    Y, C, labels, classes = _targets(targets, ds.encoding)
    return Dataset(
        X=np.ascontiguousarray(X),
        y=np.ascontiguousarray(Y).reshape(-1),
        description=description,
        outputs=C,
        labels=labels,
        classes=classes,
        input_shape=input_shape,
    )


def _file_data(loaded: LoadedSpec, error: RaiseAt) -> tuple[np.ndarray, Targets, Positions]:
    """X and targets of ``data.path`` (.npz: arrays X and y; .csv: columns)."""
    ds = loaded.spec.data
    assert ds.path is not None
    path = loaded.resolve(ds.path)
    label = f"data.path {ds.path!r}"
    check_file(loaded, path, "data", "path")
    if path.suffix.lower() == ".npz":
        X, y, positions = _read_npz(path, label)
        X, y = check_arrays(X, y, label)
        labelled = ds.encoding is not None
        if labelled and y.ndim == 2:
            raise error(
                f"{ds.encoding!r} encodes class labels, but y of {ds.path!r} has shape "
                f"{y.shape}: {y.shape[1]} regression targets; remove encoding, or save the "
                f"labels as a vector y ({y.shape[0]},) of integers",
                "encoding",
            )
        if labelled:
            raw = _file_labels(y, label)
    else:
        X, y, positions, labelled = _read_csv(
            path, label, ds.target_columns, ds.label_column, error
        )
        if labelled:
            raw = y
        else:
            X, y = check_arrays(X, y, label)
    if not labelled:
        return X, Targets(Y=y), positions
    values, index = np.unique(raw, return_inverse=True)
    keep, labels, classes = select_classes(
        index.reshape(-1),
        tuple(int(v) for v in values),
        tuple(str(int(v)) for v in values),
        ds.classes,
        repr(ds.path),
        error,
    )
    if positions.lines is not None:
        positions = Positions(tuple(positions.lines[i] for i in keep), positions.columns)
    return X[keep], Targets(labels=labels, classes=classes), positions


def _sklearn_data(
    name: str,
    n: int | None,
    classes: int | list[int | str] | None,
    encoding: str | None,
    rng: np.random.Generator,
    error: RaiseAt,
) -> tuple[np.ndarray, Targets, str]:
    """X and targets of a bundled dataset: the chosen classes, n points stratified by class."""
    info = SKLEARN_DATASETS[name]
    X, target = sklearn_arrays(name)
    if info.classes is None:  # regression (diabetes)
        rows = np.sort(rng.permutation(X.shape[0])[:n]) if n and n < X.shape[0] else None
        picked = f"{n} of {info.samples}" if rows is not None else f"{info.samples}"
        if rows is not None:
            X, target = X[rows], target[rows]
        return X, Targets(Y=target), f"sklearn {name}: {picked} points"
    keep, labels, names = select_classes(
        target, tuple(range(len(info.classes))), info.classes, classes, name, error
    )
    picked_rows = stratified_sample(labels, n or keep.size, rng)
    rows, labels = keep[picked_rows], labels[picked_rows]
    if np.bincount(labels, minlength=len(names)).min() == 0:
        raise error(
            f"{n} points cannot hold one of each of the {len(names)} classes; use n ≥ {len(names)}",
            "n",
        )
    picked = f"{rows.size} of {keep.size}" if rows.size < keep.size else f"{rows.size}"
    text = f"sklearn {name}: {picked} points, "
    return X[rows], Targets(labels=labels, classes=names), text + _classes_text(names, encoding)
