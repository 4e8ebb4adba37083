"""The documentation's shell examples run as written (a user copies them)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from ntkcheck.io.grid import parse_grid_option

from .conftest import ROOT

#: A stand-in for the CLI: prints its arguments as one JSON list per call.
_STUB = (
    f"ntkcheck() {{ {shlex.quote(sys.executable)} -c "
    """'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }"""
)


def _bash_blocks(path):
    return re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("doc", ["docs/sweep.md"])
def test_sweep_examples_pass_their_grids_to_ntkcheck_intact(doc, tmp_path):
    """bash reads every example (an unquoted `(` was a syntax error; `failglob` makes an
    unquoted `[…]` an error too), and every --grid argument is a valid KEY=VALUES."""
    blocks = _bash_blocks(ROOT / doc)
    assert blocks
    for block in blocks:
        script = f"shopt -s failglob\n{_STUB}\n{block}"
        proc = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, f"{doc}: {block!r}: {proc.stderr}"
        calls = [json.loads(line) for line in proc.stdout.splitlines()]
        assert calls
        for argv in calls:
            grids = [argv[i + 1] for i, a in enumerate(argv) if a == "--grid"]
            for item in grids:
                parse_grid_option(item)
