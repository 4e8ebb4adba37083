"""Cross-key rules that a per-key schema cannot say: ``data:`` (synthetic or a file),
the ``model:`` block's own (its family checks them), ``certify.beta: local`` (asks the
family for a relu-like activation), ``train:`` (lr and steps go with gd) and the
``sweep:`` grid."""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecError
from ..models.registry import family_spec
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


def _check_data(loaded: LoadedSpec) -> None:
    """``data:``: n and d for synthetic points, a .npz or .csv path for a file."""
    data = loaded.spec.data
    set_data = data.model_fields_set
    if data.source == "synthetic":
        for key in ("n", "d"):
            if getattr(data, key) is None:
                raise loaded.error(
                    f"required for source: synthetic; add `{key}:` (e.g. {key}: 64)", "data", key
                )
        if data.path is not None:
            raise loaded.error(
                "only used with `source: file`; remove it or set `source: file`", "data", "path"
            )
        return
    if data.path is None:
        raise loaded.error(
            "required for source: file; add `path: train.npz` (arrays X, y) or a .csv",
            "data",
            "source",
        )
    for key in ("n", "d", "inputs", "target", "noise"):
        if key in set_data:
            raise loaded.error(
                "only used with `source: synthetic` (the file gives the data); remove it",
                "data",
                key,
            )
    if Path(data.path).suffix.lower() not in (".npz", ".csv"):
        raise loaded.error(
            f"must be a .npz (arrays X, y) or .csv file; got {show(data.path)}",
            "data",
            "path",
        )


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
