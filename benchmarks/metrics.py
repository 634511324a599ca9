"""Seconds per `arcloop.metrics.iteration_metrics` call, 5,000 explored points and a batch of 16 (≤ 0.2 s).

Also times the two costly parts (Vendi of the explored set, latent–label mutual information) and measures the
Nyström Vendi estimate against the exact eigensolve. One core (BLAS pinned), medians over repeats.

Run: python benchmarks/metrics.py [--explored 5000] [--batch 16] [--repeats 7] [--exact-n 2000]
"""

from __future__ import annotations

import os

# One core: pin BLAS/OpenMP before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from arcloop.data import alloy_fractions  # noqa: E402
from arcloop.metrics import (  # noqa: E402
    DEFAULT_LANDMARKS,
    campaign_bandwidth,
    iteration_metrics,
    mutual_information,
    vendi_score,
)

try:
    from _machine import machine_info
except ImportError:  # run as a module
    from benchmarks._machine import machine_info


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def campaign_inputs(n_explored: int, batch: int, dim: int, seed: int) -> dict[str, object]:
    """Inputs shaped like a late iteration: clustered latent points, real compositions, 32 MC samples."""
    rng = np.random.default_rng(seed)
    pool = alloy_fractions()
    centres = rng.normal(size=(12, dim)) * 1.5
    explored_z = centres[rng.integers(0, 12, n_explored)] + 0.4 * rng.normal(size=(n_explored, dim))
    batch_z = rng.normal(size=(batch, dim))
    n_candidates = 2000
    labels = n_explored + batch - 200
    hit_sequence = rng.random(labels) < 0.4
    return {
        "explored_z": explored_z,
        "batch_z": batch_z,
        "explored_compositions": pool[rng.integers(0, len(pool), n_explored)],
        "batch_compositions": pool[rng.integers(0, len(pool), batch)],
        "pool_compositions": pool,
        "vendi_bandwidth": campaign_bandwidth(rng.normal(size=(len(pool), dim)) * 1.5),
        "hit_sequence": hit_sequence,
        "batch_hits": hit_sequence[-batch:],
        "n_targets": 700,
        "base_rate": 0.45,
        "candidate_p_samples": rng.beta(2.0, 2.0, size=(32, n_candidates)),
        "batch_index": rng.choice(n_candidates, batch, replace=False),
        "holdout_p": rng.random(137),
        "holdout_y": rng.integers(0, 2, 137),
        "labelled_z": np.vstack([explored_z, batch_z]),
        "labelled_y": rng.integers(-1, 2, n_explored + batch),
        "model_stats": {"elbo": -10.0, "active_units": float(dim)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explored", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--exact-n", type=int, default=2000, help="set size for the Nyström-vs-exact check (0: skip)"
    )
    args = parser.parse_args()

    results: dict[str, object] = {"machine": machine_info(), "explored": args.explored, "batch": args.batch}
    results["threads"] = os.environ["OMP_NUM_THREADS"]
    results["repeats"] = args.repeats
    for dim in (2, 8):
        inputs = campaign_inputs(args.explored, args.batch, dim, seed=dim)
        everything = np.vstack([inputs["explored_z"], inputs["batch_z"]])
        labelled = inputs["labelled_y"] >= 0
        h = inputs["vendi_bandwidth"]
        row: dict[str, object] = {
            "iteration_metrics_s": median_seconds(
                lambda inputs=inputs: iteration_metrics(**inputs), args.repeats
            ),
            "vendi_explored_s": median_seconds(lambda e=everything, h=h: vendi_score(e, h), args.repeats),
            "mutual_information_s": median_seconds(
                lambda i=inputs, m=labelled: mutual_information(
                    i["labelled_z"][m], i["labelled_y"][m], max_points=2000
                ),
                args.repeats,
            ),
        }
        if args.exact_n:
            subset = everything[: args.exact_n]
            start = time.perf_counter()
            exact = vendi_score(subset, h, landmarks=len(subset))
            row["vendi_exact_n"] = len(subset)
            row["vendi_exact_s"] = time.perf_counter() - start
            row["vendi_exact"] = exact
            row["vendi_nystrom"] = vendi_score(subset, h, landmarks=DEFAULT_LANDMARKS)
            row["vendi_nystrom_rel_error"] = abs(row["vendi_nystrom"] - exact) / exact
        results[f"d={dim}"] = row
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
