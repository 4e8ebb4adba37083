"""The layers of docs/DESIGN.md: imports go down only, no circle, a light ``ntkcheck.theory``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

PKG = Path(__file__).resolve().parents[1] / "ntkcheck"
#: Top-down: a layer may import only from layers to its right (and itself).
ORDER = ["cli", "api", "report", "run", "io", "flow", "problem", "models", "linalg", "theory"]
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


def _registered() -> dict[str, str]:
    from ntkcheck.models.registry import FAMILIES

    return dict(FAMILIES)


@pytest.mark.parametrize("family", list(_registered()))
def test_nothing_outside_its_folder_reaches_into_a_family(family):
    """Only the registry loads a family (by name); no other module, nor another family,
    imports its folder."""
    folder = f"ntkcheck.models.{_registered()[family]}"
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        if name == folder or name.startswith(folder + ".") or name == "ntkcheck.testing":
            continue
        reached = [m for m in _imports(path) if m == folder or m.startswith(folder + ".")]
        assert not reached, f"{name} imports {reached}: use the protocol or the registry"
        if name.startswith("ntkcheck.models"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.(W|S|a)\b(?!\w)", text.replace("σ", "")), (
            f"{name} reads a family's weights or factor"
        )


def test_every_registered_family_is_complete():
    """A spec block (numpy-free, tagged with the family's name), a conformance run and a
    layering guard (both tests parametrized over the registry) for each family."""
    from ntkcheck.models.fields import Block, FamilySpec
    from ntkcheck.models.registry import available, family_spec

    from . import test_conformance

    runs = test_conformance.test_every_registered_family_conforms_built_from_its_spec_block
    guarded = test_nothing_outside_its_folder_reaches_into_a_family
    for name, package in _registered().items():
        fam = family_spec(name)
        assert isinstance(fam, FamilySpec) and issubclass(fam.block, Block), name
        assert fam.block.model_fields["architecture"].annotation == Literal[name], name
        assert (PKG / "models" / package / "spec.py").is_file(), name
        assert fam.conformance, f"{name}: FamilySpec.conformance names no block to check"
        for test in (runs, guarded) if available(name) else (guarded,):
            marks = [m for m in test.pytestmark if m.name == "parametrize"]
            assert any(name in m.args[1] for m in marks), f"{name}: {test.__name__} skips it"


def _printed(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_family_spec_modules_load_no_numpy():
    """validate and schema read every family's spec block: it must come without numpy."""
    code = (
        "import sys\n"
        "from ntkcheck.models.registry import family_specs\n"
        "family_specs()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy'}))\n"
    )
    assert _printed(code) == "[]"


#: Words of one family (its size, its name, its units, the lecture's heuristic in its
#: notation): outside models/ only where ``GENERIC_USES`` says they are generic.
FAMILY_VOCABULARY = r"width|two_layer|two-layer|neuron|n\^\{+3/2\}+/N|N\^\{−1\}"

#: Where ``grep -rn "width\|two_layer\|two-layer\|neuron\|n^{3/2}/N" ntkcheck/ --include=*.py``
#: may still match outside models/: (file, text on the line). Every other match is a
#: family's vocabulary that leaked out of its folder — ask the family
#: (models.registry.family_spec, its ``words``) instead.
GENERIC_USES = [
    # layout widths: a Rich console, table columns, a matplotlib line, CSV columns
    ("report/rich_format.py", "width"),
    ("report/sweep.py", "widths = [max(len"),
    ("report/sweep.py", "zip(header, widths"),
    ("report/sweep.py", "zip(b, widths"),
    ("report/sweep.py", "width: int = 160"),
    ("report/sweep.py", "Console(file=buf, width=width"),
    ("report/simulation_lines.py", "widths"),
    ("report/sweep_plot.py", "linewidth=0"),
    ("io/data.py", "width"),  # the columns of a CSV row
    # the public JSON key certificate.would_certify.width (README's contract)
    ("report/document.py", '"width"'),
    # examples of a spec key in help and error texts, and the built-in example spec (a
    # two-layer spec, the README's): text the user reads, unchanged by design
    ("cli/app.py", "--set model.width=8192"),
    ("io/grid.py", "``model.width``"),
    ("io/grid.py", "model.width=logspace(8,14,7,base=2)"),
    ("io/yaml_lines.py", "write a key such as `width:`"),
    ("io/example.py", ""),
    # a measurement quoted in a docstring (the networks it was measured on)
    ("flow/gd.py", "Measured (two-layer"),
]


def test_outside_models_no_family_vocabulary():
    """Outside models/, a family's words ("width", "two_layer", "two-layer", "neuron",
    the lecture's n^{3/2}/N) are only generic ones."""
    leaks = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("models/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not re.search(FAMILY_VOCABULARY, line):
                continue
            if not any(rel == f and text in line for f, text in GENERIC_USES):
                leaks.append(f"ntkcheck/{rel}:{number}: {line.strip()}")
    assert not leaks, "family vocabulary outside models/:\n" + "\n".join(leaks)


def test_theory_imports_no_spec_yaml_pydantic_models_or_integrator():
    code = (
        "import sys, ntkcheck.theory\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('yaml', 'pydantic')\n"
        "       or m.startswith(('scipy.integrate', 'ntkcheck.io', 'ntkcheck.models',\n"
        "                        'ntkcheck.run', 'ntkcheck.flow', 'ntkcheck.report'))]\n"
        "print(bad)\n"
    )
    assert _printed(code) == "[]"


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
