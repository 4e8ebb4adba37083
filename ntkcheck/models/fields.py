"""What every family's spec block is made of (numpy-free): the strict block base, the
shared field types, and :class:`FamilySpec`, the spec-side description a family gives
the registry (its block, its cross-key checks, its size axis, its heuristic γ and the
words of its advice).

The rest of the tool (``io``, ``run``, ``report``) asks a family through
``models.registry.family_spec`` and never names one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .names import ACTIVATION_NAMES, NONSMOOTH_ACTIVATIONS

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ActivationName = Literal[ACTIVATION_NAMES]  # type: ignore[valid-type]


class Block(BaseModel):
    """A spec block: strict (no coercion of ``"64"`` into 64), no unknown keys, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelBlock(Protocol):
    """What the rest of the tool reads of any family's ``model:`` block (the problem's
    ``init`` and ``centered`` lines); the rest is the family's."""

    @property
    def architecture(self) -> str: ...

    @property
    def init(self) -> str: ...

    @property
    def centered(self) -> bool: ...


class Locator(Protocol):
    """Where a family's spec check reports: an error located at a spec key path
    (``ntkcheck.io``'s loaded spec implements it)."""

    def error(self, message: str, *path: str | int) -> Exception: ...


@dataclass(frozen=True)
class FamilyWords:
    """How the report and the advice name the family's model and its size.

    ``size``: the spec key(s) that make the model larger (``model.width``);
    ``grow``: the advice to enlarge it (``widen the network``);
    ``underparametrized``: the fix when P < n (``increase model.width``);
    ``saturated``: what vanishes when J0 = 0; ``too_few``: a cause of numerical
    rank deficiency (``too few neurons``); ``heuristic``: the lecture's heuristic γ
    (THEORY.md §4) as the report writes it, N being the family's
    ``ModelInfo.heuristic_size``; ``nonsmooth``: where a σ' that jumps is certified
    (the activation-flip bound, THEORY.md §10), said when the family's model has no
    drift bound for it; ``dependent_outputs``: the fix when the fixed output weights
    have rank < C (THEORY.md §14), so the C outputs are linearly dependent.
    """

    size: str
    grow: str
    underparametrized: str
    saturated: str
    too_few: str
    heuristic: str = "n^{3/2}/size"
    nonsmooth: str = "no family here bounds the drift of this activation's σ'"
    dependent_outputs: str = "give the model C independent outputs"


def nonsmooth_activation(block: Any) -> str | None:
    """The block's ``activation`` when its σ' jumps (relu-like), else None."""
    activation = getattr(block, "activation", None)
    return activation if activation in NONSMOOTH_ACTIVATIONS else None


def init_file(block: Any) -> list[tuple[tuple[str, str], str]]:
    """``model.init_path`` as written when ``init: file`` (the files a block names)."""
    path = getattr(block, "init_path", None)
    if getattr(block, "init", None) == "file" and path is not None:
        return [(("model", "init_path"), path)]
    return []


@dataclass(frozen=True)
class FamilySpec:
    """A family's spec side (``models/<family>/spec.py`` defines one as ``FAMILY``).

    ``block``: the pydantic class of its ``model:`` block (a :class:`Block` with an
    ``architecture`` literal, ``init`` and ``centered``); ``check(block, at)``: its
    cross-key rules, raising ``at.error(message, "model", key)``; ``schema_note``: those
    rules in one clause of the JSON Schema's description; ``size_key``: the integer spec
    key a sweep plots against and the advice searches (``model.width``), None if none;
    ``size_of(block)``: that key's value where the advice may vary it (None: it may not);
    ``size_even(block)``: sizes must be even; ``heuristic``: the exponents of the
    family's heuristic γ* along spec keys (THEORY.md §4: ``{"data.n": 1.5,
    "model.width": -1.0}``), empty if it has none; ``nonsmooth(block)``: the activation
    whose σ' jumps, if any (``certify.beta: local`` refuses it); ``files(block)``: the
    files the block names, as ``(key path, path as written)``; ``conformance``: the keys
    of a small block (a few parameters) that the conformance suite builds the family
    from (``tests/test_conformance.py``); ``runs_code``: building the model runs the
    user's Python code (``architecture: torch``): refused unless the run allows it
    (``--allow-code``); ``analytic_beta``: the family proves a drift bound (False: only
    the local β exists, so ``certify.beta`` is ``local`` and every certificate an
    estimate, THEORY.md §10 "Any model"); ``requires``: the importable packages the
    family needs beyond ntkcheck's own (an optional extra, e.g. ``("torch",)``).
    """

    block: type[BaseModel]
    check: Callable[[Any, Locator], None]
    words: FamilyWords
    schema_note: str = ""
    size_key: str | None = None
    size_of: Callable[[Any], int | None] = field(default=lambda block: None)
    size_even: Callable[[Any], bool] = field(default=lambda block: False)
    heuristic: Mapping[str, float] = field(default_factory=dict)
    nonsmooth: Callable[[Any], str | None] = nonsmooth_activation
    files: Callable[[Any], list[tuple[tuple[str, str], str]]] = init_file
    conformance: Mapping[str, Any] = field(default_factory=dict)
    runs_code: bool = False
    analytic_beta: bool = True
    requires: tuple[str, ...] = ()
