"""A batch of one: what a screening iteration costs beyond the surrogate's fit, beside a plain
scikit-learn loop on the same task.

Task: crossed barrel (600 distinct inputs), random forest (100 trees) + LCB (κ = 2) on the
standardised inputs and toughness, 2 random initial experiments, then ``--iterations`` experiments
one at a time. Methods, each on the same seeds:

- ``sklearn_loop``: THE REFERENCE, written here with scikit-learn and numpy only: standardise,
  ``RandomForestRegressor(100)``, mean and standard deviation over the trees, LCB, pick, repeat;
- ``arcloop_plain``: :func:`arcloop.screening.loop.run_screening` with no tracking (the loop, its
  readings and a JSON checkpoint every iteration);
- ``arcloop_flow``: ``arcloop campaign --dataset crossed-barrel`` as the command runs it: the
  Prefect flow and an MLflow run in a local SQLite store (Prefect's start-up excluded: measured
  from the flow's start).

Printed per method: median seconds per iteration, median seconds per iteration inside the fit and
predictions (arcloop's ``fit_seconds``), the overhead per iteration beyond them, and the ratio of
each method's wall time to the reference's on the same seed (median). The picks of
``arcloop_plain`` and ``sklearn_loop`` are compared too (``same_picks``): both are the same
algorithm, but arcloop seeds its forest per iteration, so they need not agree.

    python benchmarks/screening_overhead.py --iterations 200 --seeds 0-2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
from _machine import machine_info
from _sklearn_loop import rf_lcb_loop

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from arcloop.cores import one_core
from arcloop.datasets import load_dataset
from arcloop.screening.config import ScreeningConfig
from arcloop.screening.loop import prepare_screening, run_screening

POLICY = {"name": "lcb", "params": {"kappa": 2.0}}


def sklearn_loop(seed: int, iterations: int, initial: np.ndarray) -> tuple[float, list[int]]:
    data = load_dataset("crossed-barrel")
    # LCB of the negated toughness = UCB of toughness, the utility
    return rf_lcb_loop(data.X, data.values("toughness"), list(initial), iterations, seed)


def config(seed: int, iterations: int, folder: str, tracked: bool) -> ScreeningConfig:
    return ScreeningConfig(
        dataset={"name": "crossed-barrel"},
        policy=POLICY,
        seed=seed,
        iterations=iterations,
        tracking={"uri": f"sqlite:///{folder}/mlruns.db"} if tracked else None,
        state_dir=f"{folder}/state",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--seeds", default="0-2")
    args = parser.parse_args()
    low, high = (int(x) for x in args.seeds.split("-"))
    seeds = list(range(low, high + 1))
    rows: dict[str, list[dict[str, float]]] = {"sklearn_loop": [], "arcloop_plain": [], "arcloop_flow": []}
    from arcloop.flows.screening import run_screening_flow
    from arcloop.tasks.settings import apply_env_defaults

    apply_env_defaults()
    with one_core():
        run_screening_flow(config(0, 1, tempfile.mkdtemp(), True))  # Prefect's server started once
        for seed in seeds:
            initial = prepare_screening(config(seed, 1, tempfile.mkdtemp(), False)).initial
            wall, reference_picks = sklearn_loop(seed, args.iterations, initial)
            rows["sklearn_loop"].append({"seconds": wall, "fit": wall})
            start = time.perf_counter()
            _, state = run_screening(config(seed, args.iterations, tempfile.mkdtemp(), False))
            wall = time.perf_counter() - start
            rows["arcloop_plain"].append(
                {"seconds": wall, "fit": state.fit_seconds, "same_picks": state.picked == reference_picks}
            )
            folder = tempfile.mkdtemp()
            start = time.perf_counter()
            run_screening_flow(config(seed, args.iterations, folder, True))
            wall = time.perf_counter() - start
            with open(f"{folder}/state/screening.json") as handle:
                state_file = json.load(handle)
            rows["arcloop_flow"].append({"seconds": wall, "fit": state_file["fit_seconds"]})
    result: dict[str, object] = {"machine": machine_info(), "iterations": args.iterations, "seeds": seeds}
    reference = [r["seconds"] for r in rows["sklearn_loop"]]
    for method, runs in rows.items():
        per_iteration = [r["seconds"] / args.iterations for r in runs]
        fit = [r["fit"] / args.iterations for r in runs]
        result[method] = {
            "seconds_per_iteration": float(np.median(per_iteration)),
            "fit_seconds_per_iteration": float(np.median(fit)),
            "overhead_ms_per_iteration": float(
                np.median([1000 * (a - b) for a, b in zip(per_iteration, fit, strict=True)])
            ),
            "ratio_to_sklearn_loop": float(
                np.median([r["seconds"] / ref for r, ref in zip(runs, reference, strict=True)])
            ),
            **({"same_picks": [r["same_picks"] for r in runs]} if "same_picks" in runs[0] else {}),
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
