"""Wall time of a campaign on the demo task (examples/demo.yaml: the real pool, the lookup oracle,
target single phase with >= 6 elements, the default surrogate and model) at 20 iterations × batch
16, the share of each step, and the orchestration + tracking overhead of the Prefect flow with
MLflow against the same loop called as plain functions.

In the same run, two references: the loop as it was before the surrogates (the ``ssvae`` heads as
surrogate, the old model schedule: a 200-epoch first fit, 30-epoch warm refits at the cold learning
rate) and the loop a practitioner writes by hand with scikit-learn (a 200-tree random forest on the
descriptors and fractions, refitted each iteration, greedy top 16 of the >= 6-element candidates;
no latent model, no metrics, no checkpoints).

The campaign's first SSVAE fit is cached on disk (``arcloop.models.cache``): the first campaign of a
seed and scenario pays it, the next ones (every other policy of a benchmark, every rerun) read it.
Both are timed: "cold" runs in an empty cache folder, "cached" repeats the same campaign.

Run: python benchmarks/campaign.py [--iterations 20] [--batch-size 16] [--repeats 2]

``--checkpoint-scaling`` instead runs one long campaign (200 iterations × batch 8, rules oracle,
a small model: the measurement is of checkpoint I/O, not of training) through the direct executor
and reports the seconds of each checkpoint: those near iteration 10 and near the last iteration
should differ by less than 2× now that history and metrics are appended, not rewritten.

The Prefect ephemeral server is started (and timed) by a trivial flow first, and the MLflow store
is created (and timed) before the first campaign, so the overhead is that of the loop's tasks,
checkpoints, MLflow logging and end-of-run figures, not of the one-off server start or the store's
schema creation (which a new store pays once, in its first run).
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

import numpy as np
import yaml

WORKDIR = Path(tempfile.mkdtemp(prefix="arcloop-bench-campaign-"))
os.environ.setdefault("PREFECT_HOME", str(WORKDIR / "prefect"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

from arcloop.campaign.plain import run_plain  # noqa: E402
from arcloop.campaign.run import DirectExecutor, checkpoint, drive, preflight  # noqa: E402
from arcloop.campaign.steps import history_digest  # noqa: E402
from arcloop.config import CampaignConfig, validated  # noqa: E402
from arcloop.flows.campaign import run_campaign  # noqa: E402
from arcloop.tasks.settings import drain_events, prefect_session  # noqa: E402
from arcloop.tracking.store import ensure_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
PREVIOUS = {  # the loop before the surrogates: SSVAE heads, 200-epoch first fit, 30-epoch refits
    "surrogate": {"name": "ssvae"},
    "model": {"max_epochs": 200, "warm_max_epochs": 30, "warm_learning_rate": None},
}


def campaign_config(iterations: int, batch_size: int, name: str, **overrides: object) -> CampaignConfig:
    data = yaml.safe_load(DEMO.read_text())
    data.update(
        iterations=iterations,
        batch_size=batch_size,
        tracking={"uri": f"sqlite:///{WORKDIR / 'mlruns.db'}", "experiment": "bench-campaign"},
        state_dir=str(WORKDIR / name),
        **overrides,
    )
    return validated(CampaignConfig, data)


def use_cache(folder: str) -> None:
    os.environ["ARCLOOP_CACHE_DIR"] = str(WORKDIR / folder)


def sklearn_loop(iterations: int, batch_size: int, seed: int = 0) -> float:
    """The practitioner's loop on the demo task: seconds for ``iterations`` batches (same initial set)."""
    from sklearn.ensemble import RandomForestClassifier

    from arcloop.campaign.setup import prepare
    from arcloop.materials import descriptor_matrix, n_elements

    setup = prepare(campaign_config(iterations, batch_size, "sklearn"))
    start = time.perf_counter()
    X = setup.pool_X
    features = np.hstack([descriptor_matrix(X), X])
    labelled = list(setup.initial)
    labels = {int(i): int(setup.real_y[i]) for i in labelled}
    candidates = np.setdiff1d(setup.loop_rows, labelled)
    candidates = candidates[n_elements(X[candidates], 0.005) >= 6]
    for _ in range(iterations):
        forest = RandomForestClassifier(n_estimators=200, n_jobs=1, random_state=seed)
        forest.fit(features[labelled], [labels[i] for i in labelled])
        p = forest.predict_proba(features[candidates])[:, list(forest.classes_).index(1)]
        picked = candidates[np.argsort(-p, kind="stable")[:batch_size]]
        labelled += [int(i) for i in picked]
        labels.update({int(i): int(setup.real_y[i]) for i in picked})
        candidates = np.setdiff1d(candidates, picked)
    return time.perf_counter() - start


def start_prefect() -> float:
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    start = time.perf_counter()
    with prefect_session():
        warm_up()
    return time.perf_counter() - start


