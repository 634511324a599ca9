"""Calibration of each surrogate on the real pool, near and far from the labelled alloys.

Task: the 1,375 packaged alloys of ``benchmarks/pool_discovery.py`` (its :class:`Task`), label =
single phase, truth = the dataset's label (:func:`arcloop.data.alloy_labels`). For each seed and
labelled-set size m (128, 256): m alloys drawn uniformly without replacement
(``default_rng([seed, 1, m])``) are labelled; every other alloy is held out. Each surrogate is
fitted on the m labels:

- ``forest``: ``ForestSurrogate()`` (200 trees on descriptors + fractions);
- ``gp_descriptors``: ``GPSurrogate(space="descriptors")``;
- ``gp_latent``: ``GPSurrogate(space="latent")`` on the encodings of an SSVAE
  (``SSVAE.campaign_defaults()``, seed) fitted on the m labels + the held-out alloys unlabelled
  (as the campaign loop fits it: the pool is its unlabelled set);
- ``ssvae``: the K heads of that same SSVAE fit.

Held-out alloys are split by their composition distance to the nearest labelled alloy (at.%, half
the L1 distance × 100, :func:`arcloop.metrics.discovery.nearest_distance`) at the median of that
distance over the held-out set: ``near`` = distance ≤ median, ``far`` = above it. Readings per
(surrogate, m, near/far), median over seeds:

- ``ece``: expected calibration error of p_mean against the held-out labels, 10 equal-width bins
  (:func:`arcloop.metrics.model.expected_calibration_error`);
- ``brier``: mean (p_mean − y)² (the constant base rate scores p̄(1 − p̄), ≈ 0.25 here);
- ``u``: mean over the alloys of the std of the S draws (the surrogate's stated spread);
- ``positive_rate``, ``p_mean``: mean label and mean prediction (calibration-in-the-large);
- ``ece_floor``: the median ECE of the same predictions against 200 label sets drawn as
  y* ~ Bernoulli(p_mean): what a perfectly calibrated surrogate would score on this many alloys
  (ECE is biased upwards by the finite sample, ≈ 0.04 for ~600 alloys; a reading near its floor is
  as calibrated as this split can show).

The ECE is checked once per prediction against two independent implementations (a brute-force
loop over bins, and one built on ``sklearn.calibration.calibration_curve``); the largest absolute
difference is printed as ``ece_check_max_abs_diff``.

    python benchmarks/calibration.py --seeds 0-2 --sizes 128,256
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from _machine import machine_info
from pool_discovery import Task, parse_seeds
from sklearn.calibration import calibration_curve

from arcloop.metrics.discovery import nearest_distance
from arcloop.metrics.model import expected_calibration_error
from arcloop.models import SSVAE
from arcloop.surrogates import ForestSurrogate, GPSurrogate, SSVAESurrogate

SURROGATES = ("forest", "gp_descriptors", "gp_latent", "ssvae")
BINS = 10


def ece_bruteforce(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """ECE by a loop over bins: bin b holds (b/B, (b+1)/B], the first also 0."""
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (p > low) & (p <= high) if b > 0 else (p <= high)
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return total / len(p)


def ece_sklearn(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """ECE from ``calibration_curve(strategy="uniform")``: its per-bin gaps weighted by bin counts."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform", pos_label=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    counts = counts[counts > 0]  # calibration_curve drops empty bins, in bin order
    return float((counts * np.abs(prob_true - prob_pred)).sum() / len(p))


def ece_floor(p: np.ndarray, seed: int, repeats: int = 200) -> float:
    """Median ECE of p against labels drawn from p itself: the finite-sample ECE of a calibrated model."""
    rng = np.random.default_rng([seed, 7])
    return float(
        np.median(
            [expected_calibration_error(p, rng.uniform(size=p.size) < p, bins=BINS) for _ in range(repeats)]
        )
    )


