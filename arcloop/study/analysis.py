"""The study's statistics: paired differences on the same seeds and their bootstrap intervals.

Everything here reads the study's two tables (one row per campaign; one row per campaign ×
iteration) and nothing else, so the report is a function of the committed CSVs. A comparison pairs
two campaigns of the same arm, surrogate and seed that differ in one thing only (the policy, the
scenario, or the surrogate); its effect is the mean over seeds of the paired differences, with a
percentile-bootstrap 95 % interval of that mean. A verdict is drawn only from an interval that
excludes zero; overlapping intervals of two unpaired means are never compared.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

CAMPAIGN_KEYS: tuple[str, ...] = ("arm", "policy", "surrogate", "oracle", "scenario", "seed")
BASELINE_POLICY = "random"
GREEDY_POLICY = "greedy"


@dataclass(frozen=True)
class Effect:
    """A mean over seeds with its percentile-bootstrap 95 % interval (NaN when undefined)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def verdict(self) -> str:
        """``+`` or ``-``: the interval excludes zero on that side; ``0``: it contains zero;
        ``n/a``: fewer than two seeds."""
        if self.n < 2 or not np.isfinite(self.low):
            return "n/a"
        if self.low > 0:
            return "+"
        if self.high < 0:
            return "-"
        return "0"


def bootstrap_mean(values: np.ndarray, resamples: int, seed: int, label: str) -> Effect:
    """Mean of the finite ``values`` and the 2.5 / 97.5 % quantiles of ``resamples`` bootstrap means.

    The generator is seeded from ``seed`` and ``label`` (CRC-32), so an interval does not depend on
    which other intervals were computed before it."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    n = int(finite.size)
    if n == 0:
        return Effect(np.nan, np.nan, np.nan, 0)
    mean = float(finite.mean())
    if n < 2:
        return Effect(mean, np.nan, np.nan, n)
    rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
    means = finite[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return Effect(mean, float(low), float(high), n)


def ok_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    return campaigns[campaigns["status"] == "ok"]


def paired_differences(
    campaigns: pd.DataFrame,
    column: str,
    treatment: Mapping[str, str],
    control: Mapping[str, str],
    fixed: Mapping[str, str],
) -> pd.Series:
    """Per seed: ``column`` of the treatment campaign minus that of the control campaign.

    ``treatment`` / ``control`` fix the one key on which they differ (e.g. ``{"policy": "greedy"}``
    against ``{"policy": "random"}``); ``fixed`` fixes the others (arm, surrogate, scenario, ...).
    Seeds missing on either side (a failed campaign) are left out."""
    rows = ok_campaigns(campaigns)
    for key, value in fixed.items():
        rows = rows[rows[key] == value]

    def side(selector: Mapping[str, str]) -> pd.Series:
        chosen = rows
        for key, value in selector.items():
            chosen = chosen[chosen[key] == value]
        return chosen.set_index("seed")[column]

    left, right = side(treatment), side(control)
    common = left.index.intersection(right.index).sort_values()
    return (left.loc[common] - right.loc[common]).astype(np.float64)


def trajectory_values(trajectories: pd.DataFrame, metric: str, selector: Mapping[str, str]) -> pd.DataFrame:
    """(seeds × iterations) of ``metric`` for the ok campaigns matching ``selector``."""
    rows = trajectories[trajectories["status"] == "ok"]
    for key, value in selector.items():
        rows = rows[rows[key] == value]
    return rows.pivot_table(index="seed", columns="iteration", values=metric, aggfunc="first").sort_index()


def mean_band(matrix: pd.DataFrame, resamples: int, seed: int, label: str) -> pd.DataFrame:
    """Per column (iteration): :func:`bootstrap_mean` over the rows (seeds)."""
    out = []
    for iteration in matrix.columns:
        effect = bootstrap_mean(matrix[iteration].to_numpy(), resamples, seed, f"{label}@{iteration}")
        out.append({"iteration": int(iteration), "mean": effect.mean, "low": effect.low, "high": effect.high})
    return pd.DataFrame(out, columns=["iteration", "mean", "low", "high"])


def paired_trajectory(
    trajectories: pd.DataFrame,
    metric: str,
    treatment: Mapping[str, str],
    control: Mapping[str, str],
    fixed: Mapping[str, str],
) -> pd.DataFrame:
    """(seeds × iterations) of treatment − control on the same seeds (iteration by iteration)."""
    left = trajectory_values(trajectories, metric, {**fixed, **treatment})
    right = trajectory_values(trajectories, metric, {**fixed, **control})
    seeds = left.index.intersection(right.index)
    iterations = left.columns.intersection(right.columns)
    return left.loc[seeds, iterations] - right.loc[seeds, iterations]


def effects_table(
    campaigns: pd.DataFrame,
    comparisons: list[dict[str, object]],
    resamples: int,
    seed: int,
) -> pd.DataFrame:
    """Every comparison as one row: its description, the effect, its interval, n and verdict.

    A comparison is ``{"question", "metric", "treatment", "control", "fixed"}`` with the three
    mappings of :func:`paired_differences`; ``metric`` names a ``<reading>.final`` column."""
    rows = []
    for comparison in comparisons:
        treatment = dict(comparison["treatment"])  # type: ignore[call-overload]
        control = dict(comparison["control"])  # type: ignore[call-overload]
        fixed = dict(comparison["fixed"])  # type: ignore[call-overload]
        metric = str(comparison["metric"])
        # The question is left out of the label: one comparison asked by two questions (Q1, Q5)
        # gets one interval, not two that differ by resampling noise.
        label = "|".join(
            [metric] + [f"{k}={v}" for part in (treatment, control, fixed) for k, v in sorted(part.items())]
        )
        diffs = paired_differences(campaigns, metric, treatment, control, fixed)
        effect = bootstrap_mean(diffs.to_numpy(), resamples, seed, label)
        rows.append(
            {
                "question": comparison["question"],
                "metric": metric,
                **{f"fixed.{k}": v for k, v in fixed.items()},
                "treatment": ",".join(f"{k}={v}" for k, v in treatment.items()),
                "control": ",".join(f"{k}={v}" for k, v in control.items()),
                "effect": effect.mean,
                "ci_low": effect.low,
                "ci_high": effect.high,
                "n_pairs": effect.n,
                "verdict": effect.verdict,
            }
        )
    return pd.DataFrame(rows)


def levels(campaigns: pd.DataFrame, key: str) -> list[str]:
    """The distinct values of ``key`` in first-seen order (the grid's order)."""
    return list(dict.fromkeys(campaigns[key].astype(str)))


def separated_from(band: pd.DataFrame) -> int | None:
    """The first ``iteration`` of ``band`` (a :func:`mean_band`) from which the interval at every
    later iteration, the last one included, excludes 0 on one and the same side.

    ``None`` when the interval at the last iteration contains 0 or is undefined. A curve that leaves
    0, comes back and leaves again counts from its last departure: "apart from iteration k" means
    apart for good within the budget, not apart once."""
    if band.empty:
        return None
    ordered = band.sort_values("iteration")
    low = ordered["low"].to_numpy(dtype=np.float64)
    high = ordered["high"].to_numpy(dtype=np.float64)
    # NaN compares False, so an undefined interval is never "apart".
    above, below = low > 0.0, high < 0.0
    side = above if above[-1] else below if below[-1] else None
    if side is None:
        return None
    start = side.size
    while start > 0 and side[start - 1]:
        start -= 1
    return int(ordered["iteration"].iloc[start])
