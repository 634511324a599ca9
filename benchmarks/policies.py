"""Seconds for each policy to select k = 16 from 10⁵ candidates with T = 32 posterior samples.

Prints one JSON object: machine info and, per policy and batch builder, the median (and min / max)
over repeats of ``policy.select`` on a fresh :class:`Candidates` each time (so p̄, std and BALD are
computed inside the timing). The case: a 2-D latent space (the model's default), candidates
~ N(0, 1.5²), 1,000 explored points in a tight cluster where p̄ is highest (the realistic worst case
for the accumulated-bias penalty), p_t = sigmoid(logit + per-sample noise). Compositions: the 1,000
explored ones are sparse Dirichlet draws; each candidate is, with probability ``near`` (default 0.5),
an explored composition moved by up to 8 at.% (so the exclusion builder, radius 5 at.%, has to skip
many), else a fresh draw. Extra rows: uncertainty with BALD, entropy with mode "both", uncertainty in
3-D (binned grid), 4-D and 8-D latent spaces (direct kernel sums on a pruned prefix), the "_local25"
cases where a quarter of the candidates are perturbations of explored points (as the latent source
draws them), so the top of the ranking sits on dense explored regions, and "_near100" where every
candidate is near an explored composition; "_all_excluded": every candidate within 4 at.% of an
explored composition, so the exclusion builder walks all 10⁵ and returns an empty batch (its worst
case).

Every policy runs with the default builder (exclusion, 5 at.%, against the 1,000 explored
compositions); the "top_k" and "lp" rows use top_k and local_penalization for comparison.

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
    n: int, d: int, T: int, m: int, seed: int, local: float = 0.0, near: float = 0.5, spread: float = 8.0
) -> tuple[dict[str, np.ndarray], Context]:
    """Arrays for a Candidates value and a Context (see the module docstring); a share ``local`` of
    the candidates are explored points plus N(0, 0.25²) noise, as the latent source draws them; a share
    ``near`` of the compositions lie within ``spread`` at.% of an explored composition."""
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
    explored = rng.dirichlet(np.full(30, 0.3), size=m)
    compositions = rng.dirichlet(np.full(30, 0.3), size=n)
    close = rng.uniform(size=n) < near
    t = rng.uniform(0.0, spread / 100.0, size=(int(close.sum()), 1))
    moved = rng.dirichlet(np.full(30, 0.3), size=int(close.sum()))
    compositions[close] = (1.0 - t) * explored[rng.integers(m, size=int(close.sum()))] + t * moved
    arrays = {"z": z, "compositions": compositions, "p_samples": p_samples, "pool_index": np.full(n, -1)}
    context = Context(
        labelled,
        rng.integers(0, 2, size=m),
        iteration=3,
        explored_compositions=explored,
        explored_origin=np.repeat(np.arange(-1, 3), -(-m // 4))[:m],
    )
    return arrays, context


def time_policy(config: dict, arrays: dict, context: Context, k: int, repeats: int) -> dict[str, float]:
    policy = build_policy(config)
    times = []
    for repeat in range(repeats):
        candidates = Candidates(**arrays)
        rng = np.random.default_rng(repeat)
        start = time.perf_counter()
        chosen = policy.select(candidates, context, k, rng)
        times.append(time.perf_counter() - start)
        assert len(np.unique(chosen)) == len(chosen)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "batch": len(chosen),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--labelled", type=int, default=1000)
    args = parser.parse_args()

    unc = {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.02}}
    top, lp = {"builder": {"name": "top_k"}}, {"builder": {"name": "local_penalization"}}
    cases: list[tuple] = [
        ("greedy", {"name": "greedy"}, 2, 0.0, 0.5),
        ("greedy_top_k", {"name": "greedy", **top}, 2, 0.0, 0.5),
        ("greedy_lp", {"name": "greedy", **lp}, 2, 0.0, 0.5),
        ("greedy_near100", {"name": "greedy"}, 2, 0.0, 1.0),
        ("greedy_all_excluded", {"name": "greedy"}, 2, 0.0, 1.0, 4.0),
        ("uncertainty", unc, 2, 0.0, 0.5),
        ("uncertainty_top_k", {**unc, **top}, 2, 0.0, 0.5),
        ("uncertainty_bald", {"name": "uncertainty", "params": {"uncertainty": "bald"}}, 2, 0.0, 0.5),
        ("entropy", {"name": "entropy", "params": {"beta": 0.5}}, 2, 0.0, 0.5),
        ("entropy_top_k", {"name": "entropy", "params": {"beta": 0.5}, **top}, 2, 0.0, 0.5),
        ("entropy_lp", {"name": "entropy", "params": {"beta": 0.5}, **lp}, 2, 0.0, 0.5),
        ("entropy_both", {"name": "entropy", "params": {"beta": 0.5, "mode": "both"}}, 2, 0.0, 0.5),
        ("entropy_both_near100", {"name": "entropy", "params": {"beta": 0.5, "mode": "both"}}, 2, 0.0, 1.0),
        ("random", {"name": "random"}, 2, 0.0, 0.5),
        ("thompson", {"name": "thompson"}, 2, 0.0, 0.5),
        ("thompson_near100", {"name": "thompson"}, 2, 0.0, 1.0),
        ("novelty", {"name": "novelty"}, 2, 0.0, 0.5),
        ("uncertainty_local25", unc, 2, 0.25, 0.5),
        ("uncertainty_d3_local25", unc, 3, 0.25, 0.5),
        ("uncertainty_d4_local25", unc, 4, 0.25, 0.5),
        ("uncertainty_d8", unc, 8, 0.0, 0.5),
        ("uncertainty_d8_local25", unc, 8, 0.25, 0.5),
    ]
    built: dict[tuple[int, float, float, float], tuple[dict, Context]] = {}
    results = {}
    for label, config, d, local, near, *rest in cases:
        spread = rest[0] if rest else 8.0
        if (d, local, near, spread) not in built:
            built[(d, local, near, spread)] = make_case(
                args.n, d, args.samples, args.labelled, seed=0, local=local, near=near, spread=spread
            )
        arrays, context = built[(d, local, near, spread)]
        timing = time_policy(config, arrays, context, args.k, args.repeats)
        results[label] = {"latent_dim": d, "local_share": local, "near_share": near, **timing}

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
                "n_explored_compositions": args.labelled,
                "exclusion_radius_at_pct": 5.0,
                "repeats": args.repeats,
                "target_s": 0.5,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
