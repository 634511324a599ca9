"""Benchmark summaries: per policy × oracle × scenario, over seeds (pure pandas/numpy).

Two kinds of figures, each under one name everywhere (CSV, records, Markdown):

- ``<metric>.final_mean`` / ``<metric>.final_ci95`` (and ``.auc_…``): mean over seeds, and the half-width of
  its 95 % Student-t interval, of a campaign metric logged every iteration (names as in MLflow, e.g.
  ``discovery/discoveries``), taken at the last iteration (``final``) or averaged over the iterations
  (``auc``, the area under the curve per iteration).
- ``ef_vs_random.…``, ``ef_half_vs_random.…``, ``af_vs_random.…``: the enhancement and acceleration factors of
  Rohr et al. (Chem. Sci. 11, 2696, 2020) computed on *discoveries* (new truth hits, docs/design.md)
  against the ``random`` campaign with the same oracle, scenario and seed, at pick resolution (one step per
  paid proposal, from each outcome's ``discovery_picks``); median and interquartile range over seeds. See
  :func:`pick_factors` for the definitions and when they are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from arcloop.metrics import acceleration_factor, cumulative_hits, draws_to_reach, enhancement_factor
from arcloop.metrics.registry import report_metrics

GROUP = ("policy", "surrogate", "oracle", "scenario")
PICKS = "discovery_picks"
BASELINE = "random"
FACTORS = ("ef_vs_random", "ef_half_vs_random", "af_vs_random")
FACTOR_COLUMNS = ("n_picks", "level", "ef_vs_random", "ef_half_vs_random", "af_vs_random", "af_reached")


def ci95_half_width(values: np.ndarray) -> float:
    """Half-width t₀.₉₇₅(n − 1)·s/√n of the 95 % Student-t interval of the mean of the finite values.

    s is the sample standard deviation (ddof = 1); NaN with fewer than two finite values.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def median_iqr(values: np.ndarray) -> tuple[float, float, int]:
    """(median, interquartile range, count) of the finite values; the quartiles by linear interpolation
    (``numpy.percentile``'s default). NaN, NaN, 0 when none is finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return math.nan, math.nan, 0
    q75, q25 = np.percentile(finite, [75, 25])
    return float(np.median(finite)), float(q75 - q25), len(finite)


def trajectory(outcome: dict[str, Any], metric: str) -> np.ndarray:
    """(iterations,) values of ``metric`` in the outcome's per-iteration metrics (NaN where absent)."""
    return np.array([row.get(metric, math.nan) for row in outcome.get("metrics", [])], dtype=float)


