"""Benchmark summaries: per policy × oracle × scenario, over seeds (pure pandas/numpy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from arcloop.metrics import acceleration_factor, enhancement_factor

GROUP = ("policy", "oracle", "scenario")
REPORT_METRICS: tuple[str, ...] = (
    "discovery/hits_cumulative",
    "discovery/hit_rate",
    "discovery/enhancement_factor",
    "discovery/fraction_found",
    "bias/isoscore",
    "bias/top_eigen_share",
    "bias/direction_entropy",
    "bias/family_evenness",
    "bias/family_js_divergence",
    "diversity/vendi_explored",
    "diversity/vendi_batch",
    "diversity/novelty",
)
HITS = "discovery/hits_cumulative"
BASELINE = "random"


def ci95_half_width(values: np.ndarray) -> float:
    """Half-width of the 95 % Student-t interval of the mean; NaN with fewer than two values."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def trajectory(outcome: dict[str, Any], metric: str) -> np.ndarray:
    return np.array([row.get(metric, math.nan) for row in outcome.get("metrics", [])], dtype=float)


def long_table(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per campaign × iteration × metric: the raw material of every figure and summary."""
    rows = []
    for outcome in outcomes:
        for step, metrics in enumerate(outcome.get("metrics", [])):
            for metric in REPORT_METRICS:
                rows.append(
                    {
                        **{key: outcome[key] for key in (*GROUP, "seed", "status")},
                        "iteration": step,
                        "metric": metric,
                        "value": metrics.get(metric, math.nan),
                    }
                )
    return pd.DataFrame(rows, columns=[*GROUP, "seed", "status", "iteration", "metric", "value"])


def campaign_values(outcome: dict[str, Any]) -> dict[str, float]:
    values: dict[str, float] = {}
    for metric in REPORT_METRICS:
        curve = trajectory(outcome, metric)
        finite = curve[np.isfinite(curve)]
        values[f"{metric}.final"] = float(curve[-1]) if len(curve) else math.nan
        # Area under the curve per iteration (the trajectory's mean): rewards reaching values early.
        values[f"{metric}.auc"] = float(finite.mean()) if len(finite) else math.nan
    return values


def _pairwise_factors(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """EF and AF of each campaign against the random campaign with the same oracle, scenario and seed.

    EF = final cumulative hits / random's (Rohr et al. 2020, at the end of the campaign);
    AF = iterations random needed to reach its final hits / iterations the policy needed for as many.
    """
    baseline = {
        (o["oracle"], o["scenario"], o["seed"]): trajectory(o, HITS)
        for o in outcomes
        if o["policy"] == BASELINE and o["status"] == "ok"
    }
    rows = []
    for outcome in outcomes:
        reference = baseline.get((outcome["oracle"], outcome["scenario"], outcome["seed"]))
        curve = trajectory(outcome, HITS)
        if outcome["status"] != "ok" or reference is None or len(reference) != len(curve) or not len(curve):
            continue
        level = float(reference[-1])
        rows.append(
            {
                **{key: outcome[key] for key in GROUP},
                "seed": outcome["seed"],
                "ef": float(enhancement_factor(curve, reference)[-1]),
                "af": float(acceleration_factor(curve, reference, level)) if level > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=[*GROUP, "seed", "ef", "af"])


def summary_table(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Mean and 95 % CI over seeds of final and AUC values; EF/AF vs random as median and IQR."""
    per_campaign = pd.DataFrame(
        [
            {**{key: o[key] for key in GROUP}, "seed": o["seed"], "status": o["status"], **campaign_values(o)}
            for o in outcomes
        ]
    )
    factors = _pairwise_factors(outcomes)
    records = []
    for key, group in per_campaign.groupby(list(GROUP), sort=True):
        ok = group[group["status"] == "ok"]
        record: dict[str, Any] = dict(zip(GROUP, key, strict=True))
        record["n_seeds"] = len(ok)
        record["n_failed"] = int((group["status"] != "ok").sum())
        for metric in REPORT_METRICS:
            for kind in ("final", "auc"):
                values = ok[f"{metric}.{kind}"].to_numpy(dtype=float)
                finite = values[np.isfinite(values)]
                record[f"{metric}.{kind}_mean"] = float(finite.mean()) if len(finite) else math.nan
                record[f"{metric}.{kind}_ci95"] = ci95_half_width(values)
        mine = factors[(factors[list(GROUP)] == pd.Series(dict(zip(GROUP, key, strict=True)))).all(axis=1)]
        for factor in ("ef", "af"):
            values = mine[factor].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            record[f"{factor}_vs_random.median"] = float(np.median(finite)) if len(finite) else math.nan
            record[f"{factor}_vs_random.iqr"] = (
                float(np.subtract(*np.percentile(finite, [75, 25]))) if len(finite) else math.nan
            )
        records.append(record)
    return pd.DataFrame(records)
