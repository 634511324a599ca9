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

Methods (all greedy: fit on everything labelled, take the top 16 of the unlabelled pool):
- ``reference_rf``: THE REFERENCE, written here with scikit-learn only: a RandomForestClassifier
  (200 trees, n_jobs=1, random_state=seed) on the 8 descriptors + 30 fractions, refit every batch,
  ranking the unlabelled pool restricted to ≥ 6-element alloys by predict_proba.
- ``forest``, ``gp_descriptors``, ``gp_latent``, ``ssvae``: the arcloop surrogates, ranking by
  p_mean × 1[≥ 6 elements]. ``gp_latent`` reads a fixed latent frame: an SSVAE
  (``SSVAE.campaign_defaults()``, seed) fitted once per seed on the 32 initial labels + the rest
  unlabelled; ``ssvae`` starts from that same fit and warm-refits it (30 epochs) every batch.
- ``random``: uniform picks (seeded), for the found-after-320 baseline.

    python benchmarks/pool_discovery.py --seeds 0-9            # every method, 10 seeds
    python benchmarks/pool_discovery.py --seeds 0-2 --methods reference_rf,forest
Prints one JSON object: per method the median and IQR (25th, 75th percentile) of af50 and found, the
median seconds per campaign, and the per-seed values.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Callable

import numpy as np
from _machine import machine_info
from sklearn.ensemble import RandomForestClassifier

from arcloop.data import alloy_fractions, alloy_labels
from arcloop.materials import descriptor_matrix
from arcloop.materials.families import n_elements
from arcloop.metrics import random_expected_draws
from arcloop.models import SSVAE
from arcloop.surrogates import build_surrogate

MIN_ELEMENTS = 6
N_INITIAL = 32
N_BATCHES = 20
BATCH = 16
METHODS = ("reference_rf", "forest", "gp_descriptors", "gp_latent", "ssvae", "random")


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


class Task:
    """The pool, its labels and targets, and each seed's initial set."""

    def __init__(self) -> None:
        self.X = alloy_fractions()
        self.y = alloy_labels().astype(np.int64)
        self.many = n_elements(self.X) >= MIN_ELEMENTS
        self.target = (self.y == 1) & self.many
        self.F = descriptor_matrix(self.X)

    def initial(self, seed: int) -> np.ndarray:
        return np.random.default_rng([seed, 0]).choice(len(self.X), size=N_INITIAL, replace=False)


Ranker = Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (labelled, unlabelled, batch) -> scores


def run_loop(task: Task, seed: int, score: Ranker) -> dict[str, float]:
    """Greedy loop: 20 batches of the top 16 unlabelled alloys by ``score``; returns af50, found, seconds."""
    started = time.perf_counter()
    labelled = list(task.initial(seed))
    for batch in range(N_BATCHES):
        is_labelled = np.zeros(len(task.X), dtype=bool)
        is_labelled[labelled] = True
        unlabelled = np.flatnonzero(~is_labelled)
        scores = score(np.asarray(labelled), unlabelled, batch)
        labelled.extend(int(i) for i in top_k(scores, unlabelled, BATCH))
    hits = task.target[np.asarray(labelled)]
    n_pool, n_targets = len(task.X), int(task.target.sum())
    return {
        "af50": af_at_half(hits, n_pool, n_targets),
        "af50_loop": af_at_half(hits, n_pool, n_targets, offset=N_INITIAL),
        "found": float(hits.sum()),
        "found_loop": float(hits[N_INITIAL:].sum()),
        "seconds": time.perf_counter() - started,
    }


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


def surrogate_ranker(task: Task, seed: int, name: str, params: dict, model: SSVAE | None) -> Ranker:
    surrogate = build_surrogate(name, **params, random_state=seed)
    latent = model.encode(task.X) if (name == "gp" and params.get("space") == "latent") else None

    def score(labelled: np.ndarray, unlabelled: np.ndarray, batch: int) -> np.ndarray:
        fitted_model = None
        if name == "ssvae":
            assert model is not None
            if batch > 0:  # batch 0 reads the initial fit itself
                model.fit(task.X[labelled], task.y[labelled], task.X[unlabelled])
            fitted_model = model
        z = None if latent is None else latent[labelled]
        surrogate.fit(task.X[labelled], task.y[labelled], z=z, model=fitted_model)
        p_mean, _ = surrogate.predict(task.X[unlabelled], None if latent is None else latent[unlabelled])
        return p_mean * task.many[unlabelled]

    return score


def random_ranker(seed: int) -> Ranker:
    rng = np.random.default_rng([seed, 9])
    return lambda labelled, unlabelled, batch: rng.random(len(unlabelled))


def initial_ssvae(task: Task, seed: int) -> tuple[SSVAE, float]:
    """SSVAE (campaign defaults) fitted on the 32 initial labels, every other alloy unlabelled."""
    started = time.perf_counter()
    initial = task.initial(seed)
    rest = np.setdiff1d(np.arange(len(task.X)), initial)
    model = SSVAE(**SSVAE.campaign_defaults(), seed=seed)
    model.fit(task.X[initial], task.y[initial], task.X[rest])
    return model, time.perf_counter() - started


def run(seeds: list[int], methods: list[str]) -> dict[str, object]:
    task = Task()
    per_method: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for seed in seeds:
        base, base_seconds = (None, 0.0)
        if {"gp_latent", "ssvae"} & set(methods):
            base, base_seconds = initial_ssvae(task, seed)
        for method in methods:
            if method == "reference_rf":
                ranker = reference_rf(task, seed)
            elif method == "random":
                ranker = random_ranker(seed)
            elif method == "forest":
                ranker = surrogate_ranker(task, seed, "forest", {}, None)
            elif method == "gp_descriptors":
                ranker = surrogate_ranker(task, seed, "gp", {"space": "descriptors"}, None)
            elif method == "gp_latent":
                ranker = surrogate_ranker(task, seed, "gp", {"space": "latent"}, base)
            else:
                ranker = surrogate_ranker(task, seed, "ssvae", {}, copy.deepcopy(base))
            row = run_loop(task, seed, ranker)
            if method in ("gp_latent", "ssvae"):
                row["seconds"] += base_seconds  # the initial SSVAE fit is part of these campaigns
            row["seed"] = seed
            per_method[method].append(row)
            print(json.dumps({"progress": method, **row}), flush=True, file=sys.stderr)
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
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    print(json.dumps(run(parse_seeds(args.seeds), methods), default=float))


if __name__ == "__main__":
    main()
