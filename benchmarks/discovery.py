"""Distinct discoveries per policy on the demo task: what the loop really finds, against random.

For every built-in policy with its default batch builder (exclusion; top_k for random, the uniform
baseline), greedy with ``top_k`` (the redundancy the default builder removes) and random with
``exclusion`` (a space-filling random baseline): ``--seeds`` seeds × ``--iterations`` × the demo's batch size
on ``examples/demo.yaml`` (the real pool, lookup oracle), as plain function calls (arcloop.campaign).
Per campaign: hits, distinct discoveries, yield (discoveries per label paid) and mean redundancy.
Prints one JSON object: per-campaign rows and, per policy, the median over seeds and the ratio of
median discoveries to random's.

The iteration-0 fit depends only on the seed, the scenario and the model settings, never on the
policy, so it is done once per seed and copied; ``--check`` verifies for one policy that this gives
the very history ``run_plain`` gives.

Run: python benchmarks/discovery.py [--seeds 5] [--iterations 6] [--workers 2] [--check] [--config FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from arcloop.campaign import steps
from arcloop.campaign.plain import run_plain
from arcloop.campaign.setup import initial_state, prepare
from arcloop.config import CampaignConfig, load_campaign_config, validated

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
POLICIES: dict[str, dict[str, Any]] = {
    "greedy": {"name": "greedy"},
    "greedy+top_k": {"name": "greedy", "builder": {"name": "top_k"}},
    "uncertainty": {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.5}},
    "entropy": {"name": "entropy", "params": {"beta": 0.5, "mode": "direction"}},
    "entropy-coverage": {"name": "entropy", "params": {"beta": 0.5, "mode": "coverage"}},
    "thompson": {"name": "thompson"},
    "novelty": {"name": "novelty"},
    "random": {"name": "random"},
    "random+exclusion": {"name": "random", "builder": {"name": "exclusion"}},
}


TASK = ROOT / "examples" / "demo.yaml"


def demo_config(seed: int, iterations: int, policy: dict[str, Any], task: Path = TASK) -> CampaignConfig:
    base = load_campaign_config(task).model_dump(mode="json")
    return validated(CampaignConfig, {**base, "seed": seed, "iterations": iterations, "policy": policy})


def run_policy(config: CampaignConfig, model0: Any) -> steps.CampaignState:
    setup = prepare(config)
    state = initial_state(setup)
    model = None
    for _ in range(config.iterations):
        model = copy.deepcopy(model0) if model is None else steps.train(setup, state, model)
        proposal = steps.propose(setup, state, model)
        labels = steps.label(setup, proposal, state.iteration, 1)
        state, _ = steps.measure(setup, state, model, proposal, labels, 1)
    return state


def one_seed(seed: int, iterations: int, check: bool, task: Path = TASK) -> list[dict[str, Any]]:
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    first = demo_config(seed, iterations, POLICIES["random"], task)
    setup = prepare(first)
    model0 = steps.train(setup, initial_state(setup), None)
    fit_seconds = time.perf_counter() - started
    rows = []
    for label, policy in POLICIES.items():
        config = demo_config(seed, iterations, policy, task)
        start = time.perf_counter()
        state = run_policy(config, model0)
        if check and label == "uncertainty":
            assert steps.history_digest(state) == steps.history_digest(run_plain(config))
        final = state.metrics[-1]
        rows.append(
            {
                "policy": label,
                "seed": seed,
                "hits": final["discovery/hits"],
                "discoveries": final["discovery/discoveries"],
                "yield": final["discovery/yield"],
                "redundancy": float(np.nanmean([m["discovery/redundancy"] for m in state.metrics])),
                "labels_paid": final["discovery/labels_paid"],
                "seconds": time.perf_counter() - start,
                "shared_fit_seconds": fit_seconds,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="shared iteration-0 fit == run_plain")
    parser.add_argument("--config", type=Path, default=TASK, help="the campaign config of the task")
    args = parser.parse_args()
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(one_seed, seed, args.iterations, args.check, args.config)
            for seed in range(args.seeds)
        ]
        rows = [row for future in futures for row in future.result()]
    summary = {}
    for label in POLICIES:
        mine = [row for row in rows if row["policy"] == label]
        summary[label] = {
            key: statistics.median(row[key] for row in mine)
            for key in ("hits", "discoveries", "yield", "redundancy")
        }
    random_median = summary["random"]["discoveries"]
    for values in summary.values():
        values["discoveries_vs_random"] = values["discoveries"] / random_median if random_median else None
    print(
        json.dumps(
            {
                "machine": machine_info(),
                "task": str(args.config),
                "seeds": args.seeds,
                "iterations": args.iterations,
                "wall_seconds": time.perf_counter() - started,
                "median_over_seeds": summary,
                "campaigns": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
