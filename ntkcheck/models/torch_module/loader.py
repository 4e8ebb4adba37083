"""Import a factory file and call it: every failure one line naming the factory and the fix.

Only reached when the run allows code (``--allow-code``; ``io.build`` checks it before the
family is loaded). The file's folder is on ``sys.path`` while it is imported, so it may
import its neighbours.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import DataError

#: How to install what the family needs (one line where torch is missing).
INSTALL = 'pip install "ntkcheck[torch]"'


def import_torch() -> ModuleType:
    """``torch``, or a one-line error naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise DataError(
            f"model.architecture: torch needs PyTorch, which is not installed; {INSTALL}"
        ) from None
    return torch


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def import_file(path: Path, label: str) -> ModuleType:
    """The module of the Python file ``path`` (a fresh import each time it changes)."""
    if not path.is_file():
        raise DataError(f"{label}: no file {path}; fix the path (relative to the spec's folder)")
    text = path.read_bytes()
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + text).hexdigest()[:16]
    name = f"ntkcheck_factory_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DataError(f"{label}: {path} cannot be imported as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes defined there pickle by reference within a run
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise DataError(
            f"{label}: importing {path} raised {_describe(exc)}; fix the file"
        ) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def find_function(module: ModuleType, name: str, path: Path, label: str) -> Callable[..., Any]:
    """The factory function ``name`` of the imported file."""
    fn = getattr(module, name, None)
    if fn is None:
        defined = sorted(
            k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
        )
        hint = f" (it defines {', '.join(defined[:8])})" if defined else ""
        raise DataError(f"{label}: {path} has no function {name!r}{hint}; fix model.factory")
    if not callable(fn):
        raise DataError(f"{label}: {name!r} in {path} is not a function; fix model.factory")
    return fn  # type: ignore[no-any-return]


def call_factory(fn: Callable[..., Any], kwargs: Mapping[str, Any], seed: int, label: str) -> Any:
    """``fn(**kwargs)`` with torch's global generator seeded by ``seed`` (and restored),
    so the module's initial weights follow the spec's seed; the result is a Module."""
    torch = import_torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            module = fn(**kwargs)
        except Exception as exc:
            raise DataError(
                f"{label}: calling it raised {_describe(exc)}; fix the factory or model.kwargs"
            ) from None
    if not isinstance(module, torch.nn.Module):
        raise DataError(
            f"{label}: returned a {type(module).__name__}, not a torch.nn.Module; "
            "return the network itself"
        )
    return module
