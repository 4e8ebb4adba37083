"""For notebooks: certify or simulate a PyTorch module on arrays, or a spec (issue 20, item 3).

    import ntkcheck, torch
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Tanh(),
                              torch.nn.Flatten(), torch.nn.Linear(144, 1))
    result = ntkcheck.certify(net, X, y, gamma=1e5)      # X (n, 1, 8, 8), y (n,)
    result.verdict.status, result.estimate.sigma_min, result.to_dict()["certificate"]

A module object is the user's own code, given explicitly: no ``--allow-code`` is needed.
A spec path runs its factory only with ``allow_code=True``. The result is the
``CertifyResult`` the CLI reports, with ``to_dict()``: the JSON document's result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import require_finite, require_real
from .errors import DataError
from .io.code import allowing_code
from .io.loading import load_spec, parse_spec
from .models.registry import family_attribute
from .problem import Problem
from .report.document import result_dict
from .run.job import certify_spec, measure_problem, run_at, simulate_spec
from .run.result import CertifyResult
from .run.settings import DEFAULT, RunSettings


@dataclass(frozen=True)
class Result(CertifyResult):
    """A :class:`CertifyResult` whose ``to_dict()`` is the JSON document's result."""

    def to_dict(self) -> dict[str, Any]:
        return result_dict(self)


def _result(r: CertifyResult) -> Result:
    return Result(**{f.name: getattr(r, f.name) for f in fields(CertifyResult)})


def _spec_text(name: str, gamma: float, seed: int, lr: float | None, steps: int | None,
               loss: str, theorem: str) -> str:  # fmt: skip
    train = (
        f"train: {{method: gd, lr: {lr!r}, steps: {steps if steps is not None else 1000}, "
        f"loss: {loss}}}\n"
        if lr is not None
        else ""
    )
    return (
        f"name: {name}\nseed: {seed}\ngamma: {float(gamma)!r}\n"
        "data: {source: synthetic, n: 1, d: 1}\n"  # not read: the arrays are the data
        'model: {architecture: torch, factory: "module.py:module"}\n'
        f"certify: {{theorem: {theorem}}}\n{train}"
    )


def _arrays(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """X (n, …) and y (n,) or (n, C) as float64, checked; C."""
    X = np.asarray(X.detach().cpu().numpy() if hasattr(X, "detach") else X, dtype=np.float64)
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y, dtype=np.float64)
    label = "ntkcheck.certify"
    require_real(X, "X", label)
    require_real(y, "y", label)
    if X.ndim < 2 or X.shape[0] == 0:
        raise DataError(f"{label}: X must have shape (n, …) with n ≥ 1, got {X.shape}")
    n = X.shape[0]
    if y.ndim == 1 and y.shape[0] == n:
        outputs = 1
    elif y.ndim == 2 and y.shape[0] == n:
        outputs = y.shape[1]
    else:
        raise DataError(f"{label}: y must have shape ({n},) or ({n}, C), got {y.shape}")
    require_finite(X, "X", label)
    require_finite(y, "y", label)
    return X, y.reshape(-1), outputs


def _run_module(
    module: Any,
    X: Any,
    y: Any,
    *,
    gamma: float,
    simulate: bool,
    lr: float | None,
    steps: int | None,
    loss: str,
    centered: bool,
    dtype: str,
    input_shape: tuple[int, ...] | None,
    recognize: bool,
    seed: int,
    theorem: str,
    settings: RunSettings,
) -> Result:
    start = time.perf_counter()
    X, y, outputs = _arrays(X, y)
    from_module = family_attribute("torch", "from_module")
    d = X.shape[1] if X.ndim == 2 else None
    model = from_module(
        module, dtype=dtype, outputs=outputs, input_shape=input_shape, recognize=recognize, d=d
    )
    name = type(module).__name__
    loaded = parse_spec(
        _spec_text(name, gamma, seed, lr, steps, loss, theorem),
        source=f"<{name}>",
        base_dir=Path("."),
    )
    f0 = model.forward(X)
    problem = Problem(
        name=name,
        source="python",
        X=X,
        y=y,
        data=f"arrays X {tuple(X.shape)}, y ({y.size},)",
        model=model,
        init="module",
        centered=centered,
        f0=f0,
        f0_zero=False,
        outputs=outputs,
    )
    shared = measure_problem(loaded, problem, settings, time.perf_counter() - start)
    return _result(run_at(shared, loaded.spec.gamma, settings, simulate_flow=simulate)[0])


def _run(
    model: Any, X: Any, y: Any, *, gamma: float | None, simulate: bool, lr: float | None,
    steps: int | None, allow_code: bool, settings: RunSettings, **module_options: Any,
) -> Result:  # fmt: skip
    """:func:`certify` (``simulate`` False) or :func:`simulate` of a spec path or a module."""
    if isinstance(model, (str, Path)):
        keys = {"gamma": gamma, "train.lr": lr, "train.steps": steps}
        overrides = {k: v for k, v in keys.items() if v is not None}
        run_spec = simulate_spec if simulate else certify_spec
        with allowing_code(allow_code):
            return _result(run_spec(load_spec(Path(model), overrides), settings))
    if gamma is None or X is None or y is None:
        name = "simulate" if simulate else "certify"
        raise DataError(f"ntkcheck.{name}(module, X, y, gamma=…): X, y and gamma are required")
    return _run_module(
        model,
        X,
        y,
        gamma=gamma,
        simulate=simulate,
        lr=lr,
        steps=steps,
        settings=settings,
        **module_options,
    )


def certify(
    model: Any,
    X: Any = None,
    y: Any = None,
    *,
    gamma: float | None = None,
    lr: float | None = None,
    steps: int | None = None,
    loss: str = "half_sum",
    centered: bool = False,
    dtype: str = "float64",
    input_shape: tuple[int, ...] | None = None,
    recognize: bool = True,
    seed: int = 0,
    theorem: str = "path",
    allow_code: bool = False,
    settings: RunSettings = DEFAULT,
) -> Result:
    """Certify ``γ·f_θ`` for an ``nn.Module`` on arrays X (n, …), y (n,) or (n, C) — or
    a spec (a path; ``gamma``/``lr``/``steps`` override it; ``allow_code`` lets its
    factory run). ``lr`` certifies gradient descent with that step (``loss`` its
    convention, THEORY.md §13), else gradient flow."""
    return _run(
        model, X, y, gamma=gamma, simulate=False, lr=lr, steps=steps, loss=loss,
        centered=centered, dtype=dtype, input_shape=input_shape, recognize=recognize,
        seed=seed, theorem=theorem, allow_code=allow_code, settings=settings,
    )  # fmt: skip


def simulate(
    model: Any,
    X: Any = None,
    y: Any = None,
    *,
    gamma: float | None = None,
    lr: float | None = None,
    steps: int | None = None,
    loss: str = "half_sum",
    centered: bool = False,
    dtype: str = "float64",
    input_shape: tuple[int, ...] | None = None,
    recognize: bool = True,
    seed: int = 0,
    theorem: str = "path",
    allow_code: bool = False,
    settings: RunSettings = DEFAULT,
) -> Result:
    """As :func:`certify`, then train the module and its linearization (gradient flow, or
    GD with ``lr``) and check C1–C5 (G1–G5): ``result.simulation``."""
    return _run(
        model, X, y, gamma=gamma, simulate=True, lr=lr, steps=steps, loss=loss,
        centered=centered, dtype=dtype, input_shape=input_shape, recognize=recognize,
        seed=seed, theorem=theorem, allow_code=allow_code, settings=settings,
    )  # fmt: skip
