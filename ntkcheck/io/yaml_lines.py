"""Safe YAML loading that remembers the line of every key.

Only plain YAML data is accepted: scalars, mappings and sequences with the
standard tags. Python-object tags, aliases (``*ref``, which allow "billion
laughs" expansion), duplicate keys, non-string keys and several documents are
refused with a :class:`SpecError` naming the line. Nothing in a spec executes.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..errors import SpecError

Path_ = tuple[str | int, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

# YAML 1.1 (PyYAML) reads ``1e-8`` and ``1.0e300`` (no dot, or no exponent sign) as
# strings; accept every exponent form as a float, like YAML 1.2.
_FLOAT_EXPONENT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class YamlError(SpecError):
    """A YAML text that is not plain spec data, at ``line`` (None when unknown)."""

    def __init__(self, line: int | None, detail: str) -> None:
        super().__init__(f"line {line}: {detail}" if line else detail, line=line)
        self.detail = detail


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no expansion attacks)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlError(
                event.start_mark.line + 1,
                f"YAML aliases (*{event.anchor}) are not allowed in a spec; write the value out",
            )
        return super().compose_node(parent, index)


_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_EXPONENT, list("-+0123456789."))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _to_python(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: _SpecLoader) -> Any:
    lines.setdefault(path, _line(node))
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            raise YamlError(_line(node), f"the tag {node.tag!r} is not allowed in a spec")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            if not isinstance(key, str):
                raise YamlError(
                    _line(key_node),
                    f"keys must be names, got {key!r}; write a key such as `width:`",
                )
            if key in out:
                raise YamlError(
                    _line(key_node),
                    f"duplicate key {key!r} (first on line {lines[(*path, key)]}); keep one",
                )
            lines[(*path, key)] = _line(key_node)
            out[key] = _to_python(value_node, (*path, key), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            raise YamlError(_line(node), f"the tag {node.tag!r} is not allowed in a spec")
        return [_to_python(v, (*path, i), lines, loader) for i, v in enumerate(node.value)]
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: _SpecLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError(_line(node), "a key must be a plain name, not a mapping or list")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise YamlError(
            _line(node),
            f"the tag {node.tag!r} is not allowed in a spec (specs hold plain data only)",
        ) from exc
    except (ValueError, TypeError) as exc:
        raise YamlError(_line(node), f"cannot read the value {node.value!r}") from exc


def load_yaml_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML document: ``(data, lines)`` with ``lines[key path] = line number``."""
    try:
        loader = _SpecLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = ", ".join(p.strip() for p in (exc.context, exc.problem) if p)
        raise YamlError(line, f"malformed YAML: {what or 'cannot parse'}") from exc
    except RecursionError:
        raise YamlError(None, "malformed YAML: nested too deeply for a spec") from None
    except yaml.YAMLError as exc:
        raise YamlError(None, f"not a YAML text: {str(exc).splitlines()[0]}") from exc
    try:
        lines: dict[Path_, int] = {}
        if node is None:
            return None, lines
        return _to_python(node, (), lines, loader), lines
    except RecursionError:
        raise YamlError(None, "malformed YAML: nested too deeply for a spec") from None
    finally:
        loader.dispose()
