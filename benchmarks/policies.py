"""Seconds for each policy to select k = 16 from 10⁵ candidates with T = 32 posterior samples.

Prints one JSON object: machine info and, per policy, the median (and min / max) over repeats of
``policy.select`` on a fresh :class:`Candidates` each time (so p̄, std and BALD are computed inside
the timing). The case: a 2-D latent space (the model's default), candidates ~ N(0, 1.5²), 1,000
labelled points in a tight cluster where p̄ is highest (the realistic worst case for the
accumulated-bias penalty), p_t = sigmoid(logit + per-sample noise). Extra rows: uncertainty with
BALD, entropy with mode "both", uncertainty in 3-D (binned grid), 4-D and 8-D latent spaces (direct
kernel sums on a pruned prefix), and the "_local25" cases where a quarter of the candidates are
perturbations of labelled points (as the latent source draws them), so the top of the ranking sits
on dense labelled regions.

Usage: python benchmarks/policies.py [--repeats 7] [--n 100000] [--k 16] [--samples 32] [--labelled 1000]
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
import scipy
import torch

from arcloop.policies import Candidates, Context, build_policy


def make_case(
    n: int, d: int, T: int, m: int, seed: int, local: float = 0.0
) -> tuple[dict[str, np.ndarray], Context]:
    """Arrays for a Candidates value and a Context (see the module docstring); a share ``local`` of
    the candidates are labelled points plus N(0, 0.25²) noise, as the latent source draws them."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=(n, d))
    centre = np.zeros(d)
    centre[0] = 1.0
    labelled = centre + 0.3 * rng.standard_normal((m, d))
    n_local = int(local * n)
    z[:n_local] = labelled[rng.integers(m, size=n_local)] + 0.25 * rng.standard_normal((n_local, d))
    logit = 2.0 - 1.5 * np.linalg.norm(z - centre, axis=1)
    noise = 0.5 * rng.standard_normal((T, n))
    p_samples = 1.0 / (1.0 + np.exp(-(logit[None, :] + noise)))
    compositions = rng.dirichlet(np.full(30, 0.3), size=n)
    arrays = {"z": z, "compositions": compositions, "p_samples": p_samples, "pool_index": np.full(n, -1)}
    return arrays, Context(labelled, rng.integers(0, 2, size=m), iteration=3)


def time_policy(config: dict, arrays: dict, context: Context, k: int, repeats: int) -> dict[str, float]:
    policy = build_policy(config)
    times = []
    for repeat in range(repeats):
        candidates = Candidates(**arrays)
        rng = np.random.default_rng(repeat)
        start = time.perf_counter()
        chosen = policy.select(candidates, context, k, rng)
        times.append(time.perf_counter() - start)
        assert len(np.unique(chosen)) == k
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--labelled", type=int, default=1000)
    args = parser.parse_args()

    cases = [
        ("greedy", {"name": "greedy"}, 2, 0.0),
        ("uncertainty", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 2, 0.0),
        ("uncertainty_bald", {"name": "uncertainty", "params": {"uncertainty": "bald"}}, 2, 0.0),
        ("entropy", {"name": "entropy", "params": {"beta": 0.5}}, 2, 0.0),
        ("entropy_both", {"name": "entropy", "params": {"beta": 0.5, "mode": "both"}}, 2, 0.0),
        ("random", {"name": "random"}, 2, 0.0),
        ("thompson", {"name": "thompson"}, 2, 0.0),
        ("novelty", {"name": "novelty"}, 2, 0.0),
        ("uncertainty_local25", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 2, 0.25),
        ("uncertainty_d3_local25", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 3, 0.25),
        ("uncertainty_d4_local25", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 4, 0.25),
        ("uncertainty_d8", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 8, 0.0),
        ("uncertainty_d8_local25", {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}, 8, 0.25),
    ]
    built: dict[tuple[int, float], tuple[dict, Context]] = {}
    results = {}
    for label, config, d, local in cases:
        if (d, local) not in built:
            built[(d, local)] = make_case(args.n, d, args.samples, args.labelled, seed=0, local=local)
        arrays, context = built[(d, local)]
        timing = time_policy(config, arrays, context, args.k, args.repeats)
        results[label] = {"latent_dim": d, "local_share": local, **timing}

    print(
        json.dumps(
            {
                "benchmark": "policies.select",
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "torch": torch.__version__,
                "n_candidates": args.n,
                "k": args.k,
                "n_samples": args.samples,
                "n_labelled": args.labelled,
                "repeats": args.repeats,
                "target_s": 0.5,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
