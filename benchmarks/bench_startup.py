"""Start-up of the CLI against ``python -c "import numpy"``, measured in one run (issue 12).

Prints the median wall time of each command over ``--repeat`` runs, its ratio to the
numpy import, and the budget; exits 1 when a ratio exceeds its budget. Also lists the
heavy modules each command imports (``python -X importtime``).

    python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

#: command → budget as a multiple of `import numpy` (the issue's targets).
BUDGETS = {
    ("--version",): 1.2,
    ("--help",): 1.2,
    ("validate", "specs/lecture-example.yaml"): 2.0,
    ("schema",): 2.0,
    ("certify", "-f", "text"): 4.0,
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
    for args, budget in BUDGETS.items():
        t = wall([sys.executable, "-m", "ntkcheck", *args], repeat)
        ratio = t / base
        failed |= ratio > budget
        mark = "" if ratio <= budget else "  OVER"
        heavy = ", ".join(heavy_imports(args)) or "—"
        name = "ntkcheck " + " ".join(args)
        print(f"{name:<44}{t:>7.3f}s{ratio:>7.2f}×{budget:>7.1f}×  {heavy}{mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
