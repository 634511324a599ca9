"""The benchmark report: summary table (CSV, Markdown, records), trajectories and trade-off figures."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from arcloop.metrics.registry import MetricSpec, declared, markdown_metrics
from arcloop.report.figures import bias_vs_discovery, trajectories
from arcloop.report.summary import (
    campaign_table,
    in_grid_order,
    long_table,
    pairwise_factors,
    pick_factors,
    summary_table,
)

__all__ = [
    "Report",
    "build_report",
    "campaign_table",
    "long_table",
    "pairwise_factors",
    "pick_factors",
    "summary_table",
]

FACTOR_MARKDOWN_COLUMNS: tuple[str, ...] = (
    "ef_vs_random",
    "ef_half_vs_random",
    "af_vs_random",
    "af_vs_random.n_unreached",
)


def markdown_columns() -> tuple[str, ...]:
    """The Markdown table's metric columns: the registry's ``markdown`` readings (final value), the
    factors after the discovery ones. Headers are the summary's own column names (without the
    ``_mean`` / ``.median`` suffix)."""
    names = markdown_metrics()
    discovery = tuple(f"{name}.final" for name in names if name.startswith("discovery/"))
    rest = tuple(f"{name}.final" for name in names if not name.startswith("discovery/"))
    return (*discovery, *FACTOR_MARKDOWN_COLUMNS, *rest)


@dataclass(frozen=True)
class Report:
    files: list[Path]
    records: list[dict[str, Any]]
    n_failed: int


def _cell(record: dict[str, Any], column: str) -> str:
    if column.endswith(".n_unreached"):
        return str(record[column])
    if column.endswith("_vs_random"):
        median, iqr, count = record[f"{column}.median"], record[f"{column}.iqr"], record[f"{column}.n"]
        return "–" if math.isnan(median) else f"{median:.2f} (IQR {iqr:.2f}, n {count})"
    mean, half = record[f"{column}_mean"], record[f"{column}_ci95"]
    if math.isnan(mean):
        return "–"
    return f"{mean:.3g}" + ("" if math.isnan(half) else f" ± {half:.2g}")


def _direction(column: str, specs: dict[str, MetricSpec]) -> str:
    """`` ↑`` / `` ↓`` after a reading whose registry entry says higher / lower is better."""
    spec = specs.get(column.removesuffix(".final"))
    if spec is None or spec.higher_is_better is None:
        return ""
    return " ↑" if spec.higher_is_better else " ↓"


def markdown(
    table: pd.DataFrame, failed: Sequence[dict[str, Any]], title: str, figures: Sequence[Path]
) -> str:
    columns = markdown_columns()
    specs = {spec.name: spec for spec in declared()}
    header = [
        "policy",
        "surrogate",
        "oracle",
        "scenario",
        "n_seeds",
        "n_failed",
        *(f"`{name}`{_direction(name, specs)}" for name in columns),
    ]
    lines = [
        f"# Benchmark: {title}",
        "",
        "Metric columns: mean ± 95 % Student-t CI over seeds of the campaign metric at its last iteration "
        "(`.final`); ↑ / ↓: higher / lower is better. `ef_vs_random`, `ef_half_vs_random`, `af_vs_random`: "
        "enhancement factor at the full and at half the budget, and acceleration factor, on discoveries "
        "against the `random` campaign with the "
        "same surrogate, oracle, scenario and seed, counted per paid pick (Rohr et al. 2020); median "
        "(IQR, number of seeds where defined). AF's level is what `random` discovered with the whole budget; "
        "`af_vs_random.n_unreached` counts the seeds where the policy did not reach it (AF undefined).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for record in table.to_dict("records"):
        cells = [
            record["policy"],
            record["surrogate"],
            record["oracle"],
            record["scenario"],
            str(record["n_seeds"]),
            str(record["n_failed"]),
        ]
        cells += [_cell(record, column) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if failed:
        lines += ["", "## Failed campaigns", ""]
        lines += [
            f"- {o['policy']} / {o['surrogate']} / {o['oracle']} / {o['scenario']} / seed {o['seed']}: "
            f"{o['error']}"
            for o in failed
        ]
    lines += ["", "## Figures", ""] + [f"![{path.stem}]({path.name})" for path in figures]
    return "\n".join(lines) + "\n"


def build_report(outcomes: Sequence[dict[str, Any]], folder: Path, title: str) -> Report:
    """Write the report files into ``folder`` and return them with the summary records."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = in_grid_order(outcomes)
    table = summary_table(outcomes)
    long = long_table(outcomes)
    per_campaign = campaign_table(outcomes)
    figures = []
    for (surrogate, oracle, scenario), rows in long.groupby(["surrogate", "oracle", "scenario"], sort=True):
        figures.append(
            trajectories(
                rows,
                folder / f"trajectories-{surrogate}-{oracle}-{scenario}.png",
                f"{surrogate} / {oracle} / {scenario}",
            )
        )
    ok_campaigns = per_campaign[per_campaign["status"] == "ok"] if len(per_campaign) else per_campaign
    if len(ok_campaigns):
        figures.append(bias_vs_discovery(ok_campaigns, folder / "bias_vs_discovery.png", title))
    failed = [o for o in outcomes if o["status"] != "ok"]
    files = [
        folder / "summary.csv",
        folder / "campaigns.csv",
        folder / "trajectories.csv",
        folder / "summary.md",
    ]
    table.to_csv(files[0], index=False)
    per_campaign.to_csv(files[1], index=False)
    long.to_csv(files[2], index=False)
    files[3].write_text(markdown(table, failed, title, figures))
    records = json.loads(table.to_json(orient="records"))
    return Report(files=[*files, *figures], records=records, n_failed=len(failed))
