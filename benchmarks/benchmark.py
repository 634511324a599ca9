"""Wall time of the quick benchmark (examples/quick.yaml) with 1 and with 2 workers, the speed-up,
and the overhead per campaign.

Two cache states, each with 1 and 2 workers:
- ``cold``: an empty model cache, as on the first run of a grid: the three iteration-0 fits (one
  per seed, shared by the policies) are part of the work;
- ``warm``: the cache the cold 1-worker run left, as on every later scheduled run of the same grid
  (same seeds, data and settings): those fits are read, not repeated.

The Prefect ephemeral server is started, the MLflow store created and the processes runner's
template process started before any timed run (one-off costs of a process / a store, reported
apart; ``arcloop benchmark`` starts the template before Prefect's server, which hides it).
Overhead per campaign = (wall time with one worker − the time inside its tasks, the campaigns and
the shared fits) / campaigns: task runner, worker start, Prefect, parent run, report.

Run: python benchmarks/benchmark.py [--config examples/quick.yaml] [--runner processes]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="arcloop-bench-benchmark-"))
os.environ.setdefault("PREFECT_HOME", str(WORKDIR / "prefect"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

from arcloop.config import load_benchmark_config  # noqa: E402
from arcloop.flows.benchmark import WORKER_PRELOAD, run_benchmark  # noqa: E402
from arcloop.grid import worker_template  # noqa: E402
from arcloop.tasks.settings import drain_events  # noqa: E402
from arcloop.tracking.store import ensure_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def start_prefect() -> None:
    """Start the ephemeral Prefect server with a trivial flow (a one-off cost of the process)."""
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "quick.yaml")
    parser.add_argument("--runner", default="processes")
    args = parser.parse_args()

    uri = f"sqlite:///{WORKDIR / 'mlruns.db'}"
    started = time.perf_counter()
    start_prefect()
    server_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ensure_store(uri)
    store_seconds = time.perf_counter() - started
    # The processes runner's template process: like the server, a one-off of a process (the CLI
    # starts it before Prefect's server, which hides it); ready once it has forked one process.
    started = time.perf_counter()
    probe = worker_template(WORKER_PRELOAD).Process(target=os.getpid)
    probe.start()
    probe.join()
    template_seconds = time.perf_counter() - started

    def timed(label: str, workers: int, cache: Path) -> dict:
        os.environ["ARCLOOP_CACHE_DIR"] = str(cache)
        bench = load_benchmark_config(
            args.config, {"output_dir": str(WORKDIR / f"{label}-{workers}"), "tracking.uri": uri}
        )
        start, start_unix = time.perf_counter(), time.time()
        result = run_benchmark(bench, runner=args.runner, max_workers=workers)
        wall = time.perf_counter() - start
        return {"wall": wall, "result": result, "timeline": timeline(result, start_unix, wall)}

    def timeline(result: dict, start_unix: float, wall: float) -> dict:
        """Where the wall time outside the campaigns goes: before the first campaign starts (flow
        run, parent run, worker start) and after the last one ends (report, shutdown)."""
        spans = result["campaign_spans"]
        first_start = min(start for start, _, _ in spans) - start_unix
        last_end = max(start + seconds for start, seconds, _ in spans) - start_unix
        return {
            "before_first_campaign_seconds": round(first_start, 2),
            "after_last_campaign_seconds": round(wall - last_end, 2),
            "workers": len({pid for _, _, pid in spans}),
        }

    runs = {
        "cold": {workers: timed("cold", workers, WORKDIR / f"cache-cold-{workers}") for workers in (1, 2)}
    }
    # The cold 1-worker run left every iteration-0 fit of the grid in its cache.
    runs["warm"] = {workers: timed("warm", workers, WORKDIR / "cache-cold-1") for workers in (1, 2)}
    drain_events()

    def reading(one: dict, two: dict) -> dict:
        n = one["result"]["n_campaigns"]
        fits = one["result"]["first_fit_seconds"]
        tasks_seconds = sum(one["result"]["campaign_seconds"]) + sum(fits)
        return {
            "wall_seconds_1_worker": round(one["wall"], 1),
            "wall_seconds_2_workers": round(two["wall"], 1),
            "speedup_2_vs_1": round(one["wall"] / two["wall"], 2),
            "campaign_seconds_median": round(statistics.median(one["result"]["campaign_seconds"]), 2),
            "first_fit_seconds": [round(value, 1) for value in fits],
            "overhead_seconds_per_campaign": round((one["wall"] - tasks_seconds) / n, 2),
            "same_summary_1_and_2_workers": same(one, two),
            "timeline_1_worker": one["timeline"],
            "timeline_2_workers": two["timeline"],
        }

    def same(one: dict, two: dict) -> bool:
        return json.dumps(one["result"]["summary"], sort_keys=True) == json.dumps(
            two["result"]["summary"], sort_keys=True
        )

    first = runs["cold"][1]
    print(
        json.dumps(
            {
                "benchmark": "benchmark",
                "machine": machine_info(),
                "config": str(
                    args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
                ),
                "runner": args.runner,
                "n_campaigns": first["result"]["n_campaigns"],
                "n_failed": first["result"]["n_failed"],
                "prefect_server_start_seconds": round(server_seconds, 1),
                "mlflow_store_create_seconds": round(store_seconds, 1),
                "worker_template_ready_seconds": round(template_seconds, 1),
                "cold_cache": reading(runs["cold"][1], runs["cold"][2]),
                "warm_cache": reading(runs["warm"][1], runs["warm"][2]),
                "same_summary_cold_and_warm": same(runs["cold"][1], runs["warm"][2]),
                "load_average": list(os.getloadavg()),
                "summary": first["result"]["summary"],
            },
            indent=2,
            default=lambda value: None,
        )
    )


if __name__ == "__main__":
    main()