class TimedCheckpoints(DirectExecutor):
    """The direct executor, timing each checkpoint (state, arrays, model and the log appends)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, step, *args, iteration):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = super().__call__(step, *args, iteration=iteration)
        if step is checkpoint:
            self.seconds.append(time.perf_counter() - start)
        return result


def checkpoint_scaling(iterations: int, batch_size: int) -> dict:
    """Checkpoint seconds per iteration over one long campaign (median of a window of 11)."""
    config = {
        "iterations": iterations,
        "batch_size": batch_size,
        "seed": 0,
        "model": {"max_epochs": 150, "warm_max_epochs": 3, "hidden": [32, 32]},
        "candidates": {"source": "latent", "n_candidates": 400, "n_samples": 4},
        "policy": {"name": "uncertainty"},
        "oracle": {"name": "rules"},
        "tracking": {"uri": f"sqlite:///{WORKDIR / 'mlruns.db'}", "experiment": "bench-checkpoints"},
        "state_dir": str(WORKDIR / "checkpoint-scaling"),
    }
    campaign, setup = preflight(config, resume=False)
    executor = TimedCheckpoints()
    start = time.perf_counter()
    drive(campaign, setup, executor)
    wall = time.perf_counter() - start
    seconds = executor.seconds

    def around(iteration: int) -> float:
        low = max(0, min(iteration - 5, len(seconds) - 11))
        return statistics.median(seconds[low : low + 11])

    early, late = around(10), around(iterations - 1)
    logs = Path(config["state_dir"]) / "logs"
    return {
        "benchmark": "checkpoint_scaling",
        "machine": machine_info(),
        "iterations": iterations,
        "batch_size": batch_size,
        "campaign_seconds": round(wall, 1),
        "checkpoint_seconds_at_10": round(early, 5),
        "checkpoint_seconds_at_end": round(late, 5),
        "ratio_end_to_10": round(late / early, 3),
        "checkpoint_seconds_total": round(sum(seconds), 3),
        "log_bytes": {path.name: path.stat().st_size for path in sorted(logs.glob("*.jsonl"))},
        "target": {"ratio_end_to_10": 2.0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--checkpoint-scaling", action="store_true", help="200 × 8 campaign: checkpoint seconds at 10 and 200"
    )
    args = parser.parse_args()
    if args.checkpoint_scaling:
        iterations = args.iterations if args.iterations != 20 else 200
        batch = args.batch_size if args.batch_size != 16 else 8
        print(json.dumps(checkpoint_scaling(iterations, batch), indent=2))
        return

    server_start = start_prefect()
    start = time.perf_counter()
    ensure_store(f"sqlite:///{WORKDIR / 'mlruns.db'}")
    store_create = time.perf_counter() - start
    plain_walls, flow_walls, cold_walls, step_seconds, digests = [], [], [], {}, set()
    first_fit: list[float] = []
    for repeat in range(args.repeats):
        use_cache(f"cache-cold-{repeat}")  # an empty cache: this campaign fits its first model
        start = time.perf_counter()
        timings: dict[str, list[float]] = {}
        state = run_plain(campaign_config(args.iterations, args.batch_size, f"cold-{repeat}"), timings)
        cold_walls.append(time.perf_counter() - start)
        first_fit.append(timings["train"][0])
        digests.add(history_digest(state))

        timings = {}
        start = time.perf_counter()
        state = run_plain(campaign_config(args.iterations, args.batch_size, f"plain-{repeat}"), timings)
        plain_walls.append(time.perf_counter() - start)
        digests.add(history_digest(state))
        for step, values in timings.items():
            step_seconds.setdefault(step, []).append(sum(values))

        start = time.perf_counter()
        result = run_campaign(campaign_config(args.iterations, args.batch_size, f"flow-{repeat}"))
        flow_walls.append(time.perf_counter() - start)
        digests.add(result["history_sha256"])
    drain_events()

    previous_walls, sklearn_walls = [], []
    for repeat in range(args.repeats):
        use_cache(f"cache-previous-{repeat}")
        start = time.perf_counter()
        run_plain(campaign_config(args.iterations, args.batch_size, f"previous-{repeat}", **PREVIOUS))
        previous_walls.append(time.perf_counter() - start)
        sklearn_walls.append(sklearn_loop(args.iterations, args.batch_size))

    plain, orchestrated = statistics.median(plain_walls), statistics.median(flow_walls)
    cold, previous = statistics.median(cold_walls), statistics.median(previous_walls)
    steps = {step: statistics.median(values) for step, values in step_seconds.items()}
    print(
        json.dumps(
            {
                "benchmark": "campaign",
                "task": "examples/demo.yaml (pool, lookup, >= 6 elements), default surrogate and model",
                "machine": machine_info(),
                "iterations": args.iterations,
                "batch_size": args.batch_size,
                "repeats": args.repeats,
                "prefect_server_start_seconds": round(server_start, 2),
                "mlflow_store_create_seconds": round(store_create, 2),
                "plain_loop_seconds_median": round(plain, 2),
                "flow_seconds_median": round(orchestrated, 2),
                "cold_cache_plain_loop_seconds_median": round(cold, 2),
                "cold_first_fit_seconds_median": round(statistics.median(first_fit), 2),
                "previous_loop_seconds_median": round(previous, 2),
                "sklearn_loop_seconds_median": round(statistics.median(sklearn_walls), 2),
                "speedup_vs_previous_cached": round(previous / plain, 2),
                "speedup_vs_previous_cold": round(previous / cold, 2),
                "plain_loop_seconds": [round(v, 2) for v in plain_walls],
                "flow_seconds": [round(v, 2) for v in flow_walls],
                "cold_cache_seconds": [round(v, 2) for v in cold_walls],
                "previous_loop_seconds": [round(v, 2) for v in previous_walls],
                "sklearn_loop_seconds": [round(v, 2) for v in sklearn_walls],
                "overhead_seconds": round(orchestrated - plain, 2),
                "overhead_ratio": round(orchestrated / plain - 1.0, 4),
                "step_seconds_median": {step: round(v, 3) for step, v in steps.items()},
                "step_share_of_plain_loop": {step: round(v / plain, 4) for step, v in steps.items()},
                "same_history_cold_cached_and_flow": len(digests) == 1,
                "targets": {"flow_seconds": 15, "overhead_ratio": 0.10},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