def pick_factors(picks: Sequence[bool], baseline_picks: Sequence[bool]) -> dict[str, float | bool]:
    """EF and AF of one campaign against one baseline campaign, on discoveries, at pick resolution.

    ``picks`` and ``baseline_picks``: one bool per paid proposal, in proposal order, True if it was a
    discovery. Both are compared over the common budget n = min(len(picks), len(baseline_picks)) paid picks
    (``n_picks``); D(m) and D_r(m) are the method's and the baseline's discoveries after m picks.

    - ``ef_vs_random`` = D(n) / D_r(n): how many times more discoveries at the full budget; NaN if
      D_r(n) = 0.
    - ``ef_half_vs_random`` = D(⌊n/2⌋) / D_r(⌊n/2⌋): the same at half the budget; NaN if that is 0 picks or
      D_r = 0 there.
    - ``af_vs_random`` = m_r(L) / m(L), m(L) the first number of picks at which D(m) ≥ L, with the level
      ``level`` L = D_r(n), what the baseline found with the whole budget: how many times fewer picks the
      method needs to get there. NaN if L = 0 (no level to reach) or if the method does not reach L within
      n picks (``af_reached`` False: the method is slower than the baseline, by an unknown factor).
    """
    method = np.asarray(picks, dtype=bool)
    baseline = np.asarray(baseline_picks, dtype=bool)
    n = int(min(method.size, baseline.size))
    result: dict[str, float | bool] = {
        "n_picks": float(n),
        "level": math.nan,
        "ef_vs_random": math.nan,
        "ef_half_vs_random": math.nan,
        "af_vs_random": math.nan,
        "af_reached": False,
    }
    if n == 0:
        return result
    mine, theirs = cumulative_hits(method[:n]).astype(float), cumulative_hits(baseline[:n]).astype(float)
    ratio = enhancement_factor(mine, theirs)
    level = float(theirs[-1])
    result["level"] = level
    result["ef_vs_random"] = float(ratio[-1])
    if n // 2 >= 1:
        result["ef_half_vs_random"] = float(ratio[n // 2 - 1])
    if level > 0.0:
        result["af_reached"] = not math.isnan(draws_to_reach(mine, level))
        result["af_vs_random"] = acceleration_factor(mine, theirs, level)
    return result


def pairwise_factors(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """:func:`pick_factors` of each successful campaign against the ``random`` campaign of the same
    surrogate, oracle, scenario and seed (one row per paired campaign; ``random`` is paired with itself).

    A campaign is left out (no row) when it failed, has no ``discovery_picks``, or no successful ``random``
    campaign with its surrogate, oracle, scenario and seed has them.
    """
    baseline = {
        (o["surrogate"], o["oracle"], o["scenario"], o["seed"]): o[PICKS]
        for o in outcomes
        if o["policy"] == BASELINE and o["status"] == "ok" and o.get(PICKS) is not None
    }
    rows = []
    for outcome in outcomes:
        reference = baseline.get(
            (outcome["surrogate"], outcome["oracle"], outcome["scenario"], outcome["seed"])
        )
        if outcome["status"] != "ok" or reference is None or outcome.get(PICKS) is None:
            continue
        rows.append(
            {
                **{key: outcome[key] for key in GROUP},
                "seed": outcome["seed"],
                **pick_factors(outcome[PICKS], reference),
            }
        )
    return pd.DataFrame(rows, columns=[*GROUP, "seed", *FACTOR_COLUMNS])


def long_table(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per campaign × iteration × metric: the raw material of every figure and summary."""
    rows = []
    for outcome in outcomes:
        for step, metrics in enumerate(outcome.get("metrics", [])):
            for metric in report_metrics():
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
    """``<metric>.final`` (last iteration) and ``<metric>.auc`` (mean of the finite iterations) per metric."""
    values: dict[str, float] = {}
    for metric in report_metrics():
        curve = trajectory(outcome, metric)
        finite = curve[np.isfinite(curve)]
        values[f"{metric}.final"] = float(curve[-1]) if len(curve) else math.nan
        # Area under the curve per iteration (the trajectory's mean): rewards reaching values early.
        values[f"{metric}.auc"] = float(finite.mean()) if len(finite) else math.nan
    return values


def campaign_table(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per campaign: labels, status, error, :func:`campaign_values` and its factors vs random."""
    per_campaign = pd.DataFrame(
        [
            {
                **{key: o[key] for key in (*GROUP, "seed", "status")},
                "error": o.get("error"),
                **campaign_values(o),
            }
            for o in outcomes
        ]
    )
    if per_campaign.empty:
        return per_campaign
    return per_campaign.merge(pairwise_factors(outcomes), on=[*GROUP, "seed"], how="left")


def in_grid_order(outcomes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcomes sorted by their labels (group, then seed): a report must not depend on the order
    in which workers finished, down to the last digit of a float sum."""
    return sorted(outcomes, key=lambda outcome: (*(str(outcome[key]) for key in GROUP), str(outcome["seed"])))


def summary_table(outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per policy × oracle × scenario: mean and 95 % CI over seeds of final and AUC values; EF/AF vs random.

    Columns: ``n_seeds`` (successful campaigns), ``n_failed``; ``<metric>.{final,auc}_{mean,ci95}``;
    ``n_paired`` (campaigns with a ``random`` partner of the same seed); for each factor F of
    :data:`FACTORS`, ``F.median``, ``F.iqr`` and ``F.n`` over the paired seeds where it is finite, and
    ``F.n_nan`` where it is not; ``af_vs_random.n_unreached``: paired seeds whose method never reached the
    level random reached (a subset of ``af_vs_random.n_nan``, the rest being seeds where random found none).
    """
    per_campaign = campaign_table(outcomes)
    if per_campaign.empty:
        return pd.DataFrame()
    factors = pairwise_factors(outcomes)
    records = []
    for key, group in per_campaign.groupby(list(GROUP), sort=True):
        ok = group[group["status"] == "ok"]
        record: dict[str, Any] = dict(zip(GROUP, key, strict=True))
        record["n_seeds"] = len(ok)
        record["n_failed"] = int((group["status"] != "ok").sum())
        for metric in report_metrics():
            for kind in ("final", "auc"):
                values = ok[f"{metric}.{kind}"].to_numpy(dtype=float)
                finite = values[np.isfinite(values)]
                record[f"{metric}.{kind}_mean"] = float(finite.mean()) if len(finite) else math.nan
                record[f"{metric}.{kind}_ci95"] = ci95_half_width(values)
        mine = factors[(factors[list(GROUP)] == pd.Series(dict(zip(GROUP, key, strict=True)))).all(axis=1)]
        record["n_paired"] = len(mine)
        for factor in FACTORS:
            values = mine[factor].to_numpy(dtype=float)
            median, iqr, count = median_iqr(values)
            record[f"{factor}.median"] = median
            record[f"{factor}.iqr"] = iqr
            record[f"{factor}.n"] = count
            record[f"{factor}.n_nan"] = len(values) - count
        record["af_vs_random.n_unreached"] = int(
            ((mine["level"] > 0) & ~mine["af_reached"].astype(bool)).sum()
        )
        records.append(record)
    return pd.DataFrame(records)
