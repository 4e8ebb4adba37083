"""A validated spec with where it came from: the file, its folder, the lines of its keys
and the overrides set from outside; it locates errors (``source:line: key: message``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .overrides import FlagNames
from .spec_errors import locate
from .spec_schema import Spec
from .yaml_lines import Path_


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from: ``source`` (path or label),
    ``base_dir`` (relative paths resolve here) and ``lines`` (key path → line);
    ``flag_names``: how the caller names its ``overrides`` (the CLI's flags)."""

    spec: Spec
    source: str
    base_dir: Path
    lines: dict[Path_, int] = field(default_factory=dict, compare=False, repr=False)
    builtin: bool = False
    overrides: dict[str, Any] = field(default_factory=dict, compare=False)
    flag_names: FlagNames | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        if self.spec.name:
            return self.spec.name
        return Path(self.source).stem if not self.builtin else "lecture-example"

    def line_of(self, *path: str | int) -> int | None:
        """The line of the deepest key of ``path`` that appears in the file."""
        for k in range(len(path), -1, -1):
            if path[:k] in self.lines:
                return self.lines[path[:k]]
        return None

    def resolve(self, relative: str) -> Path:
        """A path from the spec, relative to the spec's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def error(self, message: str, *path: str | int) -> SpecError:
        """A :class:`SpecError` located at ``path`` (``source:line: key.path: message``)."""
        line = self.line_of(*path)
        return SpecError(locate(self.source, line, path, message), line=line)
