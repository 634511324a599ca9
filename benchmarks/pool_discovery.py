"""Discovery on the real pool: how fast does a greedy loop on each surrogate find ≥ 6-element single phases?

Task (issue 12): the pool is all 1,375 packaged alloys with their real labels
(:func:`arcloop.data.alloy_labels`); a target is a real single-phase alloy with ≥ 6 elements
(fraction > 0.005, :func:`arcloop.materials.families.n_elements`): 76 rows. Each seed draws 32 random
initial alloys (the same for every method of that seed), then 20 batches of 16 are picked and
labelled. Every label counts as a pick, the 32 initial ones included, in order (within a batch, in
rank order), so random search is the hypergeometric draw of :func:`random_expected_draws`.

Readings per campaign:
- ``af50``: acceleration factor at 50 % of the targets (38 of 76) at pick resolution: the expected
  number of random picks to find 38 targets, 38·(1375 + 1)/(76 + 1) = 679.1, divided by the pick at
  which the method's 38th target was labelled. NaN when the campaign (352 picks) never gets there.
- ``af50_loop``: the same, with the method's side counting only the loop's picks (not the 32 initial
  alloys, whose targets still count as found): the convention of the issue's table (its reference
  forest's 10.2 is 679/(100 − 32)); it is ≥ ``af50`` by construction.
- ``found``: targets among the 352 labelled alloys after the 20 batches (``targets found after 320``);
  ``found_loop``: among the 320 picked ones only.
- ``seconds``: wall time of the campaign (fits and ranking).

Methods:
- ``reference_rf``: THE REFERENCE, written here with scikit-learn only: a RandomForestClassifier
  (200 trees, n_jobs=1, random_state=seed) on the 8 descriptors + 30 fractions, refit every batch,
  greedy top 16 of the unlabelled pool restricted to ≥ 6-element alloys by predict_proba.
- ``random``: uniform picks (seeded), for the found-after-320 baseline.
- ``POLICY@SURROGATE`` (e.g. ``greedy@forest``, ``thompson@gp``, ``uncertainty@ssvae``): arcloop's own
  campaign loop (``arcloop.campaign.plain.run_plain``: the loop every campaign runs, without MLflow) on this
  task: candidates = the pool, oracle = ``lookup`` (the real label), 32 initial alloys, no held-out
  set, target = single phase with ≥ 6 elements and the pool's defaults (``target.novelty`` 0 and
  ``reference: none``: a discovery is a target composition not labelled before, what "found"
  counts; a user's config that sets nothing else gets the same), the policy's
  default parameters and batch builder, surrogates ``forest``, ``gp`` (latent space),
  ``gp_descriptors`` and ``ssvae`` with their defaults. The policy ranks by P(target) = the
  surrogate's draws × the target's composition part; nobody restricts the pool by hand.

Every method of a seed starts from the same 32 alloys: the campaign's own initial set for that seed.
The lookup oracle abstains on 6 conflicting duplicate alloys (free, never a target); the reference and
``random`` read the dataset label of every row.

    python benchmarks/pool_discovery.py --seeds 0-9 --workers 2       # every method, 10 seeds
    python benchmarks/pool_discovery.py --seeds 0-2 --methods reference_rf,greedy@forest
Prints one JSON object: per method the median and IQR (25th, 75th percentile) of af50 and found, the
median seconds per campaign, and the per-seed values.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import cache

import numpy as np
from _machine import machine_info
from sklearn.ensemble import RandomForestClassifier

os.environ.setdefault("ARCLOOP_CACHE_DIR", tempfile.mkdtemp(prefix="arcloop-pool-cache-"))

from arcloop.campaign.plain import run_plain
from arcloop.campaign.setup import prepare, target_mask
from arcloop.config import CampaignConfig, validated
from arcloop.data import alloy_fractions, alloy_labels
from arcloop.materials import descriptor_matrix
from arcloop.materials.families import n_elements
from arcloop.metrics import random_expected_draws

MIN_ELEMENTS = 6
N_INITIAL = 32
N_BATCHES = 20
BATCH = 16
POLICIES = ("greedy", "uncertainty", "entropy", "thompson", "novelty", "random")
SURROGATES = {
    "forest": {"name": "forest"},
    "gp": {"name": "gp"},
    "gp_descriptors": {"name": "gp", "params": {"space": "descriptors"}},
    "ssvae": {"name": "ssvae"},
}
CAMPAIGNS = tuple(f"{policy}@{surrogate}" for surrogate in SURROGATES for policy in POLICIES)
METHODS = ("reference_rf", "random", *CAMPAIGNS)


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(part) for part in text.split("-"))
        return list(range(low, high + 1))
    return [int(part) for part in text.split(",")]


def top_k(score: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The k candidates (pool indices) with the highest score, ties to the lower index, in rank order."""
    order = np.lexsort((candidates, -score))
    return candidates[order[:k]]


