"""Files ntkcheck writes (reports, plots, the schema, ``init``'s spec): never over an input,
never over a file it did not write itself (unless ``--force``), always atomically.

- An **input** (a spec being read, a data or init file a spec references; resolved
  paths, so a symlink or a hard link to one counts) is never overwritten, ``--force``
  or not.
- An **existing file** is overwritten only if it is empty or is recognisably ntkcheck's
  own output (:func:`written_by_ntkcheck`): each format carries a signature — the
  text/markdown report's header ``ntkcheck <version> · …`` (or its summary line
  ``N specs: …``), the JSON document's ``ntkcheck_version`` key, the SARIF tool name,
  the JUnit ``<testsuites name="ntkcheck"``, the GitHub annotations' ``title=ntkcheck``,
  the schema's ``$id``, a plot's metadata (``figure_metadata``). Anything else needs
  ``--force``.
- Writes go to a temporary file in the target's folder, then ``os.replace``: an
  interrupted write leaves the old file as it was.

A sweep's rows file (``io.rows``) follows its own rule: it is reopened to resume, and
refused when its columns are not the sweep's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._version import __version__
from ..errors import NtkcheckError
from .loaded import LoadedSpec
from .spec_files import referenced_files

#: What a plot's metadata says (PNG ``Software``, SVG and PDF ``Creator``).
CREATOR = f"ntkcheck {__version__}"
#: How much of a file is read to recognise it (JSON reports are parsed whole, up to
#: ``MAX_JSON_BYTES``).
HEAD_BYTES = 64 * 1024
MAX_JSON_BYTES = 256 * 1024 * 1024
SCHEMA_ID_PREFIX = "https://ntkcheck.invalid/schema/"

_SUMMARY = re.compile(r"^\d+ specs?: \d+ certified, ")
_HEADER = re.compile(r"^(?:#+ )?ntkcheck \d")


#: How messages name a referenced file, by its key path (else "file <key>").
_FILE_NAMES = {("data", "path"): "data file", ("model", "init_path"): "init file"}


def spec_inputs(loaded: LoadedSpec) -> list[tuple[Path, str]]:
    """The files a spec makes ntkcheck read, each with what it is (for messages): the
    spec itself and the files it references (``spec_files.referenced_files``: the data
    file and the ones its model family names)."""
    if loaded.builtin:
        return []
    out = [(Path(loaded.source), f"the spec {loaded.source}")]
    for key, written in referenced_files(loaded):
        name = _FILE_NAMES.get(key, f"file {'.'.join(key)}")
        out.append((loaded.resolve(written), f"the {name} of {loaded.source}"))
    return out


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (symlinks resolved; hard links too, if both exist)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def check_output(
    path: Path,
    flag: str,
    *,
    inputs: Iterable[tuple[Path, str]] = (),
    force: bool = False,
) -> None:
    """Refuse (a one-line ``NtkcheckError``) to write ``path`` when it is one of the
    ``inputs``, a folder, or an existing file that ntkcheck did not write (unless ``force``)."""
    for source, what in inputs:
        if same_file(path, source):
            raise NtkcheckError(
                f"{flag} {path}: is {what}, which this run reads; give another path "
                "(--force does not overwrite an input)"
            )
    if path.is_dir():
        raise NtkcheckError(f"{flag} {path}: is a folder; give a file name")
    if force or not path.exists():
        return
    if not written_by_ntkcheck(path):
        raise NtkcheckError(
            f"{flag} {path}: exists and is not a report ntkcheck wrote; "
            "give another path, or add --force to overwrite it"
        )


def written_by_ntkcheck(path: Path) -> bool:
    """Whether the existing file at ``path`` is empty or carries the signature of an
    output ntkcheck writes (see the module's docstring); False when it cannot be read."""
    try:
        size = path.stat().st_size
        if size == 0:
            return True
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            fh.seek(max(size - HEAD_BYTES, 0))
            tail = fh.read(HEAD_BYTES)
    except OSError:
        return False
    marker = CREATOR.split()[0].encode()
    if head.startswith(b"\x89PNG") or head.startswith(b"%PDF"):
        return marker in head or marker in tail
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    start = text.lstrip()
    if start.startswith("{"):
        return _json_signature(path, size)
    if start.startswith("<?xml") or start.startswith("<svg"):
        return '<testsuites name="ntkcheck"' in text or (
            "<svg" in text and CREATOR.split()[0] in text
        )
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    if _HEADER.match(lines[0]):
        return True
    if lines[0].startswith("::"):  # GitHub annotations and the summary line
        return all(
            "title=ntkcheck" in line or _SUMMARY.match(line) for line in lines if line.strip()
        )
    last = tail.decode("utf-8", errors="replace").splitlines()
    last = [line for line in last if line.strip()]
    return bool(last) and bool(_SUMMARY.match(last[-1]))


def _json_signature(path: Path, size: int) -> bool:
    if size > MAX_JSON_BYTES:
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(doc, dict):
        return False
    if "ntkcheck_version" in doc:
        return True
    if str(doc.get("$id", "")).startswith(SCHEMA_ID_PREFIX):
        return True
    runs = doc.get("runs")
    if isinstance(runs, list) and runs and isinstance(runs[0], dict):
        driver = runs[0].get("tool", {}).get("driver", {})
        return isinstance(driver, dict) and driver.get("name") == "ntkcheck"
    return False


def figure_metadata(path: Path) -> dict[str, str]:
    """matplotlib's ``savefig(metadata=…)`` for a plot at ``path``: the mark that lets a
    later run recognise the file as its own."""
    key = "Software" if path.suffix.lower() == ".png" else "Creator"
    return {key: CREATOR}


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write; renamed over ``path``
    when the block succeeds, removed when it fails. A symlink's target is replaced."""
    final = Path(os.path.realpath(path))
    tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
    try:
        yield tmp
        with contextlib.suppress(OSError):  # keep an existing file's permissions
            os.chmod(tmp, stat.S_IMODE(final.stat().st_mode))
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
