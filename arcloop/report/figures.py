"""Benchmark figures: trajectories with confidence bands, and the bias-vs-discovery trade-off."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

TRAJECTORY_PANELS: tuple[str, ...] = (
    "discovery/discoveries",
    "diversity/vendi_explored",
    "bias/isoscore",
    "bias/family_evenness",
)
"""Metrics drawn against the iteration, one panel each, titled with the metric's name."""


def trajectories(long: pd.DataFrame, path: Path, title: str) -> Path:
    """Mean over seeds with a 95 % t-interval band, one line per policy, one panel per metric."""
    figure, axes = plt.subplots(
        1, len(TRAJECTORY_PANELS), figsize=(4.2 * len(TRAJECTORY_PANELS), 3.6), dpi=100
    )
    ok = long[long["status"] == "ok"]
    for axis, metric in zip(axes, TRAJECTORY_PANELS, strict=True):
        data = ok[ok["metric"] == metric]
        for policy, rows in data.groupby("policy", sort=True):
            grid = rows.pivot_table(index="iteration", columns="seed", values="value")
            mean = grid.mean(axis=1)
            n = grid.notna().sum(axis=1)
            sem = grid.std(axis=1, ddof=1) / np.sqrt(n)
            half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sem
            axis.plot(mean.index, mean.values, label=policy, linewidth=1.8)
            axis.fill_between(mean.index, mean - half, mean + half, alpha=0.2)
        axis.set_title(metric, fontsize=10)
        axis.set_xlabel("iteration")
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def bias_vs_discovery(per_campaign: pd.DataFrame, path: Path, title: str) -> Path:
    """One point per campaign: final family JS divergence from the pool (bias) against final discoveries."""
    figure, axis = plt.subplots(figsize=(6.0, 4.6), dpi=100)
    markers = dict(zip(sorted(per_campaign["scenario"].unique()), "osD^v<>p*", strict=False))
    for (policy, scenario), rows in per_campaign.groupby(["policy", "scenario"], sort=True):
        axis.scatter(
            rows["bias/family_js_divergence.final"],
            rows["discovery/discoveries.final"],
            label=f"{policy} / {scenario}",
            marker=markers[scenario],
            s=36,
            alpha=0.8,
        )
    axis.set_xlabel("bias/family_js_divergence.final (explored vs pool element families)")
    axis.set_ylabel("discovery/discoveries.final (distinct new targets)")
    axis.set_title(title, fontsize=11)
    axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
