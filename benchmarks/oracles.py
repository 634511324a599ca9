"""Oracle throughput: labels per second on 10⁵ random compositions (median over repeats).

Prints one JSON object. Usage: ``python benchmarks/oracles.py [--n 100000] [--repeats 5]``.
Compositions: 2 to 6 elements drawn uniformly from the 30, fractions Dirichlet(1).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time

import numpy as np
import sklearn
import torch

from arcloop.data import ELEMENTS
from arcloop.oracles import build_oracle, fitted_emulator


def random_compositions(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 30) compositions with 2-6 elements each, Dirichlet(1) fractions over them."""
    X = np.zeros((n, len(ELEMENTS)))
    counts = rng.integers(2, 7, size=n)
    for k in range(2, 7):
        rows = np.flatnonzero(counts == k)
        chosen = np.argsort(rng.random((rows.size, len(ELEMENTS))), axis=1)[:, :k]
        X[rows[:, None], chosen] = rng.dirichlet(np.ones(k), size=rows.size)
    return X


def timed(config: dict, X: np.ndarray, repeats: int, latent: np.ndarray | None = None) -> dict:
    oracle = build_oracle(config)
    oracle.label(X[:100], rng=np.random.default_rng(0), latent=None if latent is None else latent[:100])
    seconds = []
    for r in range(repeats):
        start = time.perf_counter()
        oracle.label(X, rng=np.random.default_rng(r), latent=latent)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"median_seconds": median, "labels_per_second": X.shape[0] / median, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = random_compositions(args.n, rng)
    Z = rng.standard_normal((args.n, 2))

    start = time.perf_counter()
    fitted_emulator("gradient_boosting", 0)
    emulator_fit_seconds = time.perf_counter() - start

    wrapped = {
        "name": "rules",
        "wrappers": [
            {"name": "flaky", "item_failure_prob": 0.05},
            {"name": "selection_biased", "drop_negative_prob": 0.5},
            {"name": "noisy", "flip_prob": 0.1},
            {"name": "costly", "cost_per_label": 2.0},
        ],
    }
    results = {
        "rules": timed({"name": "rules"}, X, args.repeats),
        "rules_vec": timed({"name": "rules", "params": {"vec_rule": True}}, X, args.repeats),
        "rules_4_wrappers": timed(wrapped, X, args.repeats),
        "emulator": timed({"name": "emulator"}, X, args.repeats),
        "synthetic": timed({"name": "synthetic"}, X, args.repeats, latent=Z),
    }
    print(
        json.dumps(
            {
                "benchmark": "oracles",
                "n_compositions": args.n,
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpu_count": os.cpu_count(),
                    "torch": torch.__version__,
                    "numpy": np.__version__,
                    "sklearn": sklearn.__version__,
                    "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                },
                "emulator_fit_seconds": emulator_fit_seconds,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
