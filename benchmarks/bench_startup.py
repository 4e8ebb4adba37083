"""Start-up of the CLI against ``python -c "import numpy"``, measured in one run (issue 12).

Prints the median wall time of each command over ``--repeat`` runs, its ratio to the
numpy import and its budget, and the heavy modules it imports (``python -X
importtime``); exits 1 when a ratio exceeds its budget or a command imports a module
it must not. The budgets are the issue's (``--version`` ≤ 1.2×, ``certify`` of the
built-in example ≤ 4×); ``--help``, ``validate`` and ``schema`` must load no
numerical stack (NumPy, SciPy) — ``validate`` and ``schema`` need pydantic, whose
import alone takes about as long as NumPy's.

    python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

#: command → (budget as a multiple of `import numpy` or None, modules it must not load).
NUMERICAL = ("numpy", "scipy")
COMMANDS: dict[tuple[str, ...], tuple[float | None, tuple[str, ...]]] = {
    ("--version",): (1.2, (*NUMERICAL, "pydantic", "rich")),
    ("--help",): (None, NUMERICAL),
    ("validate", "specs/lecture-example.yaml"): (None, NUMERICAL),
    ("schema",): (None, NUMERICAL),
    ("certify", "-f", "text"): (4.0, ("scipy", "matplotlib", "rich")),
}
HEAVY = ("numpy", "scipy", "scipy.integrate", "scipy.optimize", "matplotlib", "pydantic", "rich")


def wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(args: tuple[str, ...]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ntkcheck", *args],
        capture_output=True,
        text=True,
        check=False,
    ).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
    return [m for m in HEAVY if m in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    base = wall([sys.executable, "-c", "import numpy"], repeat)
    print(f"python -c 'import numpy': {base:.3f} s (median of {repeat})")
    print(f"{'command':<44}{'wall':>8}{'ratio':>8}{'budget':>8}  heavy imports")
    failed = False
    for args, (budget, forbidden) in COMMANDS.items():
        t = wall([sys.executable, "-m", "ntkcheck", *args], repeat)
        ratio = t / base
        heavy = heavy_imports(args)
        over = budget is not None and ratio > budget
        loaded = [m for m in heavy if m in forbidden]
        failed |= over or bool(loaded)
        mark = ("  OVER" if over else "") + (f"  loads {', '.join(loaded)}" if loaded else "")
        shown = f"{budget:>7.1f}×" if budget is not None else f"{'—':>8}"
        name = "ntkcheck " + " ".join(args)
        print(f"{name:<44}{t:>7.3f}s{ratio:>7.2f}×{shown}  {', '.join(heavy) or '—'}{mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
