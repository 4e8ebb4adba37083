"""The datasets scikit-learn ships in its wheel (``data: {source: sklearn, name: …}``).

Their sizes and classes are written here, without NumPy or scikit-learn, so that
``ntkcheck validate`` checks ``n`` and ``classes`` against them and the memory plan
runs before anything is loaded; ``tests/test_io_data.py`` compares the table with the
loaders. Loading (``io.data``) imports scikit-learn, an optional extra
(``pip install "ntkcheck[datasets]"``); nothing is ever downloaded (``load_*``, never
``fetch_*``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BundledDataset:
    """One of scikit-learn's bundled datasets: ``samples`` × ``features``, and for a
    classification set its class names (in label order: label k is ``classes[k]``)
    and the samples of each class."""

    name: str
    samples: int
    features: int
    classes: tuple[str, ...] | None = None
    counts: tuple[int, ...] | None = None
    about: str = ""


def _digits() -> tuple[str, ...]:
    return tuple(str(k) for k in range(10))


#: Every dataset ``source: sklearn`` reads, by ``name``.
SKLEARN_DATASETS: dict[str, BundledDataset] = {
    d.name: d
    for d in (
        BundledDataset(
            "digits",
            1797,
            64,
            _digits(),
            (178, 182, 177, 183, 181, 182, 181, 179, 174, 180),
            "8×8 images of handwritten digits, pixels 0–16",
        ),
        BundledDataset(
            "iris", 150, 4, ("setosa", "versicolor", "virginica"), (50, 50, 50), "iris flowers"
        ),
        BundledDataset(
            "wine", 178, 13, ("class_0", "class_1", "class_2"), (59, 71, 48), "wine cultivars"
        ),
        BundledDataset(
            "breast_cancer",
            569,
            30,
            ("malignant", "benign"),
            (212, 357),
            "breast tumour measurements",
        ),
        BundledDataset(
            "diabetes",
            442,
            10,
            about="disease progression (regression; the target standardized)",
        ),
    )
}


def class_index(
    given: int | str, names: tuple[str, ...], labels: tuple[int, ...] | None = None
) -> int | None:
    """The position in ``names`` of a class given by its label value (an int: the label
    ``labels[k]``, or k itself when ``labels`` is None) or by its name (a str); None if
    there is no such class."""
    if isinstance(given, str):
        return names.index(given) if given in names else None
    values = labels if labels is not None else tuple(range(len(names)))
    return values.index(given) if given in values else None


def chosen_classes(given: int | list[int | str] | None, count: int | None) -> str | None:
    """Why ``classes`` cannot select among ``count`` classes (None when it can; ``count``
    None: not known before the data is read): a count K (the first K) needs
    2 ≤ K ≤ count; a list needs 2 distinct entries."""
    if given is None:
        return None
    if isinstance(given, int):
        if count is None and given < 2:
            return f"a count of classes must be at least 2; got {given}"
        if count is not None and not 2 <= given <= count:
            return f"a count of classes must be from 2 to {count} (the dataset's); got {given}"
        return None
    if len(given) < 2:
        return f"list at least 2 classes; got {given!r}"
    seen = [g for i, g in enumerate(given) if g in given[:i]]
    if seen:
        return f"{seen[0]!r} is listed twice; list each class once"
    return None