def readings(p: np.ndarray, draws: np.ndarray, y: np.ndarray, seed: int) -> tuple[dict[str, float], float]:
    """The readings of one prediction, and its ECE's largest disagreement with the two checks."""
    ece = expected_calibration_error(p, y, bins=BINS)
    check = max(abs(ece - ece_bruteforce(p, y)), abs(ece - ece_sklearn(p, y)))
    return {
        "ece": ece,
        "ece_floor": ece_floor(p, seed),
        "brier": float(np.mean((p - y) ** 2)),
        "u": float(draws.std(axis=0).mean()),
        "positive_rate": float(y.mean()),
        "p_mean": float(p.mean()),
        "n": len(y),
    }, check


def predictions(
    task: Task, seed: int, labelled: np.ndarray, held: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """(p_mean, draws, fit+predict seconds) on the held-out alloys for every surrogate."""
    X, y = task.X, task.y
    out: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    started = time.perf_counter()
    forest = ForestSurrogate(random_state=seed).fit(X[labelled], y[labelled])
    out["forest"] = (*forest.predict(X[held]), time.perf_counter() - started)
    started = time.perf_counter()
    gp_d = GPSurrogate(space="descriptors", random_state=seed).fit(X[labelled], y[labelled])
    out["gp_descriptors"] = (*gp_d.predict(X[held]), time.perf_counter() - started)
    started = time.perf_counter()
    model = SSVAE(**SSVAE.campaign_defaults(), random_state=seed)
    model.fit(X[labelled], y[labelled], X[held])
    ssvae_seconds = time.perf_counter() - started
    z = model.encode(X)
    started = time.perf_counter()
    gp_l = GPSurrogate(space="latent", random_state=seed).fit(X[labelled], y[labelled], z=z[labelled])
    out["gp_latent"] = (*gp_l.predict(X[held], z[held]), time.perf_counter() - started + ssvae_seconds)
    started = time.perf_counter()
    heads = SSVAESurrogate().fit(X[labelled], y[labelled], model=model)
    out["ssvae"] = (*heads.predict(X[held]), time.perf_counter() - started + ssvae_seconds)
    return out


def run(seeds: list[int], sizes: list[int]) -> dict[str, object]:
    task = Task()
    rows: list[dict[str, object]] = []
    worst_check = 0.0
    for size in sizes:
        for seed in seeds:
            rng = np.random.default_rng([seed, 1, size])
            labelled = np.sort(rng.choice(len(task.X), size, replace=False))
            held = np.setdiff1d(np.arange(len(task.X)), labelled)
            distance = nearest_distance(task.X[held], task.X[labelled])
            threshold = float(np.median(distance))
            split = {"near": distance <= threshold, "far": distance > threshold}
            for name, (p, draws, seconds) in predictions(task, seed, labelled, held).items():
                row: dict[str, object] = {
                    "surrogate": name,
                    "labelled": size,
                    "seed": seed,
                    "median_distance": threshold,
                    "seconds": seconds,
                }
                for where, mask in split.items():
                    values, check = readings(p[mask], draws[:, mask], task.y[held][mask].astype(float), seed)
                    worst_check = max(worst_check, check)
                    row[where] = values
                rows.append(row)
                print(json.dumps({"progress": row}), file=sys.stderr, flush=True)
    table: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name in SURROGATES:
        table[name] = {}
        for size in sizes:
            chosen = [r for r in rows if r["surrogate"] == name and r["labelled"] == size]
            table[name][str(size)] = {
                where: {
                    key: float(np.median([r[where][key] for r in chosen]))  # type: ignore[index]
                    for key in ("ece", "ece_floor", "brier", "u", "positive_rate", "p_mean")
                }
                for where in ("near", "far")
            }
            table[name][str(size)]["median_distance"] = {
                "at_pct": float(np.median([r["median_distance"] for r in chosen]))  # type: ignore[misc]
            }
    return {
        "task": {"pool": len(task.X), "label": "single phase", "bins": BINS, "split": "median distance"},
        "seeds": seeds,
        "sizes": sizes,
        "median_over_seeds": table,
        "ece_check_max_abs_diff": worst_check,
        "per_seed": rows,
        "load_average": list(os.getloadavg()),
        "machine": machine_info(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--sizes", default="128,256")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(json.dumps(run(parse_seeds(args.seeds), sizes), default=float))


if __name__ == "__main__":
    main()
