"""How long the command line takes to answer before it does any work: ``arcloop --help`` and
``arcloop campaign --help``, each in a fresh interpreter, ``--repeats`` times (median, min, max),
and the heavy libraries the help imported (none is the goal).

    python benchmarks/cli_start.py --repeats 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from _machine import machine_info

HEAVY = ("pandas", "torch", "prefect", "mlflow", "sklearn", "pyro")


def timed(argv: list[str], repeats: int) -> dict[str, object]:
    code = (
        "import sys\nfrom arcloop.cli import main\nmain(sys.argv[1:])\n"
        f"print([name for name in {HEAVY!r} if name in sys.modules], file=sys.stderr)"
    )
    seconds = []
    imported = ""
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        seconds.append(time.perf_counter() - start)
        imported = done.stderr.strip().splitlines()[-1]
    return {
        "command": "arcloop " + " ".join(argv),
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "heavy_imports": imported,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    results = [timed(["--help"], args.repeats), timed(["campaign", "--help"], args.repeats)]
    print(json.dumps({"machine": machine_info(), "repeats": args.repeats, "results": results}, indent=2))


if __name__ == "__main__":
    main()
