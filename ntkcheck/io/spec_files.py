"""The files a spec names (``data.path``, the family's weight file): which they are, and
that each is a regular file, before anything reads them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..models.registry import family_spec
from .loaded import LoadedSpec


def referenced_files(loaded: LoadedSpec) -> list[tuple[tuple[str, str], str]]:
    """The files the spec names, as ``(key path, the path as written)``: ``data.path``
    with ``source: file``, then the ``model:`` block's (its family says which)."""
    s = loaded.spec
    out: list[tuple[tuple[str, str], str]] = []
    if s.data.source == "file" and s.data.path is not None:
        out.append((("data", "path"), s.data.path))
    out += family_spec(s.model.architecture).files(s.model)
    return out


def check_file(loaded: LoadedSpec, path: Path, *key: str) -> None:
    """A clear error unless ``path`` is a regular file (never block on a FIFO or device)."""
    if not path.exists():
        raise loaded.error(
            f"file not found: {path}; correct the path (a relative one starts at the spec's "
            "folder) or create the file",
            *key,
        )
    if not path.is_file():
        raise loaded.error(f"{path} is not a regular file (a folder or a device)", *key)


def check_referenced_files(loaded: LoadedSpec) -> None:
    """Every file the spec names exists and is a regular file (its contents are not read);
    ``source: sklearn`` finds scikit-learn installed (not imported)."""
    for key, written in referenced_files(loaded):
        check_file(loaded, loaded.resolve(written), *key)
    if loaded.spec.data.source == "sklearn":
        require_sklearn(loaded)


def require_sklearn(loaded: LoadedSpec) -> None:
    """A located error naming the extra unless scikit-learn can be imported."""
    if importlib.util.find_spec("sklearn") is None:
        raise loaded.error(
            'sklearn needs scikit-learn, an optional extra: pip install "ntkcheck[datasets]"',
            "data",
            "source",
        )
