"""Sweep grids: axes over spec keys, from YAML lists or safe expressions (never ``eval``).

An axis is one key (``data.n``) or linked keys (``data.n,data.d``) with a list
of values. Values come from a YAML list (``[32, 64, 128]``; linked keys take a
list of lists, ``[[32, 32], [64, 64]]``; a key that holds a list takes lists of
numbers or names, ``data.classes=[[0, 1], [0, 1, 2]]``) or from an expression, read by the
``ast`` module and interpreted here, NumPy's semantics:

- ``logspace(a, b, k)`` / ``logspace(a, b, k, base=2)``: ``base ** linspace(a, b, k)``
  (base 10 by default);
- ``linspace(a, b, k)``: k points from a to b inclusive;
- ``range(b)``, ``range(a, b)``, ``range(a, b, step)``: integers, b excluded.

Arguments are number literals (a leading ``-`` allowed), nothing else. Where the
key is an integer (``data.n``, ``model.width``, ``seed``) values are rounded to
the nearest integer; where it is a float (``gamma``) they are floats. This module
knows no spec: the caller says what type each key holds (``KeyKind``).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SpecError
from .yaml_lines import YamlError, load_yaml_with_lines

KeyKind = Literal["int", "float", "bool", "str", "other"]
#: The largest axis and the largest grid (points × seeds) a sweep accepts.
MAX_AXIS = 100_000
MAX_POINTS = 1_000_000
FUNCTIONS = ("logspace", "linspace", "range")
_EXPRESSION = re.compile(r"^\s*[A-Za-z_][A-Za-z_0-9]*\s*\(")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$")


class GridError(SpecError):
    """A grid that cannot be read: the message names the axis and the fix."""


@dataclass(frozen=True)
class Axis:
    """One axis of a sweep: ``keys`` (one, or linked) and one value tuple per grid point.

    ``origin`` is how messages name the axis: ``--grid data.n`` or the spec's
    ``file:line: sweep.grid.data.n``.
    """

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    origin: str

    @property
    def label(self) -> str:
        return ",".join(self.keys)

    def __len__(self) -> int:
        return len(self.values)


def split_keys(text: str, origin: str) -> tuple[str, ...]:
    """``"data.n,data.d"`` → ``("data.n", "data.d")``; each key a dotted name, none repeated."""
    keys = tuple(k.strip() for k in text.split(","))
    for k in keys:
        if not _KEY.match(k):
            raise GridError(f"{origin}: {k!r} is not a spec key; write dotted names, e.g. data.n")
    if len(set(keys)) != len(keys):
        raise GridError(f"{origin}: a key is repeated in {text!r}")
    return keys


def parse_grid_option(item: str) -> tuple[tuple[str, ...], Any]:
    """``--grid KEYS=VALUES`` → (keys, a list or an expression string), not yet checked.

    VALUES is a YAML list (``[32, 64]``) or an expression (``logspace(8, 14, 7, base=2)``).
    """
    key_text, sep, value_text = item.partition("=")
    origin = f"--grid {key_text.strip()}" if key_text.strip() else "--grid"
    if not sep or not key_text.strip() or not value_text.strip():
        raise GridError(
            f"--grid {item!r}: expected KEY=VALUES, e.g. --grid 'data.n=[32,64,128]' "
            "or --grid 'model.width=logspace(8,14,7,base=2)'"
        )
    keys = split_keys(key_text, origin)
    text = value_text.strip()
    if _EXPRESSION.match(text):
        return keys, text
    if not text.startswith("["):
        raise GridError(
            f"{origin}: {text!r} is not a list of values; write a YAML list such as [32, 64] "
            f"or one of {', '.join(f + '(…)' for f in FUNCTIONS)}"
        )
    try:
        value, _ = load_yaml_with_lines(text)
    except YamlError as exc:
        raise GridError(f"{origin}: cannot read {text!r}: {exc.detail}") from None
    return keys, value


def make_axis(
    keys: tuple[str, ...], raw: Any, kind_of: Callable[[str], KeyKind], origin: str
) -> Axis:
    """Check one axis: its values (a list, or an expression for one numeric key)."""
    kinds = [kind_of(k) for k in keys]
    if isinstance(raw, str):
        if len(keys) > 1:
            raise GridError(
                f"{origin}: linked keys take a list of value lists, e.g. [[32, 32], [64, 64]]"
            )
        numbers = evaluate(raw, origin)
        values = [(v,) for v in _typed(numbers, kinds[0], keys[0], origin)]
    elif isinstance(raw, list):
        if not raw:
            raise GridError(f"{origin}: the list of values is empty")
        values = []
        for item in raw:
            point = tuple(item) if len(keys) > 1 and isinstance(item, list) else (item,)
            if len(keys) > 1 and (not isinstance(item, list) or len(point) != len(keys)):
                raise GridError(
                    f"{origin}: each value must be a list of {len(keys)} values "
                    f"(one per key: {', '.join(keys)}); got {item!r}"
                )
            for v in point:
                if not _scalar(v) and not (isinstance(v, list) and v and all(map(_scalar, v))):
                    raise GridError(
                        f"{origin}: values must be numbers, names or lists of them; got {v!r}"
                    )
            values.append(point)
    else:
        raise GridError(
            f"{origin}: expected a list of values or an expression such as "
            f"logspace(8, 14, 7, base=2); got {raw!r}"
        )
    seen: set[tuple[Any, ...]] = set()
    for point in values:
        key = tuple(tuple(v) if isinstance(v, list) else v for v in point)  # hashable, 1 == 1.0
        if key in seen:
            shown = point[0] if len(point) == 1 else list(point)
            raise GridError(f"{origin}: the value {shown!r} is repeated; give each value once")
        seen.add(key)
    if len(values) > MAX_AXIS:
        raise GridError(f"{origin}: {len(values):,} values; at most {MAX_AXIS:,} per axis")
    return Axis(keys, tuple(values), origin)


def _scalar(v: Any) -> bool:
    """A number, a bool or a name: what a grid value (or an entry of a list value, e.g.
    ``data.classes=[[0, 1], [0, 1, 2]]``) may be."""
    return isinstance(v, int | float | str | bool)


def _typed(numbers: list[float | int], kind: KeyKind, key: str, origin: str) -> list[Any]:
    """Expression results as the key's type: integers rounded for int keys, floats for floats."""
    if kind == "int":
        out = [round(x) for x in numbers]
        repeated = next((v for i, v in enumerate(out) if v in out[:i]), None)
        if repeated is not None:
            raise GridError(
                f"{origin}: {key} is an integer and the expression gives {repeated} twice "
                "after rounding; use fewer points or a wider range"
            )
        return out
    if kind in ("float", "other"):
        return [float(x) for x in numbers]
    what = "true/false" if kind == "bool" else "names"
    raise GridError(f"{origin}: {key} takes {what}, not numbers; give a list of values")


