"""Cross-key rules that a per-key schema cannot say: ``data:`` (synthetic or a file),
the ``model:`` block's own (its family checks them), ``certify.beta: local`` (asks the
family for a relu-like activation), ``train:`` (lr and steps go with gd) and the
``sweep:`` grid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import SpecError
from ..models.registry import family_spec
from .datasets import SKLEARN_DATASETS, chosen_classes, class_index
from .loaded import LoadedSpec
from .spec_errors import show
from .spec_keys import sweep_axes


def check_rules(loaded: LoadedSpec) -> None:
    """Every cross-key rule, the first broken one a located ``SpecError``."""
    s = loaded.spec
    _check_data(loaded)
    fam = family_spec(s.model.architecture)
    fam.check(s.model, loaded)
    nonsmooth = fam.nonsmooth(s.model)
    asked = "beta" in s.certify.model_fields_set
    if not fam.analytic_beta and asked and s.certify.beta == "analytic":
        raise loaded.error(
            f"analytic needs a drift bound the model's family proves, and architecture: "
            f"{s.model.architecture} has none (THEORY.md §10, any model: estimate only); "
            "remove the key (the local β is used, and the certificate is an estimate)",
            "certify",
            "beta",
        )
    if s.certify.beta == "local" and nonsmooth is not None:
        raise loaded.error(
            f"local needs a smooth activation: σ' of {nonsmooth} jumps, so σ'' = 0 almost "
            "everywhere and β_loc says nothing; use `beta: analytic` (the activation-flip bound)",
            "certify",
            "beta",
        )
    _check_train(loaded)
    sweep_axes(loaded)


#: The ``data:`` keys each source uses (n: synthetic and sklearn; normalize: every source).
_SOURCE_KEYS = {
    "synthetic": ("n", "d", "inputs", "target", "outputs", "noise", "encoding"),
    "file": ("path", "target_columns", "label_column", "classes", "encoding"),
    "sklearn": ("n", "name", "classes", "encoding"),
}


def _check_data(loaded: LoadedSpec) -> None:
    """``data:``: each source's keys (n and d for synthetic points, a .npz or .csv path for
    a file, a name for sklearn), and the targets: C outputs or class labels with an
    encoding (THEORY.md §14)."""
    data = loaded.spec.data

    def error(message: str, key: str) -> SpecError:
        return loaded.error(message, "data", key)

    for key in sorted(data.model_fields_set, key=list(type(data).model_fields).index):
        if key in ("source", "normalize") or key in _SOURCE_KEYS[data.source]:
            continue
        users = [s for s, keys in _SOURCE_KEYS.items() if key in keys]
        only = " or ".join(f"`source: {s}`" for s in users)
        fix = f"remove it or set `source: {users[0]}`" if len(users) == 1 else "remove it"
        if key == "classes" and data.source == "synthetic":
            fix += "; synthetic classes: `target: classes` with `outputs: C`"
        raise error(f"only used with {only}, not {data.source}; {fix}", key)
    if data.source == "synthetic":
        _check_synthetic(loaded, error)
    elif data.source == "file":
        _check_file(loaded, error)
    else:
        _check_sklearn(loaded, error)


def _check_synthetic(loaded: LoadedSpec, error: Callable[[str, str], SpecError]) -> None:
    data = loaded.spec.data
    for key in ("n", "d"):
        if getattr(data, key) is None:
            raise error(f"required for source: synthetic; add `{key}:` (e.g. {key}: 64)", key)
    if data.target == "classes":
        if (data.outputs or 1) < 2:
            raise error(
                "classes needs outputs: C ≥ 2, the number of classes; add e.g. `outputs: 3`",
                "outputs" if data.outputs is not None else "target",
            )
        if data.noise:
            raise error(
                "is Gaussian noise on regression targets; class targets are exact "
                "encodings (target: classes); remove it",
                "noise",
            )
    elif data.encoding is not None:
        raise error(
            f"encodes class labels, but target: {data.target} gives regression targets; "
            "remove encoding, or set `target: classes` with `outputs: C`",
            "encoding",
        )


def _check_file(loaded: LoadedSpec, error: Callable[[str, str], SpecError]) -> None:
    data = loaded.spec.data
    if data.path is None:
        raise error(
            "required for source: file; add `path: train.npz` (arrays X, y) or a .csv", "source"
        )
    suffix = Path(data.path).suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise error(f"must be a .npz (arrays X, y) or .csv file; got {show(data.path)}", "path")
    if data.target_columns is not None and data.label_column is not None:
        raise error(
            "give either target_columns (regression targets) or label_column (class "
            "labels), not both",
            "label_column",
        )
    if suffix == ".npz":
        for key in ("target_columns", "label_column"):
            if getattr(data, key) is not None:
                raise error(
                    "only used with a .csv file; an .npz gives y as (n, C) floats (C "
                    "targets) or, with `encoding`, as (n,) integer class labels; remove it",
                    key,
                )
    labels = data.label_column is not None or (suffix == ".npz" and data.encoding is not None)
    if suffix == ".csv" and data.encoding is not None and data.label_column is None:
        k = data.target_columns or 1
        what = (
            f"the last {k} columns of {show(data.path)} are"
            if k > 1
            else (f"the last column of {show(data.path)} is")
        )
        raise error(
            f"encodes class labels, but {what} read as regression targets; name the labels "
            "with `label_column: NAME` (or its number), or remove encoding",
            "encoding",
        )
    if data.classes is not None and not labels:
        fix = "add `label_column: NAME`" if suffix == ".csv" else "add `encoding: onehot`"
        raise error(
            f"selects classes of class labels, but {show(data.path)} is read as regression "
            f"targets; {fix} to read labels, or remove classes",
            "classes",
        )
    if data.classes is not None:
        problem = chosen_classes(data.classes, None)
        if problem:
            raise error(problem, "classes")


def _check_sklearn(loaded: LoadedSpec, error: Callable[[str, str], SpecError]) -> None:
    data = loaded.spec.data
    if data.name is None:
        raise error(
            f"required for source: sklearn; add `name: digits` (one of "
            f"{', '.join(SKLEARN_DATASETS)})",
            "source",
        )
    info = SKLEARN_DATASETS[data.name]
    if info.classes is None or info.counts is None:
        for key in ("classes", "encoding"):
            if getattr(data, key) is not None:
                raise error(
                    f"{data.name} is a regression dataset (one target, no classes); remove it",
                    key,
                )
        available = info.samples
        what = f"the {info.samples} samples of {data.name}"
    else:
        problem = chosen_classes(data.classes, len(info.classes))
        if problem:
            raise error(problem, "classes")
        if data.classes is None or isinstance(data.classes, int):
            chosen = list(range(data.classes or len(info.classes)))
        else:
            chosen = []
            for given in data.classes:
                k = class_index(given, info.classes)
                if k is None:
                    raise error(
                        f"class {given!r} has no sample in {data.name} (its classes: "
                        f"{', '.join(info.classes)}); remove it",
                        "classes",
                    )
                chosen.append(k)
        available = sum(info.counts[k] for k in chosen)
        part = "" if len(chosen) == len(info.classes) else f" of the {len(chosen)} classes kept"
        what = f"the {available} samples{part} of {data.name}"
        if data.n is not None and data.n < len(chosen):
            raise error(
                f"{data.n} points cannot hold one of each of the {len(chosen)} classes; "
                f"use n ≥ {len(chosen)}",
                "n",
            )
    if data.n is not None and data.n > available:
        raise error(f"is {data.n} but there are only {what}; use n ≤ {available}", "n")


def _check_train(loaded: LoadedSpec) -> None:
    """``train:``: lr and steps go with method: gd, and gd needs both (THEORY.md §13)."""
    train = loaded.spec.train
    given = train.model_fields_set

    def where(key: str) -> tuple[str, ...]:
        return ("train", key)

    def flag(key: str) -> str | None:
        """The caller's own flag for an overridden key (the CLI's ``--lr``), if it has one."""
        dotted = f"train.{key}"
        names = loaded.flag_names
        return names.names.get(dotted) if names and dotted in loaded.overrides else None

    if train.method == "flow":
        for key in ("lr", "steps", "loss"):
            if key in given:
                used = flag(key)
                text = (
                    f"is only used with `train.method: gd` (gradient descent); the spec trains "
                    f"by gradient flow (method: flow). Set `method: gd` to certify {key} "
                    "as written, or remove it"
                )
                if used:
                    raise SpecError(f"{used}: {text.replace('is only', 'only')}")
                raise loaded.error(text, *where(key))
        return
    examples = {"lr": "lr: 0.05", "steps": "steps: 2000"}
    for key in ("lr", "steps"):
        if getattr(train, key) is None:
            raise loaded.error(
                f"required for method: gd; add `{examples[key]}` under train:", *where(key)
            )