def af_at_half(hit_sequence: np.ndarray, n_pool: int, n_targets: int, offset: int = 0) -> float:
    """Random's expected picks to find ⌈50 %⌉ of the targets ÷ the pick at which the method found them.

    ``offset``: picks not counted on the method's side (the initial set, for ``af50_loop``).
    """
    need = int(np.ceil(0.5 * n_targets))
    found = np.cumsum(hit_sequence)
    reached = np.flatnonzero(found >= need)
    if reached.size == 0:
        return float("nan")
    return random_expected_draws(n_pool, n_targets, need) / float(reached[0] + 1 - offset)


def campaign_config(seed: int, policy: str = "random", surrogate: str = "forest") -> CampaignConfig:
    """arcloop's campaign on this task (see the module docstring)."""
    folder = tempfile.mkdtemp(prefix="arcloop-pool-")
    return validated(
        CampaignConfig,
        {
            "seed": seed,
            "iterations": N_BATCHES,
            "batch_size": BATCH,
            "candidates": {"source": "pool"},
            "policy": {"name": policy},
            "surrogate": SURROGATES[surrogate],
            "oracle": {"name": "lookup"},
            "scenario": {"kind": "random", "n_initial": N_INITIAL, "holdout_fraction": 0.0},
            "target": {"min_elements": MIN_ELEMENTS},  # the pool's defaults: novelty 0, reference none
            "tracking": {"uri": f"sqlite:///{folder}/mlruns.db"},
            "state_dir": f"{folder}/state",
        },
    )


class Task:
    """The pool, its labels and targets, and each seed's initial set (the campaign's own)."""

    def __init__(self) -> None:
        self.X = alloy_fractions()
        self.y = alloy_labels().astype(np.int64)
        self.many = n_elements(self.X) >= MIN_ELEMENTS
        self.target = (self.y == 1) & self.many
        self.F = descriptor_matrix(self.X)

    @staticmethod
    @cache
    def initial(seed: int) -> np.ndarray:
        return prepare(campaign_config(seed)).initial


Ranker = Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (labelled, unlabelled, batch) -> scores


def readings(hits: np.ndarray, n_pool: int, n_targets: int, seconds: float) -> dict[str, float]:
    """af50, af50_loop, found, found_loop of a hit sequence in pick order (the initial set first)."""
    return {
        "af50": af_at_half(hits, n_pool, n_targets),
        "af50_loop": af_at_half(hits, n_pool, n_targets, offset=N_INITIAL),
        "found": float(hits.sum()),
        "found_loop": float(hits[N_INITIAL:].sum()),
        "seconds": seconds,
    }


def run_loop(task: Task, seed: int, score: Ranker) -> dict[str, float]:
    """Greedy loop: 20 batches of the top 16 unlabelled alloys by ``score``."""
    started = time.perf_counter()
    labelled = list(task.initial(seed))
    for batch in range(N_BATCHES):
        is_labelled = np.zeros(len(task.X), dtype=bool)
        is_labelled[labelled] = True
        unlabelled = np.flatnonzero(~is_labelled)
        scores = score(np.asarray(labelled), unlabelled, batch)
        labelled.extend(int(i) for i in top_k(scores, unlabelled, BATCH))
    hits = task.target[np.asarray(labelled)]
    return readings(hits, len(task.X), int(task.target.sum()), time.perf_counter() - started)


