"""Figures logged as run artifacts: the latent map and metric trajectories (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from arcloop.metrics.registry import trajectory_metrics


def latent_map(
    path: Path,
    pool_z: np.ndarray,
    proposal_z: np.ndarray,
    proposal_iteration: np.ndarray,
    proposal_label: np.ndarray,
    title: str = "",
) -> Path:
    """Pool alloys in grey; proposals coloured by iteration; ○ single phase, × not, · unlabelled."""
    figure, axis = plt.subplots(figsize=(6.4, 5.4), dpi=110)
    axis.scatter(pool_z[:, 0], pool_z[:, 1], s=6, c="0.8", label="pool", linewidths=0)
    if len(proposal_z):
        iterations = proposal_iteration.astype(float)
        norm = matplotlib.colors.Normalize(
            vmin=iterations.min(), vmax=max(iterations.max(), iterations.min() + 1)
        )
        colours = matplotlib.colormaps["viridis"](norm(iterations))
        for value, marker, name in (
            (1, "o", "single phase"),
            (0, "x", "multi phase"),
            (-1, ".", "unlabelled"),
        ):
            chosen = proposal_label == value
            if not chosen.any():
                continue
            # Hollow circles for single phase: the colour (iteration) goes on the edge.
            style = (
                {"facecolors": "none", "edgecolors": colours[chosen]}
                if marker == "o"
                else {"c": colours[chosen]}
            )
            axis.scatter(
                proposal_z[chosen, 0], proposal_z[chosen, 1], marker=marker, s=28, label=name, **style
            )
        figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axis, label="iteration")
    axis.set_xlabel("z1")
    axis.set_ylabel("z2")
    axis.set_title(title or "latent map")
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def metric_trajectories(
    path: Path, history: Sequence[Mapping[str, float]], names: Sequence[str] | None = None
) -> Path:
    """One panel per metric (default: the registry's ``trajectory`` readings), value against iteration."""
    names = trajectory_metrics() if names is None else names
    names = [name for name in names if any(name in row for row in history)]
    columns = 4
    rows = max(1, -(-len(names) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), dpi=100, squeeze=False)
    steps = np.arange(len(history))
    for axis, name in zip(axes.ravel(), names, strict=False):
        values = np.array([row.get(name, np.nan) for row in history], dtype=float)
        axis.plot(steps, values, marker="o", markersize=3)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("iteration", fontsize=8)
    for axis in axes.ravel()[len(names) :]:
        axis.axis("off")
    # Fixed margins: the panels' sizes are fixed too, and tight_layout's extra draw of every panel
    # cost more than the rest of the figure.
    figure.subplots_adjust(
        left=0.05, right=0.985, bottom=0.25 / rows, top=1 - 0.12 / rows, wspace=0.3, hspace=0.6
    )
    figure.savefig(path)
    plt.close(figure)
    return path
