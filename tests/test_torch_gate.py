"""Running code is the user's explicit choice (issue 20): a spec with ``architecture: torch``
is refused before anything is imported unless ``--allow-code`` (or NTKCHECK_ALLOW_CODE=1);
``validate`` never imports the factory; every bad factory is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ntkcheck.cli import main

MARKER_FACTORY = """
from pathlib import Path
Path(__file__).with_name("imported.marker").write_text("imported")
import torch

def make(width=4):
    return torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Tanh(), torch.nn.Linear(width, 1),
                               torch.nn.Flatten(0))
"""

SPEC = """\
gamma: 100.0
data: {source: file, path: data.npz}
model: {architecture: torch, factory: "FACTORY", kwargs: {width: 6}}
"""


def _folder(tmp_path: Path, factory: str = "nets.py:make", code: str = MARKER_FACTORY) -> Path:
    (tmp_path / "nets.py").write_text(code, encoding="utf-8")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", X=rng.standard_normal((5, 3)), y=rng.standard_normal(5))
    (tmp_path / "spec.yaml").write_text(SPEC.replace("FACTORY", factory), encoding="utf-8")
    return tmp_path


def _run(
    folder: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    code = f"import sys\nfrom ntkcheck.cli import main\nsys.exit(main({list(argv)!r}))\n"
    import os

    full = {k: v for k, v in os.environ.items() if k != "NTKCHECK_ALLOW_CODE"}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=folder, env=full,
        check=False, timeout=600,
    )  # fmt: skip


def test_without_allow_code_nothing_is_imported(tmp_path: Path, monkeypatch) -> None:
    """certify, simulate and sweep refuse (exit 2, one line naming the fix); validate
    passes; the factory file, which writes a marker when imported, never ran; torch was not
    even loaded."""
    monkeypatch.delenv("NTKCHECK_ALLOW_CODE", raising=False)
    folder = _folder(tmp_path)
    spec = str(folder / "spec.yaml")
    for argv in (["certify", spec], ["simulate", spec], ["validate", spec]):
        code = main(argv)
        assert code == (0 if argv[0] == "validate" else 2), argv
    out = _run(folder, "certify", "spec.yaml")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--allow-code" in lines[0] and "nets.py" in lines[0], out.stderr
    assert "model.architecture" in lines[0]
    probe = _run(folder, "validate", "spec.yaml")
    assert probe.returncode == 0, probe.stderr
    assert not (folder / "imported.marker").exists()
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom ntkcheck.cli import main\nmain(['certify', 'spec.yaml'])\n"
         "print('torch' in sys.modules, any('nets' in m for m in sys.modules))"],
        capture_output=True, text=True, cwd=folder, check=False,
        env={k: v for k, v in __import__("os").environ.items() if k != "NTKCHECK_ALLOW_CODE"},
    )  # fmt: skip
    assert loaded.stdout.strip() == "False False", loaded.stdout + loaded.stderr
    assert not (folder / "imported.marker").exists()


def test_validate_checks_the_factory_file_exists_without_importing(tmp_path: Path) -> None:
    folder = _folder(tmp_path, factory="missing.py:make")
    out = _run(folder, "validate", "spec.yaml")
    assert out.returncode == 2 and "missing.py" in out.stderr
    bad = _folder(tmp_path, factory="nets.py")  # no function
    out = _run(bad, "validate", "spec.yaml")
    assert out.returncode == 2 and "path/to/file.py:function" in out.stderr, out.stderr
    assert not (folder / "imported.marker").exists()


def test_allow_code_flag_and_environment(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    folder = _folder(tmp_path)
    out = _run(folder, "certify", "--allow-code", "-f", "json", "spec.yaml")
    assert out.returncode in (0, 1), out.stderr
    assert (folder / "imported.marker").exists()
    (folder / "imported.marker").unlink()
    env = _run(folder, "certify", "-f", "json", "spec.yaml", env={"NTKCHECK_ALLOW_CODE": "1"})
    assert env.returncode in (0, 1), env.stderr
    assert '"beta_method": "local"' in env.stdout and '"rigorous": false' in env.stdout


def test_allow_code_holds_for_one_command_only(tmp_path: Path, monkeypatch) -> None:
    """main(['certify', '--allow-code', …]) in-process leaves the environment as it was."""
    pytest.importorskip("torch")
    monkeypatch.delenv("NTKCHECK_ALLOW_CODE", raising=False)
    folder = _folder(tmp_path)
    assert main(["certify", "--allow-code", "-f", "json", str(folder / "spec.yaml")]) in (0, 1)
    assert "NTKCHECK_ALLOW_CODE" not in __import__("os").environ
    assert main(["certify", str(folder / "spec.yaml")]) == 2


BAD = {
    "missing-function": ("nets.py:nope", "import torch\n", "has no function 'nope'"),
    "raises": ("nets.py:make", "def make(width=1):\n    raise ValueError('boom')\n",
               "calling it raised ValueError: boom"),
    "import-error": ("nets.py:make", "import not_a_module_xyz\n", "importing"),
    "not-a-module": ("nets.py:make", "def make(width=1):\n    return 42\n",
                     "returned a int, not a torch.nn.Module"),
    "wrong-shape": ("nets.py:make", "import torch\ndef make(width=1):\n"
                    "    return torch.nn.Linear(3, 2 * 3)\n", "returns 6 outputs per input"),
    "bad-rank": ("nets.py:make", "import torch\ndef make(width=1):\n"
                 "    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Unflatten(1, (2, 2)))\n",
                 "must return (n,), (n, 1) or (n, C)"),
    "no-parameters": ("nets.py:make", "import torch\ndef make(width=1):\n"
                      "    m = torch.nn.Linear(3, 1)\n    m.requires_grad_(False)\n    return m\n",
                      "no trainable parameters"),
    "detached": ("nets.py:make", "import torch\nclass M(torch.nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.l = torch.nn.Linear(3, 1)\n"
                 "    def forward(self, x):\n        return self.l(x).detach()\n"
                 "def make(width=1):\n    return M()\n", "does not depend on the trainable parameters"),
    "not-differentiable": ("nets.py:make", "import torch\nclass M(torch.nn.Module):\n"
                           "    def __init__(self):\n        super().__init__()\n        self.l = torch.nn.Linear(3, 1)\n"
                           "    def forward(self, x):\n        return torch.from_numpy(self.l(x).numpy() ** 2)\n"
                           "def make(width=1):\n    return M()\n", "cannot differentiate"),
    "dropout-in-eval": ("nets.py:make", "import torch\nclass M(torch.nn.Module):\n"
                        "    def __init__(self):\n        super().__init__()\n        self.l = torch.nn.Linear(3, 1)\n"
                        "    def forward(self, x):\n        return torch.nn.functional.dropout(self.l(x), 0.5, training=True)\n"
                        "def make(width=1):\n    return M()\n", "two evaluations at the same θ differ"),
    "batch-statistics": ("nets.py:make", "import torch\ndef make(width=1):\n"
                         "    return torch.nn.Sequential(torch.nn.Linear(3, 4), "
                         "torch.nn.BatchNorm1d(4, track_running_stats=False), torch.nn.Linear(4, 1))\n",
                         "uses batch statistics even in eval mode"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_bad_factories_are_one_line_naming_the_factory(tmp_path: Path, case: str) -> None:
    pytest.importorskip("torch")
    factory, code, expected = BAD[case]
    folder = _folder(tmp_path, factory=factory, code=code)
    out = _run(folder, "certify", "--allow-code", "spec.yaml")
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0] and "model.factory" in lines[0], lines[0]
    assert "Traceback" not in out.stderr


def test_too_much_memory_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    folder = _folder(tmp_path)
    out = _run(folder, "certify", "--allow-code", "spec.yaml", env={"NTKCHECK_MEMORY_LIMIT": "64K"})
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "needs about" in out.stderr, out.stderr


def test_torch_missing_names_the_extra(tmp_path: Path) -> None:
    """With torch not importable (a stub that raises ImportError first on the path)."""
    folder = _folder(tmp_path)
    stub = tmp_path / "stub"
    (stub / "torch").mkdir(parents=True)
    (stub / "torch" / "__init__.py").write_text("raise ImportError('no torch here')\n")
    import os

    env = {"PYTHONPATH": f"{stub}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = _run(folder, "certify", "--allow-code", "spec.yaml", env=env)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert 'pip install "ntkcheck[torch]"' in out.stderr, out.stderr


def test_an_explicit_analytic_beta_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "spec.yaml").write_text(
        SPEC.replace("FACTORY", "nets.py:make") + "certify: {beta: analytic}\n", encoding="utf-8"
    )
    out = _run(folder, "validate", "spec.yaml")
    assert out.returncode == 2 and "certify.beta" in out.stderr and "local" in out.stderr
