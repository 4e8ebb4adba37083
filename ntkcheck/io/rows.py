"""Rows files of a sweep, written a row at a time and read back to resume.

The format follows the extension: ``.csv``, ``.jsonl`` (or ``.ndjson``: one JSON
object a line) or ``.parquet`` (optional extra ``ntkcheck[parquet]``).

Durability: CSV and JSON Lines rows are appended and flushed one by one, so a
killed sweep loses only the rows it was computing; a row cut short by the kill is
dropped when the file is opened again. Parquet files cannot be appended to: each
row is written as a small part file in ``FILE.parts/`` (atomically: written under
a temporary name, then renamed), and when the sweep ends the file and the parts
are merged into ``FILE`` (again by a rename) and the folder removed. A killed
Parquet sweep leaves ``FILE.parts/``; the next run reads it and merges it.

Order: rows are appended as they come (completion order); a sweep that finishes
rewrites the file in grid order (``close(rank=…)``, atomically), so that the file of a
sweep interrupted and resumed, or run on several workers, equals that of one run in
one process row for row.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import NtkcheckError
from .output import atomic_target

#: A row's place in the file's final order (``RowsFile.close``).
Rank = Callable[[Mapping[str, Any]], int]

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class RowsFile(Protocol):
    """An open rows file: ``existing`` rows (read when opened), ``append``, ``close``."""

    path: Path
    existing: list[dict[str, Any]]

    def append(self, row: Mapping[str, Any]) -> None: ...

    def close(self, rank: Rank | None = None) -> None:
        """Close the file; with ``rank``, rewrite it with the rows sorted by it (stable)."""
        ...


def _sorted(rows: list[dict[str, Any]], rank: Rank | None) -> list[dict[str, Any]] | None:
    """``rows`` in ``rank`` order, or None when they are in it already (or no rank)."""
    if rank is None:
        return None
    ordered = sorted(rows, key=rank)
    return None if all(a is b for a, b in zip(ordered, rows, strict=True)) else ordered


def rows_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from the extension; a clear error otherwise."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise NtkcheckError(
            f"-o {path}: the format is taken from the extension; use .csv, .jsonl or .parquet"
        )
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise NtkcheckError(
                f"-o {path}: Parquet needs pyarrow, an optional extra: "
                'pip install "ntkcheck[parquet]"'
            ) from None
    return fmt


def open_rows(path: Path, columns: Sequence[str], types: Mapping[str, str]) -> RowsFile:
    """Open ``path`` for the rows of a sweep with these ``columns``; an existing file is
    read (``existing``) and must have the same columns (else a clear error)."""
    fmt = rows_format(path)
    if path.is_dir():
        raise NtkcheckError(f"-o {path}: is a folder; give a file name")
    try:
        if fmt == "csv":
            return _CsvRows(path, tuple(columns), types)
        if fmt == "jsonl":
            return _JsonLines(path, tuple(columns))
        return _ParquetRows(path, tuple(columns), types)
    except OSError as exc:
        raise NtkcheckError(f"-o {path}: cannot open: {exc.strerror or exc}") from None


def _first_line(path: Path) -> tuple[str, bool] | None:
    """The file's first line and whether it is whole (ends with a newline); None for a
    missing or blank file."""
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        raw = fh.readline()
    if not raw.strip():
        return None
    return raw.decode("utf-8", errors="replace").rstrip("\r\n"), raw.endswith(b"\n")


def _owned(path: Path, columns: Sequence[str], first: str, whole: bool, fmt: str) -> None:
    """Refuse (before anything is changed) a file that is not a rows file of this sweep,
    judged by its first line: a CSV header, a JSON row with these columns, or the start
    of one cut short by a kill."""
    if fmt == "csv":
        expected = ",".join(columns)  # the header csv writes (the columns need no quoting)
        if (whole and next(csv.reader([first]), []) != list(columns)) or (
            not whole and not expected.startswith(first)
        ):
            raise _mismatch(path, next(csv.reader([first]), []), columns)
        return
    start = "{" + json.dumps(columns[0]) + ":"
    if whole:
        try:
            row = json.loads(first)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or tuple(row) != tuple(columns):
            raise _mismatch(path, list(row) if isinstance(row, dict) else [], columns)
    elif not (first.startswith(start) or start.startswith(first)):
        raise _mismatch(path, [], columns)


def _complete_lines(path: Path) -> bool:
    """Drop a last line cut short by a kill; True when the file has content left."""
    if not path.exists():
        return False
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
    return bool(data.strip())


def _mismatch(path: Path, found: Sequence[str], columns: Sequence[str]) -> NtkcheckError:
    extra = [c for c in found if c not in columns]
    missing = [c for c in columns if c not in found]
    detail = "; ".join(
        part
        for part in (
            f"it has {', '.join(extra)}" if extra else "",
            f"it lacks {', '.join(missing)}" if missing else "",
        )
        if part
    )
    return NtkcheckError(
        f"-o {path}: the file holds rows of another sweep "
        f"({detail or 'columns in another order'}); give another file or remove it"
    )


def _encode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decode(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "true"
    return text


class _CsvRows:
    def __init__(self, path: Path, columns: tuple[str, ...], types: Mapping[str, str]) -> None:
        self.path, self.columns = path, columns
        self.existing: list[dict[str, Any]] = []
        first = _first_line(path)
        if first is not None:
            _owned(path, columns, *first, "csv")
        resumed = _complete_lines(path)
        if resumed:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                if tuple(header) != columns:
                    raise _mismatch(path, header, columns)
                for cells in reader:
                    if len(cells) != len(columns):
                        raise NtkcheckError(
                            f"-o {path}:{reader.line_num}: {len(cells)} cells, expected "
                            f"{len(columns)}; the file was edited or is not a sweep's"
                        )
                    try:
                        row = {c: _decode(t, types[c]) for c, t in zip(columns, cells, strict=True)}
                    except ValueError as exc:
                        raise NtkcheckError(
                            f"-o {path}:{reader.line_num}: cannot read a cell ({exc})"
                        ) from None
                    self.existing.append(row)
        self._fh = open(path, "a" if resumed else "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._rows = list(self.existing)
        if not resumed:
            self._writer.writerow(columns)
            self._fh.flush()

    def append(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([_encode(row[c]) for c in self.columns])
        self._fh.flush()
        self._rows.append(dict(row))

    def close(self, rank: Rank | None = None) -> None:
        self._fh.close()
        ordered = _sorted(self._rows, rank)
        if ordered is None:
            return
        with atomic_target(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows([_encode(row[c]) for c in self.columns] for row in ordered)


class _JsonLines:
    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path, self.columns = path, columns
        self.existing: list[dict[str, Any]] = []
        first = _first_line(path)
        if first is not None:
            _owned(path, columns, *first, "jsonl")
        if _complete_lines(path):
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise NtkcheckError(
                            f"-o {path}:{number}: not a JSON row ({exc.msg})"
                        ) from None
                    if not isinstance(row, dict) or tuple(row) != columns:
                        found = list(row) if isinstance(row, dict) else []
                        raise _mismatch(path, found, columns)
                    self.existing.append(row)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._rows = list(self.existing)

    def _line(self, row: Mapping[str, Any]) -> str:
        doc = {c: row[c] for c in self.columns}
        return json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n"

    def append(self, row: Mapping[str, Any]) -> None:
        self._fh.write(self._line(row))
        self._fh.flush()
        self._rows.append(dict(row))

    def close(self, rank: Rank | None = None) -> None:
        self._fh.close()
        ordered = _sorted(self._rows, rank)
        if ordered is None:
            return
        with atomic_target(self.path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(self._line(row) for row in ordered)


class _ParquetRows:
    def __init__(self, path: Path, columns: tuple[str, ...], types: Mapping[str, str]) -> None:
        import pyarrow as pa

        arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
        self.path, self.columns = path, columns
        self._text = {c for c in columns if types[c] not in arrow}
        self._schema = pa.schema([(c, arrow.get(types[c], pa.string())) for c in columns])
        self.parts = path.with_name(path.name + ".parts")
        self.existing = self._read_all()
        self.parts.mkdir(exist_ok=True)

    def _read(self, file: Path) -> list[dict[str, Any]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(file)
        except (OSError, pa.ArrowException) as exc:
            raise NtkcheckError(f"-o {self.path}: cannot read {file.name}: {exc}") from None
        if tuple(table.column_names) != self.columns:
            raise _mismatch(self.path, table.column_names, self.columns)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []

    def _read_all(self) -> list[dict[str, Any]]:
        rows = self._read(self.path) if self.path.exists() else []
        for part in self._part_files():
            rows.extend(self._read(part))
        return rows

    def _write(self, rows: Sequence[Mapping[str, Any]], target: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cleaned = [
            {c: (str(r[c]) if c in self._text and r[c] is not None else r[c]) for c in self.columns}
            for r in rows
        ]
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        pq.write_table(pa.Table.from_pylist(cleaned, schema=self._schema), tmp)
        os.replace(tmp, target)

    def append(self, row: Mapping[str, Any]) -> None:
        self._write([row], self.parts / f"part-{uuid.uuid4().hex}.parquet")

    def close(self, rank: Rank | None = None) -> None:
        if not self.parts.is_dir():
            return
        rows = self._read_all()
        self._write(_sorted(rows, rank) or rows, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)