def reference_rf(task: Task, seed: int) -> Ranker:
    """The reference: scikit-learn random forest on descriptors + fractions, pool cut to ≥ 6 elements."""
    features = np.hstack([task.F, task.X])

    def score(labelled: np.ndarray, unlabelled: np.ndarray, batch: int) -> np.ndarray:
        forest = RandomForestClassifier(n_estimators=200, n_jobs=1, random_state=seed)
        forest.fit(features[labelled], task.y[labelled])
        proba = forest.predict_proba(features[unlabelled])
        p = proba[:, list(forest.classes_).index(1)] if 1 in forest.classes_ else np.zeros(len(unlabelled))
        return np.where(task.many[unlabelled], p, -1.0)  # restricted pool: others never picked first

    return score


def random_ranker(seed: int) -> Ranker:
    rng = np.random.default_rng([seed, 9])
    return lambda labelled, unlabelled, batch: rng.random(len(unlabelled))


def run_campaign(task: Task, seed: int, method: str) -> dict[str, float]:
    """arcloop's loop for ``POLICY@SURROGATE``; hits in pick order (initial set, then each batch in
    the builder's order), truth = the lookup oracle's verdict."""
    policy, surrogate = method.split("@")
    config = campaign_config(seed, policy, surrogate)
    started = time.perf_counter()
    state = run_plain(config)
    seconds = time.perf_counter() - started
    initial_hits = target_mask(config, state.labelled_X[:N_INITIAL], state.labelled_y[:N_INITIAL])
    hits = np.concatenate([initial_hits, state.proposed_hit]).astype(bool)
    return readings(hits, len(task.X), int(task.target.sum()), seconds)


def run_one(method: str, seed: int) -> dict[str, object]:
    task = Task()
    try:
        if method == "reference_rf":
            row: dict[str, object] = {**run_loop(task, seed, reference_rf(task, seed))}
        elif method == "random":
            row = {**run_loop(task, seed, random_ranker(seed))}
        else:
            row = {**run_campaign(task, seed, method)}
    except Exception as error:  # one failed campaign is reported, not the end of the run
        nan = float("nan")
        row = {"af50": nan, "af50_loop": nan, "found": nan, "found_loop": nan, "seconds": nan}
        row["error"] = f"{type(error).__name__}: {error}"
    row["seed"] = seed
    print(json.dumps({"progress": method, **row}), flush=True, file=sys.stderr)
    return row


def run(seeds: list[int], methods: list[str], workers: int) -> dict[str, object]:
    task = Task()
    jobs = [(method, seed) for seed in seeds for method in methods]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(run_one, *zip(*jobs, strict=True)))
    per_method: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for (method, _seed), row in zip(jobs, rows, strict=True):
        per_method[method].append(row)
    return {
        "task": {
            "pool": len(task.X),
            "targets": int(task.target.sum()),
            "min_elements": MIN_ELEMENTS,
            "initial": N_INITIAL,
            "batches": N_BATCHES,
            "batch_size": BATCH,
            "random_expected_picks_at_50pct": random_expected_draws(
                len(task.X), int(task.target.sum()), int(np.ceil(0.5 * task.target.sum()))
            ),
        },
        "seeds": seeds,
        "workers": workers,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "methods": {m: summarise(rows) for m, rows in per_method.items()},
        "load_average": list(os.getloadavg()),
        "machine": machine_info(),
    }


def summarise(rows: list[dict[str, float]]) -> dict[str, object]:
    def stats(key: str) -> dict[str, float]:
        values = np.array([r[key] for r in rows], dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n_reached": 0}
        # a campaign that never reaches 50 % has AF below 679/352: it ranks lowest
        filled = np.where(np.isfinite(values), values, -np.inf)
        q25, median, q75 = (
            float(q) if np.isfinite(q) else float("nan")
            for q in np.percentile(filled, [25, 50, 75], method="lower")
        )
        return {"median": median, "q25": q25, "q75": q75, "n_reached": int(finite.size)}

    return {
        "af50": stats("af50"),
        "af50_loop": stats("af50_loop"),
        "found_after_320": stats("found"),
        "found_in_320_picks": stats("found_loop"),
        "seconds_per_campaign_median": float(np.median([r["seconds"] for r in rows])),
        "per_seed": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    print(json.dumps(run(parse_seeds(args.seeds), methods, args.workers), default=float))


if __name__ == "__main__":
    main()