def _number(node: ast.expr, origin: str) -> float | int:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _number(node.operand, origin)
        return -value if isinstance(node.op, ast.USub) else value
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise GridError(f"{origin}: arguments must be finite numbers")
        return node.value
    raise GridError(f"{origin}: arguments must be number literals; got {ast.unparse(node)!r}")


def _count(value: float | int, what: str, origin: str) -> int:
    if not isinstance(value, int) or value < 1:
        raise GridError(f"{origin}: {what} must be a positive integer; got {value!r}")
    if value > MAX_AXIS:
        raise GridError(f"{origin}: {what} = {value:,}; at most {MAX_AXIS:,} per axis")
    return value


def evaluate(text: str, origin: str) -> list[float | int]:
    """The values of ``logspace(…)``, ``linspace(…)`` or ``range(…)``, parsed without ``eval``."""
    usage = "write logspace(a, b, k[, base=B]), linspace(a, b, k) or range(a, b[, step])"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise GridError(f"{origin}: cannot read the expression {text!r}; {usage}") from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise GridError(f"{origin}: {text!r} is not a call; {usage}")
    name = call.func.id
    if name not in FUNCTIONS:
        raise GridError(f"{origin}: unknown function {name!r}; {usage}")
    args = [_number(a, origin) for a in call.args]
    kwargs = {}
    for kw in call.keywords:
        if name != "logspace" or kw.arg != "base":
            raise GridError(f"{origin}: {name}() takes no keyword {kw.arg!r}; {usage}")
        kwargs["base"] = _number(kw.value, origin)
    if name in ("logspace", "linspace"):
        if len(args) != 3:
            raise GridError(f"{origin}: {name}() takes 3 numbers (a, b, k); {usage}")
        import numpy as np  # here: validating a spec loads no numerical stack

        a, b, k = args[0], args[1], _count(args[2], "the number of points k", origin)
        if name == "linspace":
            return [float(x) for x in np.linspace(a, b, k)]
        base = kwargs.get("base", 10.0)
        if base <= 0 or base == 1:
            raise GridError(f"{origin}: the base must be positive and not 1; got {base!r}")
        with np.errstate(over="ignore"):
            values = np.power(float(base), np.linspace(a, b, k))
        if not np.all(np.isfinite(values)):
            raise GridError(f"{origin}: {text!r} overflows float64")
        return [float(x) for x in values]
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
        raise GridError(f"{origin}: range() takes 1 to 3 integers; {usage}")
    if len(args) == 3 and args[2] == 0:
        raise GridError(f"{origin}: range() step must not be zero")
    r = range(*[int(a) for a in args])
    if not r:
        raise GridError(f"{origin}: {text!r} is empty")
    _count(len(r), "the number of values", origin)
    return list(r)
