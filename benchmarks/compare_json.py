"""Compare `ntkcheck certify -f json` of the built-in example and every spec in specs/
between two checkouts (e.g. a worktree of an earlier commit and this one), ignoring
`timing` and the keys named with --new-key (added on purpose; repeatable).

    git worktree add --detach /tmp/old <commit>
    python benchmarks/compare_json.py /tmp/old . --new-key outputs --new-key rows

(`problem.outputs` and `problem.rows`, issue 19, are the keys a one-output result gained.)

Both checkouts run with this Python (PYTHONPATH set to each); exit 1 on a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def certify(root: Path, spec: Path | None) -> Any:
    env = {**os.environ, "PYTHONPATH": str(root.resolve())}
    args = [sys.executable, "-m", "ntkcheck", "certify", "-f", "json"]
    out = subprocess.run(  # from a neutral folder: the current one would shadow PYTHONPATH
        [*args, *([str(spec.resolve())] if spec else [])],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout)


def strip(doc: Any, drop: set[str]) -> Any:
    if isinstance(doc, dict):
        return {k: strip(v, drop) for k, v in doc.items() if k not in drop}
    if isinstance(doc, list):
        return [strip(v, drop) for v in doc]
    return doc


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in {'old' if k in a else 'new'}" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in
                differences(x, y, f"{path}[{i}]")]  # fmt: skip
    return [] if a == b else [f"{path}: {a!r:.60} → {b!r:.60}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--new-key", dest="new_keys", action="append", default=[])
    args = parser.parse_args()
    specs = [None, *sorted((args.new / "specs").glob("*.yaml"))]
    drop = {"timing", "ntkcheck_version"}
    bad = 0
    for spec in specs:
        old = strip(certify(args.old, spec), drop)
        new = strip(certify(args.new, spec), drop | set(args.new_keys))
        found = differences(old, new)
        print(f"{spec or 'built-in'}: {'identical' if not found else 'DIFFERENT'}")
        for line in found[:20]:
            print("   ", line)
        bad += bool(found)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
