"""Wall time of the quick benchmark (examples/quick.yaml) with 1 and with 2 workers, the speed-up,
and the overhead per campaign (the benchmark's wall time with one worker minus the time inside its
tasks, the campaigns and their shared iteration-0 fits, per campaign: task runner, Prefect, parent
run, report). Each run starts from an empty model cache.

Run: python benchmarks/benchmark.py [--config examples/quick.yaml] [--runner processes]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="arcloop-bench-benchmark-"))
os.environ.setdefault("PREFECT_HOME", str(WORKDIR / "prefect"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

from arcloop.config import load_benchmark_config  # noqa: E402
from arcloop.flows.benchmark import run_benchmark  # noqa: E402
from arcloop.tasks.settings import drain_events  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "quick.yaml")
    parser.add_argument("--runner", default="processes")
    args = parser.parse_args()

    runs = {}
    for workers in (1, 2):
        # Each run starts from an empty model cache: otherwise the second would read the first's
        # iteration-0 fits and look faster than it is.
        os.environ["ARCLOOP_CACHE_DIR"] = str(WORKDIR / f"cache-{workers}")
        bench = load_benchmark_config(
            args.config,
            {
                "output_dir": str(WORKDIR / f"workers-{workers}"),
                "tracking.uri": f"sqlite:///{WORKDIR / 'mlruns.db'}",
            },
        )
        start = time.perf_counter()
        result = run_benchmark(bench, runner=args.runner, max_workers=workers)
        wall = time.perf_counter() - start
        runs[workers] = {"wall": wall, "result": result}
    drain_events()

    one, two = runs[1], runs[2]
    n = one["result"]["n_campaigns"]
    tasks_seconds = sum(one["result"]["campaign_seconds"]) + sum(one["result"]["first_fit_seconds"])
    overhead = (one["wall"] - tasks_seconds) / n
    same = json.dumps(one["result"]["summary"], sort_keys=True) == json.dumps(
        two["result"]["summary"], sort_keys=True
    )
    print(
        json.dumps(
            {
                "benchmark": "benchmark",
                "machine": machine_info(),
                "config": str(
                    args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
                ),
                "runner": args.runner,
                "n_campaigns": n,
                "n_failed": one["result"]["n_failed"],
                "wall_seconds_1_worker": round(one["wall"], 1),
                "wall_seconds_2_workers": round(two["wall"], 1),
                "speedup_2_vs_1": round(one["wall"] / two["wall"], 2),
                "campaign_seconds_median": round(sorted(one["result"]["campaign_seconds"])[n // 2], 2),
                "first_fits": len(one["result"]["first_fit_seconds"]),
                "first_fit_seconds_median": round(
                    sorted(one["result"]["first_fit_seconds"] or [0])[
                        len(one["result"]["first_fit_seconds"]) // 2
                    ],
                    2,
                ),
                "overhead_seconds_per_campaign": round(overhead, 2),
                "same_summary_1_and_2_workers": same,
                "summary": one["result"]["summary"],
            },
            indent=2,
            default=lambda value: None,
        )
    )


if __name__ == "__main__":
    main()
