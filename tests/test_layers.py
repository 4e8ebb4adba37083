"""The layers of docs/DESIGN.md: imports go down only, no circle, a light ``ntkcheck.theory``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "ntkcheck"
#: Top-down: a layer may import only from layers to its right (and itself).
ORDER = ["cli", "report", "run", "io", "flow", "problem", "models", "linalg", "theory"]
BASE = {"errors", "_version", "arrays", "choices", "testing", "__init__", "__main__"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ntkcheck module imported anywhere in the file (function-level included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("ntkcheck")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("ntkcheck"):
                out.add(mod)
                out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        if path.name == "__init__.py" and name == "ntkcheck":
            continue  # the lazy public API (TYPE_CHECKING imports only)
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                pytest.fail(f"import circle: {' → '.join([*stack, m, d])}")
            if d not in state:
                visit(d, [*stack, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_layers_import_downwards_only():
    for module, deps in _graph().items():
        a = _layer(module)
        if a in BASE:
            continue
        for dep in deps:
            b = _layer(dep)
            if b in BASE or b == a:
                continue
            assert ORDER.index(b) > ORDER.index(a), f"{module} ({a}) imports {dep} ({b})"


def test_nothing_outside_models_reaches_into_a_family():
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        if name.startswith("ntkcheck.models") or name == "ntkcheck.testing":
            continue
        text = path.read_text(encoding="utf-8")
        family = [m for m in _imports(path) if m.startswith("ntkcheck.models.two_layer")]
        assert not family, f"{name} imports {family}: use the protocol or the registry"
        assert not re.search(r"\.(W|S|a)\b(?!\w)", text.replace("σ", "")), (
            f"{name} reads a family's weights or factor"
        )


def test_theory_imports_no_spec_yaml_pydantic_models_or_integrator():
    code = (
        "import sys, ntkcheck.theory\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('yaml', 'pydantic')\n"
        "       or m.startswith(('scipy.integrate', 'ntkcheck.io', 'ntkcheck.models',\n"
        "                        'ntkcheck.run', 'ntkcheck.flow', 'ntkcheck.report'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv,allowed",
    [
        (["--version"], ()),
        (["--help"], ()),
        (["validate", "specs/lecture-example.yaml"], ("pydantic",)),
        (["schema"], ("pydantic",)),
    ],
)
def test_fast_commands_load_no_numerical_stack(argv, allowed):
    """Pre-commit hooks run these on every commit: no numpy, scipy or rich (issue 12)."""
    code = (
        "import sys\n"
        "from ntkcheck.cli.app import main\n"
        f"main({argv!r})\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'rich', 'pydantic'}\n"
        "print(sorted(heavy), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PKG.parent
    )
    loaded = ast.literal_eval(out.stderr.strip().splitlines()[-1])
    assert set(loaded) <= set(allowed), loaded


@pytest.mark.parametrize("spec", [[], ["specs/gd.yaml"]])
def test_certify_loads_no_integrator_optimizer_or_plotting(spec):
    """Also with train.method: gd (its searches are theory.solve's, not SciPy's)."""
    code = (
        "import sys\n"
        "from ntkcheck.cli.app import main\n"
        f"main(['certify', '-f', 'text', *{spec!r}])\n"
        "bad = [m for m in sys.modules if m.startswith(('scipy.integrate', 'scipy.optimize',\n"
        "       'matplotlib', 'ntkcheck.flow'))]\n"
        "print(bad, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PKG.parent
    )
    assert out.stderr.strip().splitlines()[-1] == "[]"


def test_version_is_answered_before_the_application_loads():
    """`ntkcheck --version` (the entry point, as installed) loads neither Typer nor YAML."""
    code = (
        "import sys\n"
        "sys.argv = ['ntkcheck', '--version']\n"
        "from ntkcheck.cli import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'typer', 'yaml', 'numpy', 'click'}\n"
        "print(sorted(loaded), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PKG.parent
    )
    assert out.stdout.startswith("ntkcheck ") and out.stderr.strip().splitlines()[-1] == "[]"
