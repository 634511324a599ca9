"""Wall time of the whole Liang et al. 2021 grid (``benchmarks/liang2021-short.yaml``: 5 datasets ×
6 methods × 50 seeds, 100 experiments each) on this machine, with a plain scikit-learn RF + LCB loop
in the same run as the speed reference.

1. The grid as a user runs it: ``arcloop benchmark --config benchmarks/liang2021-short.yaml`` in a
   fresh folder (its default local MLflow store and Prefect server; processes runner, 2 workers),
   timed from the command's start to its exit. Per-campaign seconds come from its result files.
2. The reference: the RF + LCB cells of ``--reference-seeds`` (5 datasets × those seeds) run again
   as a loop written here with scikit-learn and numpy only: standardise X and y on the measured
   rows, ``RandomForestRegressor(n_estimators=100)``, mean + 2 std over the trees (LCB of the
   property to minimise, in the utility frame where larger is better), take the best unmeasured
   input, repeat to 100 experiments. It starts from the campaign's own 2 initial experiments and
   runs on a pool of 2 processes, so that, as in the grid, two campaigns share the machine.
   Compared per campaign (same dataset and seed) with arcloop's RF-LCB: the seconds, and Top %
   after 100 experiments (50 for perovskite, which has 94 inputs). The loops draw different forest
   seeds, so their picks need not agree.
3. With ``--compare FOLDER`` (an earlier run's ``arcloop-output/liang2021-short``): how many of
   the campaigns picked exactly the same inputs as there.

    python benchmarks/liang_grid.py [--reference-seeds 0-9] [--compare FOLDER]

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _machine import machine_info
from _sklearn_loop import rf_lcb_loop

CONFIG = Path(__file__).resolve().parent / "liang2021-short.yaml"
CLI = [sys.executable, "-c", "from arcloop.cli import run; run()"]
BUDGET = 100


def seed_list(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def reference_campaign(dataset: str, initial: list[int], is_target: list[int], seed: int) -> dict:
    """The plain scikit-learn RF + LCB loop from ``initial`` to BUDGET experiments (or the pool)."""
    from arcloop.screening.config import ScreeningConfig
    from arcloop.screening.loop import prepare_screening

    # The dataset's default target says which way is better; the loop below is scikit-learn only.
    setup = prepare_screening(
        ScreeningConfig(dataset={"name": dataset}, seed=seed, n_initial=2, tracking=None, state_dir="unused")
    )
    X, y = setup.dataset.X, setup.target.utility(setup.values)
    budget = min(BUDGET, len(y))
    seconds, picked = rf_lcb_loop(X, y, initial, budget - len(initial), seed)
    checkpoint = 50 if len(y) < BUDGET else BUDGET
    found = np.isin(picked[:checkpoint], is_target).sum()
    return {"seconds": seconds, "top": float(found / len(is_target)), "checkpoint": checkpoint}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference-seeds", default="0-9")
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="arcloop-liang-grid-"))

    start = time.perf_counter()
    done = subprocess.run(
        [*CLI, "benchmark", "--config", str(CONFIG)], cwd=folder, capture_output=True, text=True
    )
    grid_seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the grid failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    output = folder / "arcloop-output" / "liang2021-short"
    results = [json.loads(p.read_text()) for p in sorted((output / "campaigns").rglob("seed*.json"))]
    by_method: dict[str, list[float]] = {}
    for r in results:
        by_method.setdefault(r["method"], []).append(r["seconds"])

    cells = [
        r for r in results if r["method"] == "RF-LCB" and r["seed"] in set(seed_list(args.reference_seeds))
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(reference_campaign, r["dataset"], r["picked"][:2], r["is_target"], r["seed"])
            for r in cells
        ]
        reference = [f.result() for f in futures]
    ratios, pairs = [], []
    for r, ref in zip(cells, reference, strict=True):
        ratios.append(r["seconds"] / ref["seconds"])
        ours = np.isin(r["picked"][: ref["checkpoint"]], r["is_target"]).sum() / len(r["is_target"])
        pairs.append(float(ours) - ref["top"])

    report = {
        "machine": machine_info(),
        "grid": {
            "campaigns": len(results),
            "wall_seconds": round(grid_seconds, 1),
            "wall_minutes": round(grid_seconds / 60, 1),
            "campaign_seconds_by_method": {
                m: {"total": round(sum(v), 1), "median": round(statistics.median(v), 2)}
                for m, v in by_method.items()
            },
            "campaign_seconds_total": round(sum(sum(v) for v in by_method.values()), 1),
        },
        "reference_rf_lcb": {
            "campaigns": len(cells),
            "median_seconds_sklearn": round(statistics.median(x["seconds"] for x in reference), 2),
            "median_seconds_arcloop": round(statistics.median(r["seconds"] for r in cells), 2),
            "median_ratio_arcloop_to_sklearn": round(statistics.median(ratios), 3),
            "top_fraction_arcloop_minus_sklearn": {
                "median": round(statistics.median(pairs), 3),
                "arcloop_ahead": sum(p > 0 for p in pairs),
                "tied": sum(p == 0 for p in pairs),
                "sklearn_ahead": sum(p < 0 for p in pairs),
            },
        },
        "folder": str(output),
    }
    if args.compare is not None:
        same = sum(
            json.loads((args.compare / p.relative_to(output)).read_text())["picked"]
            == json.loads(p.read_text())["picked"]
            for p in sorted((output / "campaigns").rglob("seed*.json"))
            if (args.compare / p.relative_to(output)).is_file()
        )
        report["same_picks_as_compared_run"] = same
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
