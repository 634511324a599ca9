"""Benchmark of the SSVAE: fits to the paper's accuracy, warm refits of the campaign, batch prediction.

Prints one JSON object. Timings are medians over repeats (the machine is shared: expect noise).

    python benchmarks/model.py            # full: seeds 0-4 of the paper protocol (several minutes)
    python benchmarks/model.py --quick    # one seed, fewer repeats
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
import pyro
import torch

from arcloop.models import SSVAE
from arcloop.models.evaluation import distinct_alloys, evaluate


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "numpy": np.__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def random_compositions(n: int, seed: int) -> np.ndarray:
    """n compositions of 2–6 random elements with Dirichlet(1) fractions."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 30))
    k = rng.integers(2, 7, size=n)
    for size in range(2, 7):
        rows = np.flatnonzero(k == size)
        columns = np.argsort(rng.random((len(rows), 30)), axis=1)[:, :size]
        X[rows[:, None], columns] = rng.dirichlet(np.ones(size), size=len(rows))
    return X


def paper_fits(seeds: list[int]) -> dict[str, object]:
    summary = evaluate(seeds, n_labelled=None, supervised=False)
    return {
        "seeds": seeds,
        "seconds_per_fit_median": summary["seconds_per_fit_median"],
        "seconds_per_fit": [row["seconds"] for row in summary["per_seed"]],
        "best_epochs": [row["best_epoch"] for row in summary["per_seed"]],
        "test_accuracy_mean": summary["test_accuracy_mean"],
        "test_auc_mean": summary["test_auc_mean"],
    }


def campaign_refits(n_refits: int, batch: int = 20) -> dict[str, object]:
    """Cold fit with the campaign preset on all 1,373 alloys (200 labelled), then warm refits that each
    move ``batch`` alloys from the unlabelled to the labelled set, as the loop does."""
    X, y = distinct_alloys()
    order = np.random.default_rng(0).permutation(len(X))
    n_labelled = 200
    model = SSVAE(**SSVAE.campaign_defaults(), random_state=0)
    started = time.perf_counter()
    model.fit(X[order[:n_labelled]], y[order[:n_labelled]], X[order[n_labelled:]])
    cold = time.perf_counter() - started
    warm = []
    for i in range(n_refits):
        n_labelled += batch
        model.set_params(random_state=1000 + i)
        started = time.perf_counter()
        model.fit(X[order[:n_labelled]], y[order[:n_labelled]], X[order[n_labelled:]])
        warm.append(time.perf_counter() - started)
    return {
        "preset": SSVAE.campaign_defaults(),
        "n_alloys": len(X),
        "cold_fit_seconds": cold,
        "warm_refit_seconds_median": statistics.median(warm),
        "warm_refit_seconds": warm,
    }


def sample_prediction(n: int, n_samples: int, repeats: int) -> dict[str, object]:
    X, y = distinct_alloys()
    model = SSVAE(max_epochs=5, random_state=0).fit(X[:500], y[:500], X[500:])
    candidates = random_compositions(n, seed=1)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        samples = model.predict_proba_samples(candidates, n_samples=n_samples)
        times.append(time.perf_counter() - started)
    assert samples.shape == (n_samples, n)
    return {"n": n, "n_samples": n_samples, "seconds_median": statistics.median(times), "seconds": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one seed and fewer repeats")
    args = parser.parse_args()
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    result = {
        "machine": machine(),
        "predict_proba_samples": sample_prediction(100_000, 32, 3 if args.quick else 7),
        "campaign": campaign_refits(5 if args.quick else 10),
        "paper_protocol": paper_fits(seeds),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
