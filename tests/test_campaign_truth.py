"""One ground truth, never paying twice, the scenarios: real flows, real MLflow, real model and oracles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from campaign_support import fast_config
from mlflow.tracking import MlflowClient

from arcloop.campaign.setup import composition_keys, initial_state, prepare
from arcloop.campaign.state import load_checkpoint
from arcloop.candidates import apply_feasibility
from arcloop.cli.campaign import _figures
from arcloop.config import CampaignConfig, validated
from arcloop.data import alloy_fractions, alloy_labels
from arcloop.flows.campaign import run_campaign
from arcloop.materials import FAMILY_NAMES, dominant_family, n_elements
from arcloop.oracles import RulesOracle


def campaign(workdir: Path, tracking_uri: str, name: str, **overrides: Any) -> tuple[dict, Any, pd.DataFrame]:
    config = fast_config(workdir, tracking_uri, iterations=2, state_dir=str(workdir / name), **overrides)
    result = run_campaign(config)
    state, _ = load_checkpoint(workdir / name)
    return result, state, pd.DataFrame(state.history)


def changed(config: CampaignConfig, **changes: Any) -> CampaignConfig:
    return validated(CampaignConfig, {**config.model_dump(mode="json"), **changes})


def test_truth_labels_the_initial_and_held_out_sets_not_the_experiments() -> None:
    config = validated(CampaignConfig, {"seed": 1, "oracle": {"name": "rules"}})
    setup = prepare(config)
    rules = RulesOracle().predict(alloy_fractions())
    np.testing.assert_array_equal(setup.truth_y, rules)
    state = initial_state(setup)
    np.testing.assert_array_equal(state.labelled_y, rules[setup.initial])
    # The rules disagree with experiment on a third of the data, so this is not a vacuous check.
    assert (rules[setup.initial] != alloy_labels()[setup.initial]).any()
    lookup = prepare(changed(config, oracle={"name": "lookup"}))
    answered = lookup.truth_y >= 0
    np.testing.assert_array_equal(lookup.truth_y[answered], alloy_labels()[answered])
    assert (~answered).sum() == 6 and (lookup.truth_y[lookup.holdout] >= 0).all()
    assert not np.isin(np.flatnonzero(~answered), lookup.initial).any()


def test_pool_lookup_campaign_never_pays_twice_and_counts_the_pool_targets(
    prefect_harness, workdir, tracking_uri
) -> None:
    oracle = {"name": "lookup", "wrappers": [{"name": "selection_biased", "drop_negative_prob": 1.0}]}
    overrides = {
        "candidates": {"source": "pool", "n_samples": 8},
        "oracle": oracle,
        "policy": {"name": "greedy"},
        "target": {"min_elements": 4, "reference": "initial"},
        "batch_size": 12,
    }
    result, state, history = campaign(workdir, tracking_uri, "pool", **overrides)
    assert (history["status"] == "dropped").any()
    rows = state.proposed_pool_index
    setup = prepare(validated(CampaignConfig, fast_config(workdir, tracking_uri, **overrides)))
    assert len(set(rows.tolist())) == len(rows) and not np.isin(rows, setup.initial).any()
    keys = composition_keys(np.concatenate([setup.pool_X[setup.initial], state.proposed_X]))
    assert len(set(keys)) == len(keys)  # no composition proposed twice, nor an initial one

    # fraction_found against an independent count of the pool's distinct target compositions.
    data, real = alloy_fractions(), alloy_labels()
    available = np.setdiff1d(setup.loop_rows, setup.initial)
    available = available[apply_feasibility(data[available], setup.config.candidates.feasibility)[1]]
    is_target = (real[available] == 1) & (n_elements(data[available], 0.005) >= 4)
    conflicting = np.flatnonzero(setup.truth_y < 0)
    targets = {tuple(np.round(data[r], 9)) for r in available[is_target] if r not in conflicting}
    found = {tuple(np.round(data[r], 9)) for r in rows[state.proposed_hit]}
    assert result["discovery/fraction_found"] == pytest.approx(len(found & targets) / len(targets))
    assert result["discovery/hits"] == int(history["hit"].sum()) > 0


def test_family_scenario_starts_inside_its_family(prefect_harness, workdir, tracking_uri) -> None:
    scenario = {"kind": "family", "family": "3d", "n_initial": 48}
    result, state, _ = campaign(workdir, tracking_uri, "family", scenario=scenario)
    initial = state.labelled_X[state.labelled_origin < 0]
    assert (dominant_family(initial) == FAMILY_NAMES.index("3d")).all()
    assert result["iterations"] == 2 and len(state.proposed_X) == 16
    # discovery/outside_family_share against a count over the proposal record, iteration by iteration.
    for step, metrics in enumerate(state.metrics):
        upto = state.proposed_iteration <= step
        found = state.proposed_X[upto & state.proposed_discovery]
        outside = [dominant_family(row[None, :])[0] != FAMILY_NAMES.index("3d") for row in found]
        expected = sum(outside) / len(outside) if outside else math.nan
        assert metrics["discovery/outside_family_share"] == pytest.approx(expected, nan_ok=True)


def test_yield_does_not_rise_when_negatives_go_unreported(prefect_harness, workdir, tracking_uri) -> None:
    results = {}
    for q in (0.0, 0.9):
        oracle = {"name": "rules", "wrappers": [{"name": "selection_biased", "drop_negative_prob": q}]}
        _, state, history = campaign(workdir, tracking_uri, f"q{q}", oracle=oracle, policy={"name": "random"})
        results[q] = (state.metrics[0], history[history["iteration"] == 0])
    (clean, clean_rows), (biased, biased_rows) = results[0.0], results[0.9]
    # Iteration 0 proposes the same batch under both (same model, candidates and draws) ...
    assert clean_rows["formula"].tolist() == biased_rows["formula"].tolist()
    dropped = int((biased_rows["status"] == "dropped").sum())
    assert dropped > 0 and biased["oracle/dropped"] == dropped
    # ... and the dropped negatives are still paid for: the yield is the same, not higher.
    for name in ("discovery/hits", "discovery/discoveries", "discovery/labels_paid", "discovery/yield"):
        assert biased[name] == clean[name], name
    # What a hit rate over reported labels alone would have shown: a rise caused by the bias.
    reported = biased_rows["status"] == "ok"
    assert biased_rows.loc[reported, "hit"].mean() > clean_rows["hit"].mean()
    # What the loop was told against truth: nothing between them without the wrapper, and the gap
    # counted by hand from the history's observed and true labels with it.
    assert clean["belief/reported_positive_gap"] == 0.0
    told = biased_rows.loc[biased_rows["observed_label"] >= 0, "observed_label"]
    real = biased_rows.loc[biased_rows["true_label"] >= 0, "true_label"]
    assert biased["belief/reported_positive_gap"] == pytest.approx((told == 1).mean() - (real == 1).mean())
    assert biased["belief/reported_positive_gap"] > 0


def test_imbalance_scenario_over_represents_its_family(prefect_harness, workdir, tracking_uri) -> None:
    scenario = {"kind": "imbalance", "family": "refractory", "imbalance_ratio": 5.0, "n_initial": 48}
    config = validated(CampaignConfig, fast_config(workdir, tracking_uri, scenario=scenario))
    balanced = prepare(changed(config, scenario={"n_initial": 48}))
    skewed = prepare(config)
    family = FAMILY_NAMES.index("refractory")

    def odds(rows: np.ndarray) -> float:
        share = (dominant_family(alloy_fractions()[rows]) == family).mean()
        return share / (1.0 - share)

    ratio = odds(skewed.loop_rows) / odds(balanced.loop_rows)
    assert 3.5 < ratio < 7.0  # 5 in expectation; the binomial spread at ~1,000 rows is ~15 %
    in_family = dominant_family(alloy_fractions()[balanced.loop_rows]) == family
    assert np.isin(balanced.loop_rows[in_family], skewed.loop_rows).all()  # the family is kept whole
    result, state, _ = campaign(workdir, tracking_uri, "imbalance", scenario=scenario)
    assert result["iterations"] == 2 and np.isin(state.labelled_pool_index[:48], skewed.loop_rows).all()


def test_mlflow_history_and_progress_bar_use_the_same_names(prefect_harness, workdir, tracking_uri) -> None:
    result, state, history = campaign(workdir, tracking_uri, "names", policy={"name": "greedy"})
    client = MlflowClient(tracking_uri)
    logged = client.get_run(result["mlflow_run_id"]).data.metrics
    final = state.metrics[-1]
    for name, column, reduce in (
        ("discovery/hits", "hit", "sum"),
        ("discovery/discoveries", "discovery", "sum"),
        ("discovery/labels_paid", "status", "paid"),
    ):
        values = history[column]
        counted = int((values != "abstained").sum()) if reduce == "paid" else int(values.sum())
        assert logged[name] == final[name] == result[name] == counted, name
    last = history[history["iteration"] == history["iteration"].max()]
    assert logged["discovery/redundancy"] == pytest.approx(last["redundant"].mean())
    assert logged["discovery/yield"] == pytest.approx(history["discovery"].sum() / len(history))
    shown = _figures(final)
    assert f"discoveries {final['discovery/discoveries']:.0f}" in shown
    assert f"hits {final['discovery/hits']:.0f}" in shown
    assert "EF" not in shown and not any(math.isnan(v) for v in logged.values())


def test_synthetic_truth_is_a_function_of_the_composition_alone(
    prefect_harness, workdir, tracking_uri
) -> None:
    from arcloop.oracles import SyntheticOracle

    overrides = {"oracle": {"name": "synthetic"}, "target": {"reference": "none"}}
    config = fast_config(
        workdir, tracking_uri, iterations=3, state_dir=str(workdir / "synthetic"), **overrides
    )
    result = run_campaign(config)
    state, _ = load_checkpoint(workdir / "synthetic")
    history = pd.DataFrame(state.history)
    assert result["iterations"] == 3
    # Truth judged each proposal in its own iteration, with a model that was refit in between; a fresh
    # oracle, after the campaign, gives every proposal the same label: the frame never moved.
    fresh = SyntheticOracle().label(state.proposed_X).labels
    np.testing.assert_array_equal(state.proposed_true, fresh)
    np.testing.assert_array_equal(history["true_label"], fresh)
