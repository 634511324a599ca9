"""The benchmark report: its arithmetic against hand-computed values, the pairing with random, the files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from arcloop.report import build_report, markdown_columns, pick_factors, summary_table
from arcloop.report.summary import ci95_half_width, median_iqr

BATCH = 2


def outcome(
    policy: str,
    seed: int,
    picks: list[int],
    scenario: str = "baseline",
    status: str = "ok",
    **extra: float,
) -> dict[str, Any]:
    """A benchmark outcome as campaign_task returns it, with per-iteration metrics consistent with picks."""
    found = np.cumsum(picks)
    metrics = [
        {
            "discovery/discoveries": float(found[end - 1]),
            "discovery/labels_paid": float(end),
            "discovery/yield": float(found[end - 1]) / end,
            "bias/family_js_divergence": 0.1 * seed,
            **extra,
        }
        for end in range(BATCH, len(picks) + 1, BATCH)
    ]
    return {
        "policy": policy,
        "surrogate": "forest",
        "oracle": "rules",
        "scenario": scenario,
        "seed": seed,
        "status": status,
        "error": None if status == "ok" else "OracleFailure: down",
        "summary": None,
        "metrics": metrics if status == "ok" else [],
        "seconds": 1.0,
        "discovery_picks": [bool(p) for p in picks] if status == "ok" else None,
    }


def test_t_interval_and_iqr_by_hand() -> None:
    # [1, 2, 3, 4]: mean 2.5, s = √(5/3) = 1.29099, t₀.₉₇₅(3) = 3.18245 (tables), half = t·s/√4 = 2.05426.
    assert ci95_half_width(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2.05426, abs=1e-5)
    assert ci95_half_width(np.array([1.0, math.nan, 2.0, 3.0, 4.0])) == pytest.approx(2.05426, abs=1e-5)
    assert math.isnan(ci95_half_width(np.array([3.0, math.nan])))
    # Quartiles by linear interpolation: 1.75 and 3.25.
    assert median_iqr(np.array([4.0, 1.0, 3.0, 2.0, math.nan])) == (2.5, 1.5, 4)
    assert median_iqr(np.array([math.nan]))[2] == 0


def test_enhancement_and_acceleration_on_hand_made_pick_sequences() -> None:
    method = [1, 1, 0, 1, 1, 0, 0, 0]  # discoveries after each pick: 1 2 2 3 4 4 4 4
    random = [0, 0, 1, 0, 0, 1, 0, 0]  # 0 0 1 1 1 2 2 2
    factors = pick_factors(method, random)
    assert factors["n_picks"] == 8 and factors["level"] == 2.0
    assert factors["ef_vs_random"] == 4 / 2  # at 8 picks
    assert factors["ef_half_vs_random"] == 3 / 1  # at 4 picks (4 / 1 at 5)
    assert factors["af_vs_random"] == 6 / 2  # random reaches 2 at pick 6, the method at pick 2
    assert factors["af_reached"] is True
    # The common budget is the shorter campaign: the method's 9th and 10th picks do not count.
    assert pick_factors([*method, 1, 1], random) == factors
    assert pick_factors(method, [*random, 1, 1]) == factors  # nor the baseline's 9th and 10th
    # A level the method reaches only past the common budget is not reached: no AF from picks 9-10.
    late = pick_factors([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 0, 0, 0, 0])
    assert late["n_picks"] == 8 and late["level"] == 1.0
    assert late["af_reached"] is False and math.isnan(late["af_vs_random"])
    # Not reached: random finds 2, the method only 1 → AF undefined, EF still 1/2.
    slow = pick_factors([0, 0, 0, 0, 0, 0, 0, 1], [1, 0, 1, 0, 0, 0, 0, 0])
    assert slow["ef_vs_random"] == 0.5 and slow["ef_half_vs_random"] == 0.0
    assert math.isnan(slow["af_vs_random"]) and slow["af_reached"] is False
    # Random found nothing: no EF, no level for AF.
    empty = pick_factors([1, 0, 0, 0], [0, 0, 0, 0])
    assert empty["level"] == 0.0 and math.isnan(empty["ef_vs_random"]) and math.isnan(empty["af_vs_random"])
    nothing = pick_factors([], [])
    assert nothing["n_picks"] == 0 and nothing["af_reached"] is False
    assert all(math.isnan(nothing[k]) for k in ("level", "ef_vs_random", "ef_half_vs_random", "af_vs_random"))


def test_each_campaign_is_paired_with_random_of_the_same_seed_and_scenario() -> None:
    outcomes = [
        outcome("greedy", 1, [1, 1, 1, 1]),
        outcome("random", 0, [1, 0, 0, 0]),
        outcome("greedy", 0, [1, 1, 0, 0]),
        outcome("random", 1, [1, 1, 1, 1]),
        # Same seed 0, another scenario: must not be anyone's partner in the baseline scenario.
        outcome("random", 0, [0, 0, 0, 1], scenario="other"),
    ]
    table = summary_table(outcomes)
    greedy = table[(table["policy"] == "greedy") & (table["scenario"] == "baseline")].iloc[0]
    # Right pairs: seed 0 EF 2/1, AF 1/1; seed 1 EF 4/4, AF 4/4 → EF median 1.5, IQR 0.5, AF 1.
    # (Crossed seeds would give EF 2/4 and 4/1, median 2.25; the other scenario's random at seed 0, AF 4/1.)
    assert greedy["n_paired"] == 2
    assert greedy["ef_vs_random.median"] == 1.5 and greedy["ef_vs_random.iqr"] == 0.5
    assert greedy["af_vs_random.median"] == 1.0 and greedy["af_vs_random.n"] == 2
    # EF at half the budget (2 picks): seed 0 2/1, seed 1 2/2.
    assert greedy["ef_half_vs_random.median"] == 1.5
    itself = table[(table["policy"] == "random") & (table["scenario"] == "baseline")].iloc[0]
    assert itself["ef_vs_random.median"] == 1.0 and itself["af_vs_random.median"] == 1.0


def test_an_unreached_level_is_nan_and_counted() -> None:
    outcomes = [
        outcome("random", 0, [1, 0, 1, 0]),
        outcome("novelty", 0, [0, 0, 0, 1]),  # 1 < level 2: unreached
        outcome("random", 1, [0, 1, 0, 0]),
        outcome("novelty", 1, [1, 0, 0, 0]),  # level 1 reached at pick 1: AF 2/1
        outcome("random", 2, [0, 0, 0, 0]),
        outcome("novelty", 2, [0, 1, 0, 0]),  # random found none: EF and AF undefined, not "unreached"
    ]
    row = summary_table(outcomes).set_index("policy").loc["novelty"]
    assert row["n_paired"] == 3
    assert row["af_vs_random.median"] == 2.0 and row["af_vs_random.n"] == 1
    assert row["af_vs_random.n_nan"] == 2 and row["af_vs_random.n_unreached"] == 1
    assert row["ef_vs_random.median"] == pytest.approx((0.5 + 1.0) / 2) and row["ef_vs_random.n_nan"] == 1


def test_summary_columns_are_the_metric_names_and_failures_are_counted() -> None:
    outcomes = [
        outcome("random", 0, [1, 0, 0, 1]),
        outcome("random", 1, [0, 0, 1, 1]),
        outcome("random", 2, [1, 1, 1, 1]),
        outcome("random", 3, [0, 0, 0, 0]),
        outcome("random", 4, [], status="failed"),
    ]
    record = summary_table(outcomes).iloc[0]
    assert record["n_seeds"] == 4 and record["n_failed"] == 1
    # Final discoveries 2, 2, 4, 0: mean 2; s = √(8/3), half-width t₀.₉₇₅(3)·s/2 = 2.59846.
    assert record["discovery/discoveries.final_mean"] == 2.0
    assert record["discovery/discoveries.final_ci95"] == pytest.approx(2.59846, abs=1e-5)
    # AUC = mean over the two iterations: (1 + 2) / 2, (0 + 2) / 2, (2 + 4) / 2, 0 → mean 1.375.
    assert record["discovery/discoveries.auc_mean"] == 1.375
    assert record["discovery/labels_paid.final_mean"] == 4.0
    assert not any("hits_cumulative" in column or "enhancement" in column for column in record.index)
    for column in markdown_columns():
        base = column if column.endswith("n_unreached") else column.rsplit(".", 1)[0]
        assert any(name.startswith(base) for name in record.index), column


def test_build_report_writes_tables_markdown_and_figures(tmp_path: Path) -> None:
    outcomes = [
        outcome(policy, seed, picks)
        for seed, (mine, theirs) in enumerate([([1, 1, 0, 1], [1, 0, 0, 0]), ([0, 1, 1, 1], [0, 0, 1, 0])])
        for policy, picks in (("greedy", mine), ("random", theirs))
    ] + [outcome("greedy", 2, [], status="failed")]
    report = build_report(outcomes, tmp_path, "unit")
    assert report.n_failed == 1
    names = {path.name for path in report.files}
    assert {
        "summary.csv",
        "campaigns.csv",
        "trajectories.csv",
        "summary.md",
        "bias_vs_discovery.png",
    } <= names
    assert "trajectories-forest-rules-baseline.png" in names
    assert all(path.stat().st_size > 0 for path in report.files)
    text = (tmp_path / "summary.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| policy"))
    assert all(f"`{column}`" in header for column in markdown_columns())
    assert "greedy / forest / rules / baseline / seed 2: OracleFailure: down" in text
    greedy = next(r for r in report.records if r["policy"] == "greedy")
    # Seed 0: EF 3/1, AF 1/1 (level 1 at pick 1 for both); seed 1: EF 3/1, AF 3/2 (level 1 at 3 vs 2).
    assert greedy["ef_vs_random.median"] == 3.0 and greedy["af_vs_random.median"] == pytest.approx(1.25)
    assert "3.00 (IQR 0.00, n 2)" in text
    campaigns = pd.read_csv(tmp_path / "campaigns.csv")
    assert campaigns.set_index(["policy", "seed"]).loc[("greedy", 1), "af_vs_random"] == 1.5


def test_the_report_does_not_depend_on_the_order_campaigns_finished(tmp_path: Path) -> None:
    # 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the last digit: a sum in completion order would
    # give two runners of one grid two tables.
    outcomes = [
        outcome(policy, seed, [1, 0, 1, 0], **{"bias/isoscore": value})
        for policy in ("greedy", "random")
        for seed, value in enumerate((0.1, 0.2, 0.3))
    ]
    assert sum(o["metrics"][-1]["bias/isoscore"] for o in outcomes[:3]) != sum(
        o["metrics"][-1]["bias/isoscore"] for o in outcomes[2::-1]
    )
    forward = build_report(outcomes, tmp_path / "forward", "unit").records
    backward = build_report(outcomes[::-1], tmp_path / "backward", "unit").records
    assert forward == backward
    assert (tmp_path / "forward" / "summary.csv").read_bytes() == (
        tmp_path / "backward" / "summary.csv"
    ).read_bytes()
