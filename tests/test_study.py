"""The study: its statistics by hand, its config errors, and the --quick study end to end."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arcloop.cli import main
from arcloop.study.analysis import (
    bootstrap_mean,
    mean_band,
    paired_differences,
    paired_trajectory,
    separated_from,
)
from arcloop.study.config import load_study_config
from arcloop.study.report import with_derived_readings

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "bias-cascade" / "study.yaml"
COMMITTED = STUDY.parent / "results"


def hand_table() -> pd.DataFrame:
    rows = []
    for seed, (g, r) in enumerate([(5.0, 1.0), (7.0, 2.0), (9.0, 3.0), (0.0, 0.0)]):
        for policy, value in (("greedy", g), ("random", r)):
            status = "failed" if (seed == 3 and policy == "greedy") else "ok"
            rows.append(
                {"arm": "a", "policy": policy, "surrogate": "gp", "scenario": "random", "seed": seed}
                | {"status": status, "x.final": value}
            )
            # another scenario's rows must not leak into the comparison
            rows.append(
                {"arm": "a", "policy": policy, "surrogate": "gp", "scenario": "other", "seed": seed}
                | {"status": "ok", "x.final": 100.0 * value}
            )
    return pd.DataFrame(rows)


def test_paired_differences_pair_by_seed_and_leave_out_failed_campaigns() -> None:
    table = hand_table()
    fixed = {"arm": "a", "surrogate": "gp", "scenario": "random"}
    diffs = paired_differences(table, "x.final", {"policy": "greedy"}, {"policy": "random"}, fixed)
    assert diffs.to_dict() == {0: 4.0, 1: 5.0, 2: 6.0}  # seed 3's greedy campaign failed
    # It moves with the treatment, and not when only another scenario changes.
    table.loc[(table.policy == "greedy") & (table.scenario == "random") & (table.seed == 0), "x.final"] = 15.0
    table.loc[table.scenario == "other", "x.final"] = -1.0
    again = paired_differences(table, "x.final", {"policy": "greedy"}, {"policy": "random"}, fixed)
    assert again.to_dict() == {0: 14.0, 1: 5.0, 2: 6.0}


def test_bootstrap_interval_matches_the_exact_bootstrap_distribution() -> None:
    values = np.array([0.0, 1.0, 3.0, 10.0])
    # Independent count: all 4^4 equally likely resamples, their means, the exact percentiles.
    means = np.sort([np.mean(pick) for pick in itertools.product(values, repeat=4)])
    exact_low, exact_high = np.quantile(means, [0.025, 0.975])
    effect = bootstrap_mean(values, resamples=100_000, seed=0, label="hand")
    assert effect.mean == pytest.approx(3.5) and effect.n == 4
    assert effect.low == pytest.approx(exact_low, abs=0.15)  # exact: 0.5
    assert effect.high == pytest.approx(exact_high, abs=0.15)  # exact: 7.75
    assert effect.verdict == "+"  # 0.25 > 0
    assert bootstrap_mean(values - 3.5, 20_000, 0, "hand").verdict == "0"
    assert bootstrap_mean(-values - 1.0, 20_000, 0, "hand").verdict == "-"
    one = bootstrap_mean(np.array([2.0, np.nan]), 1000, 0, "hand")
    assert (one.mean, one.n, one.verdict) == (2.0, 1, "n/a")
    # The same label gives the same interval whatever was drawn before it.
    spread = np.random.default_rng(1).normal(size=10)
    first = bootstrap_mean(spread, 2000, 0, "x")
    assert bootstrap_mean(spread, 2000, 0, "y") != first  # another label, another stream
    assert bootstrap_mean(spread, 2000, 0, "x") == first


def test_log10_anisotropy_is_the_log_of_the_ratio_of_ratios() -> None:
    rows = [
        {"policy": "greedy", "surrogate": "gp", "seed": 0, "bias/lengthscale_anisotropy.final": 1000.0},
        {"policy": "random", "surrogate": "gp", "seed": 0, "bias/lengthscale_anisotropy.final": 10.0},
        {"policy": "greedy", "surrogate": "gp", "seed": 1, "bias/lengthscale_anisotropy.final": 1.0},
        {"policy": "random", "surrogate": "gp", "seed": 1, "bias/lengthscale_anisotropy.final": 1.0},
        {"policy": "greedy", "surrogate": "ssvae", "seed": 0, "bias/lengthscale_anisotropy.final": np.nan},
    ]
    table = with_derived_readings(pd.DataFrame(rows).assign(arm="a", scenario="random", status="ok"))
    column = "bias/log10_lengthscale_anisotropy.final"
    np.testing.assert_allclose(table[column], [3.0, 1.0, 0.0, 0.0, np.nan])
    fixed = {"arm": "a", "surrogate": "gp", "scenario": "random"}
    diffs = paired_differences(table, column, {"policy": "greedy"}, {"policy": "random"}, fixed)
    assert diffs.to_dict() == {0: pytest.approx(2.0), 1: 0.0}  # greedy's ratio is 100x random's: 2
    # It moves with the treatment's ratio only: seed 1's greedy ratio 10^6 gives a paired log of 6.
    table.loc[(table.policy == "greedy") & (table.seed == 1), "bias/lengthscale_anisotropy.final"] = 1e6
    table = with_derived_readings(table.drop(columns=column))
    diffs = paired_differences(table, column, {"policy": "greedy"}, {"policy": "random"}, fixed)
    assert diffs.to_dict() == {0: pytest.approx(2.0), 1: pytest.approx(6.0)}


def band(low: list[float], high: list[float], order: list[int] | None = None) -> pd.DataFrame:
    iterations = order if order is not None else list(range(len(low)))
    return pd.DataFrame({"iteration": iterations, "mean": np.nan, "low": low, "high": high})


def test_separated_from_is_the_start_of_the_last_run_apart() -> None:
    # By hand: apart above at 1, back to 0 at 2, apart above from 3 on: 3, not 1.
    assert separated_from(band([-1.0, 0.5, -0.1, 0.2, 0.3], [1.0, 2.0, 0.4, 1.0, 1.0])) == 3
    assert separated_from(band([-3.0, -2.0, -1.0], [-1.0, -0.5, -0.1])) == 0  # below all along
    assert separated_from(band([0.5, 0.5, -0.1], [1.0, 1.0, 0.1])) is None  # the last contains 0
    assert separated_from(band([0.5, 0.5, np.nan], [1.0, 1.0, np.nan])) is None  # the last undefined
    # Apart on the other side earlier does not extend the run: above at 0-1, below from 2.
    assert separated_from(band([0.1, 0.1, -2.0, -2.0], [1.0, 1.0, -1.0, -0.5])) == 2
    # Read in iteration order, whatever the row order.
    assert separated_from(band([0.2, -1.0, 0.3], [1.0, 1.0, 1.0], order=[2, 0, 1])) == 1
    assert separated_from(band([], [])) is None


def test_a_gap_that_opens_at_iteration_4_is_apart_from_4() -> None:
    """Through the report's own path (paired trajectories, per-iteration bootstrap band): greedy
    equals random up to iteration 3 (noise only), then leads by 5 on every seed."""
    noise = np.random.default_rng(0).normal(scale=0.5, size=(10, 8))
    rows = []
    for seed in range(10):
        for iteration in range(8):
            lead = 5.0 if iteration >= 4 else 0.0
            for policy, value in (("greedy", noise[seed, iteration] + lead), ("random", 0.0)):
                rows.append(
                    {"arm": "a", "surrogate": "gp", "scenario": "random", "status": "ok"}
                    | {"policy": policy, "seed": seed, "iteration": iteration, "x": value}
                )
    table = pd.DataFrame(rows)
    fixed = {"arm": "a", "surrogate": "gp", "scenario": "random"}

    def band_of(frame: pd.DataFrame) -> pd.DataFrame:
        matrix = paired_trajectory(frame, "x", {"policy": "greedy"}, {"policy": "random"}, fixed)
        return mean_band(matrix, 2000, 0, "hand")

    def start(frame: pd.DataFrame) -> int | None:
        return separated_from(band_of(frame))

    # Iterations 0-3 are noise of mean ~0: check by hand that none of them is apart by chance here.
    early = [bootstrap_mean(noise[:, i], 2000, 0, f"hand@{i}") for i in range(4)]
    assert [e.verdict for e in early] == ["0"] * 4
    assert start(table) == 4
    assert band_of(table)["low"].iloc[-1] > 0  # greedy − random, not the reverse
    # It moves with the gap: the lead from iteration 6 on gives 6.
    later = table.copy()
    later.loc[(later.policy == "greedy") & later.iteration.isin([4, 5]), "x"] -= 5.0
    assert start(later) == 6
    # And not when only another scenario changes.
    other = pd.concat([table, table.assign(scenario="other", x=table["x"] - 100.0)])
    assert start(other) == 4


def test_a_bad_study_file_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = STUDY.read_text().replace("selection_scenario: selection-bias", "selection_scenario: dropped")
    bad = tmp_path / "study.yaml"
    bad.write_text(text)
    assert main(["study", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "selection_scenario 'dropped' is not one of the scenarios" in err
    bad.write_text(STUDY.read_text().replace("    oracle: {name: lookup}", "    oracle: {name: lokup}"))
    assert main(["study", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lokup" in err


def _cell_mean(cell: str) -> float:
    return float(re.match(r"([+-]?[0-9.e+-]+)", cell.strip()).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_the_quick_study_end_to_end(prefect_harness: None, workdir: Path) -> None:
    results = workdir / "results"
    command = ["study", "--config", str(STUDY), "--quick", "--work-dir", str(workdir / "work")]
    assert main([*command, "--results", str(results)]) == 0
    names = {p.name for p in results.iterdir()}
    assert {"report.md", "campaigns.csv", "trajectories.csv", "effects.csv", "RUN.md"} <= names
    assert {
        "q1-isoscore-greedy-minus-random.png",
        "q2-tradeoff.png",
        "q3-outside-family.png",
        "q4-optimism.png",
    } <= names
    study = load_study_config(STUDY)
    campaigns = pd.read_csv(results / "campaigns.csv")
    trajectories = pd.read_csv(results / "trajectories.csv")
    # The grid: 2 arms x 3 policies (random added) x 2 surrogates x 4 scenarios x 2 seeds, all ok.
    assert len(campaigns) == 96 and (campaigns["status"] == "ok").all(), campaigns["error"].dropna().unique()
    # The two tables agree: each campaign's .final is its last iteration's reading.
    last = trajectories[trajectories["iteration"] == trajectories["iteration"].max()]
    keys = ["arm", "policy", "surrogate", "oracle", "scenario", "seed"]
    joined = campaigns.merge(last, on=keys, suffixes=("", "_t"))
    assert len(joined) == 96
    for metric in ("discovery/discoveries", "bias/isoscore", "belief/holdout_optimism"):
        np.testing.assert_array_equal(joined[f"{metric}.final"], joined[metric])
    selection = campaigns[campaigns["scenario"] == "selection-bias"]
    assert (selection["belief/reported_positive_gap.final"] > 0).any()
    assert (campaigns.loc[campaigns["scenario"] == "random", "belief/reported_positive_gap.final"] == 0).all()

    report = (results / "report.md").read_text()
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## The budget"):
        assert heading in report
    assert "Not in this grid" not in report
    # The main table: one row per arm x surrogate x scenario; its Δ discoveries against a plain loop.
    main_rows = [line for line in report.split("## 1.")[1].split("## 2.")[0].splitlines() if "| " in line]
    header, body = main_rows[0], main_rows[1:]  # the |---| line has no '| '
    assert len(body) == 2 * 2 * 4
    column = [c.strip() for c in header.strip("|").split("|")].index("Δ discoveries")
    for line in body:
        cells = [c.strip() for c in line.strip("|").split("|")]
        arm, surrogate, scenario = cells[:3]
        diffs = []
        for seed in study.grid(quick=True)["seeds"]:
            value = {}
            for _, row in campaigns.iterrows():
                if (row.arm, row.surrogate, row.scenario, row.seed) == (arm, surrogate, scenario, seed):
                    value[row.policy] = row["discovery/discoveries.final"]
            diffs.append(value["greedy"] - value["random"])
        assert _cell_mean(cells[column]) == pytest.approx(np.mean(diffs), rel=1e-3, abs=1e-9)
    effects = pd.read_csv(results / "effects.csv")
    q1 = effects[(effects["question"] == "Q1") & (effects["metric"] == "discovery/discoveries.final")]
    assert len(q1) == 16 and (q1["n_pairs"] == 2).all()
    assert ((q1["ci_low"] <= q1["effect"]) & (q1["effect"] <= q1["ci_high"])).all()

    # The same command again resumes: both arms are finished, nothing runs, the results come out the same.
    before = {name: (results / name).read_bytes() for name in names if name != "RUN.md"}
    assert main([*command, "--results", str(results)]) == 0
    assert {name: (results / name).read_bytes() for name in before} == before
    # And the report regenerates byte for byte from the committed tables alone.
    copy = workdir / "copy"
    copy.mkdir()
    for name in ("campaigns.csv", "trajectories.csv"):
        shutil.copy(results / name, copy / name)
    assert main(["study", "--config", str(STUDY), "--quick", "--results", str(copy), "--report-only"]) == 0
    assert {name: (copy / name).read_bytes() for name in before} == before


def _section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def _table_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]


def test_the_committed_study_regenerates_from_its_tables(tmp_path: Path) -> None:
    """The published result: its report, effects and figures come back byte for byte from the two
    committed tables, its main table agrees with a plain loop over campaigns.csv, it ran within the
    issue's 2 h, and the README quotes it faithfully."""
    campaigns = pd.read_csv(COMMITTED / "campaigns.csv")
    assert len(campaigns) == 1280 and (campaigns["status"] == "ok").all()
    wall = re.search(r"Total wall: ([0-9.]+) min", (COMMITTED / "RUN.md").read_text())
    assert wall is not None and float(wall.group(1)) <= 120.0

    for name in ("campaigns.csv", "trajectories.csv"):
        shutil.copy(COMMITTED / name, tmp_path / name)
    assert main(["study", "--config", str(STUDY), "--results", str(tmp_path), "--report-only"]) == 0
    produced = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in COMMITTED.iterdir() if p.name != "RUN.md")
    assert produced == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name

    report = (COMMITTED / "report.md").read_text()
    header, *body = _table_rows(_section(report, "## 1.", "## 2."))
    assert len(body) == 2 * 2 * 4
    found = header.index("Δ discoveries")
    final = "discovery/discoveries.final"
    records = campaigns.to_dict("records")
    for cells in body:
        arm, surrogate, scenario = cells[:3]
        by_hand = []
        for seed in range(10):
            pick = {}
            for row in records:
                if (row["arm"], row["surrogate"], row["scenario"], row["seed"]) == (
                    arm,
                    surrogate,
                    scenario,
                    seed,
                ):
                    pick[row["policy"]] = row[final]
            by_hand.append(pick["greedy"] - pick["random"])
        assert _cell_mean(cells[found]) == pytest.approx(np.mean(by_hand), rel=1e-3), cells[:3]
    # One comparison asked by two questions carries one interval.
    effects = pd.read_csv(COMMITTED / "effects.csv")
    keys = ["metric", "treatment", "control", "fixed.arm", "fixed.surrogate", "fixed.scenario"]
    asked = effects[effects["question"].isin(["Q1", "Q5"])]
    spread = asked.groupby(keys, dropna=False)[["ci_low", "ci_high"]].nunique(dropna=False)
    assert (asked.groupby(keys, dropna=False).size() == 2).any() and (spread == 1).all().all()

    # The budget section's side at the last iteration agrees with question 1's verdict in every
    # cell (trajectories.csv and per-iteration bootstrap streams there; campaigns.csv and one
    # stream per comparison here).
    header, *body = _table_rows(_section(report, "## The budget", "## What these"))
    assert len(body) == 16
    q1 = effects[(effects["question"] == "Q1") & (effects["treatment"] == "policy=greedy")]
    for column, metric in (
        ("discoveries: apart from", "discovery/discoveries.final"),
        ("IsoScore: apart from", "bias/isoscore.final"),
        ("family JS: apart from", "bias/family_js_divergence.final"),
    ):
        for cells in body:
            arm, surrogate, scenario = cells[:3]
            verdict = q1[
                (q1["metric"] == metric)
                & (q1["fixed.arm"] == arm)
                & (q1["fixed.surrogate"] == surrogate)
                & (q1["fixed.scenario"] == scenario)
            ]["verdict"]
            mark = cells[header.index(column)]
            side = "+" if mark.endswith("▲") else "-" if mark.endswith("▼") else "0"
            assert verdict.nunique() == 1 and verdict.iloc[0] == side, (column, cells[:3], mark)

    # README: every row it quotes from the report is in the report, word for word.
    readme = (ROOT / "README.md").read_text()
    quoted = [
        line
        for line in _section(readme, "## What arcloop has measured", "\n## ").splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]
    assert len(quoted) >= 2
    for line in quoted[1:]:
        assert line in report.splitlines(), line


def test_a_torn_or_edited_walls_line_is_left_out_and_said(tmp_path, capsys):
    """walls.jsonl is appended after every run segment; a kill mid-append tears its last line."""
    import json

    from arcloop.flows.study import wall_segments

    good = {"arm": "a", "started": 1.0, "seconds": 60.0, "resumed": False, "campaigns": 4, "failed": 0}
    lines = [
        json.dumps(good),
        json.dumps(good)[:17],  # torn
        "[1, 2]",  # not a segment
        json.dumps({**good, "seconds": "60"}),  # a time that is no number
        json.dumps({key: value for key, value in good.items() if key != "arm"}),
        json.dumps({**good, "arm": "b"}),
    ]
    walls = tmp_path / "walls.jsonl"
    walls.write_text("\n".join(lines) + "\n")
    assert wall_segments(walls) == [good, {**good, "arm": "b"}]
    said = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[0] for line in said] == [f"{walls}:{n}" for n in (2, 3, 4, 5)]
    assert wall_segments(tmp_path / "none.jsonl") == []
