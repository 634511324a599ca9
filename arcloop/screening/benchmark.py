"""A screening benchmark: datasets × methods × seeds of pool campaigns, compared with the exact random
baseline (the Liang et al. 2021 protocol). Plain functions; the flow maps :func:`run_one` over the
grid on a process pool or a Dask cluster.

Each campaign writes ``campaigns/DATASET/METHOD/seedN.json`` (its picks in order and its summary)
under the benchmark's folder when it ends; a campaign whose file exists is not run again, so the
same command resumes an interrupted benchmark. The report (:func:`report`) is a function of those
files.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arcloop.campaign.state import write_atomically
from arcloop.screening.config import ScreeningBenchmarkConfig, ScreeningConfig
from arcloop.screening.readings import (
    random_expected_found,
    random_experiments_to,
    top_fraction_curve,
)


def expand(bench: ScreeningBenchmarkConfig, folder: Path) -> list[tuple[str, ScreeningConfig, Path]]:
    """(method label, campaign config, result file) for every seed × dataset × method, in that order."""
    from arcloop.config import validated

    # Seed-major: a run stopped part-way has the same campaigns for every dataset and method.
    grid = []
    for seed, dataset, method in itertools.product(bench.seed_list(), bench.dataset_configs(), bench.methods):
        key = dataset.name or Path(str(dataset.path)).stem
        target = bench.targets.get(key)
        data = {
            **bench.campaign,
            "name": f"{key}-{method.label}-seed{seed}",
            "seed": seed,
            "dataset": dataset.model_dump(mode="json"),
            "surrogate": method.surrogate.model_dump(mode="json"),
            "policy": method.policy.model_dump(mode="json"),
            "tracking": None,
            "state_dir": str(folder / "states" / key / method.label / f"seed{seed}"),
        }
        if target is not None:
            data["target"] = target.model_dump(mode="json")
        config = validated(ScreeningConfig, data, prefix=f"campaign {data['name']}")
        grid.append((method.label, config, folder / "campaigns" / key / method.label / f"seed{seed}.json"))
    return grid


def run_one(config: ScreeningConfig, result_file: Path, label: str) -> dict[str, Any]:
    """One campaign to its budget (resumed from its state folder if one exists), its result written
    atomically; a finished one is read back, not run."""
    if result_file.is_file():
        return json.loads(result_file.read_text())
    from arcloop.cores import one_core
    from arcloop.screening.loop import run_screening, summary

    start = time.perf_counter()
    with one_core():
        setup, state = run_screening(config, resume=True)
    result = {
        **summary(setup, state),
        "method": label,
        "seed": config.seed,
        "seconds": round(time.perf_counter() - start, 3),
        "picked": state.picked,
        "is_target": np.flatnonzero(setup.is_target).tolist(),
    }
    result_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(result_file, json.dumps(result, default=float))
    return result


def _quantiles(values: list[float]) -> str:
    """median [25th, 75th percentile] of the finite values; '—' when none; ' (k of n)' when some
    campaigns never reached the level."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "—"
    q1, med, q3 = np.percentile(finite, [25, 50, 75])
    text = f"{med:.3g} [{q1:.3g}, {q3:.3g}]"
    return text if len(finite) == len(values) else f"{text} ({len(finite)} of {len(values)})"


def report(bench: ScreeningBenchmarkConfig, results: list[dict[str, Any]], folder: Path) -> str:
    """``table.md`` (per dataset × method: median [IQR] of Top % at the checkpoints, experiments to
    each level, AF against the exact random expectation, EF), ``campaigns.csv`` and
    ``top_fraction.png`` (median Top % curve with its 10th–90th percentile band, random's exact
    expectation dashed) in ``folder``; returns the Markdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in ("picked", "is_target")} for r in results])
    frame.to_csv(folder / "campaigns.csv", index=False)
    lines = [
        f"# {bench.name}: {len(results)} campaigns",
        "",
        "Median [25th, 75th percentile] over campaigns. Top %: share of the dataset's targets found after "
        "n experiments (initial ones included). Experiments to a level: count, with how many campaigns "
        "reached it when not all. AF: random's exact expected experiments to the level ÷ the campaign's "
        "(median over campaigns that reached it). EF: Top % ÷ random's expected Top % at n.",
        "",
    ]
    tops = [f"Top % @{c}" for c in bench.checkpoints]
    levels = [f"{round(100 * x)}" for x in bench.levels]
    header = ["dataset", "method", *tops, *(f"to {x} %" for x in levels), *(f"AF {x} %" for x in levels)]
    header += [f"EF @{c}" for c in bench.checkpoints]
    datasets = list(dict.fromkeys(frame["dataset"]))
    n_panels = len(datasets)
    figure, axes = plt.subplots(1, n_panels, figsize=(3.4 * n_panels, 3.2), dpi=100, squeeze=False)
    for panel, name in enumerate(datasets):
        part = [r for r in results if r["dataset"] == name]
        n_pool, n_targets = part[0]["n_pool"], part[0]["n_targets"]
        lines += [f"## {name}: {part[0]['target']} ({n_targets} of {n_pool} inputs)", ""]
        random_row = ["", "random (exact)"]
        random_row += [
            f"{random_expected_found(n_pool, n_targets, c) / n_targets:.3g}" for c in bench.checkpoints
        ]
        random_row += [f"{random_experiments_to(n_pool, n_targets, x):.3g}" for x in bench.levels]
        random_row += ["1"] * len(levels) + ["1"] * len(bench.checkpoints)
        lines += [
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            "| " + " | ".join(random_row) + " |",
        ]
        axis = axes[0, panel]
        for j, method in enumerate(dict.fromkeys(r["method"] for r in part)):
            rows = [r for r in part if r["method"] == method]
            cells = [name, method]
            cells += [_quantiles([r[f"top_after_{c}"] for r in rows]) for c in bench.checkpoints]
            cells += [_quantiles([r[f"experiments_to_{x}"] for r in rows]) for x in levels]
            cells += [_quantiles([r[f"af_{x}"] for r in rows]) for x in levels]
            cells += [_quantiles([r[f"ef_after_{c}"] for r in rows]) for c in bench.checkpoints]
            lines.append("| " + " | ".join(cells) + " |")
            curves = np.array(
                [
                    top_fraction_curve(
                        np.isin(np.arange(n_pool), r["is_target"]), np.array(r["picked"]), n_targets
                    )
                    for r in rows
                    if len(r["picked"]) == len(rows[0]["picked"])
                ]
            )
            n = np.arange(1, curves.shape[1] + 1)
            low, mid, high = np.percentile(curves, [10, 50, 90], axis=0)
            axis.plot(n, mid, label=method, color=f"C{j}", linestyle=("-", "--", "-.", ":")[j % 4])
            axis.fill_between(n, low, high, color=f"C{j}", alpha=0.15)
        n = np.arange(1, n_pool + 1)
        axis.plot(
            n,
            random_expected_found(n_pool, n_targets, n) / n_targets,
            color="0.3",
            lw=1,
            label="random (exact)",
        )
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("experiments")
        axis.set_ylabel("Top %")
        lines.append("")
    axes[0, -1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(folder / "top_fraction.png")
    plt.close(figure)
    text = "\n".join(lines) + "\n"
    (folder / "table.md").write_text(text)
    return text
