"""The campaign flow end to end: real Prefect flow, real MLflow store, real model and oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from campaign_support import fast_config
from mlflow.tracking import MlflowClient

from arcloop.campaign.plain import run_plain
from arcloop.campaign.state import load_checkpoint
from arcloop.campaign.steps import history_digest
from arcloop.cli import main
from arcloop.config import CampaignConfig, validated
from arcloop.flows.campaign import run_campaign

GROUPS = ("discovery/", "bias/", "diversity/", "model/", "acquisition/")


def journal(state_dir: Path) -> list[dict]:
    path = state_dir / "oracle_calls.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["outcome"] != "asked"]


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    found: set[str] = set()
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found |= artifact_paths(client, run_id, item.path)
        else:
            found.add(item.path)
    return found


def test_three_iteration_campaign_logs_every_group_and_artifact(prefect_harness, workdir, tracking_uri):
    config = fast_config(workdir, tracking_uri)
    result = run_campaign(config)

    client = MlflowClient(tracking_uri)
    run = client.get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    for tag in ("policy", "oracle", "source", "scenario", "seed", "arcloop_version"):
        assert tag in run.data.tags
    assert run.data.tags["policy"] == "uncertainty" and run.data.tags["seed"] == "3"
    assert run.data.params["batch_size"] == "8"
    assert run.data.params["oracle.name"] == "rules"

    for group in GROUPS:
        names = [key for key in run.data.metrics if key.startswith(group)]
        assert names, f"no {group} metric logged"
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, names[0]))
        assert steps == [0, 1, 2], (names[0], steps)

    artifacts = artifact_paths(client, run.info.run_id)
    for expected in (
        "config.yaml",
        "history.csv",
        "figures/latent_map.png",
        "figures/metric_trajectories.png",
        "model/model.pt",
    ):
        assert expected in artifacts

    history = pd.read_csv(client.download_artifacts(run.info.run_id, "history.csv", str(workdir)))
    assert len(history) == 3 * 8
    columns = {"iteration", "formula", "z0", "z1", "p_discovery", "uncertainty", "status", "cost"}
    assert columns | {"observed_label", "true_label", "hit", "discovery", "redundant"} <= set(history)
    assert sorted(history["iteration"].unique()) == [0, 1, 2]
    assert result["iterations"] == 3
    assert result["labels_paid"] == int((history["status"] != "abstained").sum())
    assert [call["iteration"] for call in journal(workdir / "state")] == [0, 1, 2]

    # The orchestrated campaign draws exactly what the same loop as plain function calls draws.
    plain = run_plain(validated(CampaignConfig, {**config, "state_dir": str(workdir / "plain")}))
    assert history_digest(plain) == result["history_sha256"]


def test_flaky_oracle_is_retried_and_the_retries_are_recorded(prefect_harness, workdir, tracking_uri):
    oracle = {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 0.3}]}
    config = fast_config(workdir, tracking_uri, oracle=oracle, iterations=4, oracle_calls={"retries": 20})
    result = run_campaign(config)

    state, _ = load_checkpoint(workdir / "state")
    calls = journal(workdir / "state")
    failures = [call for call in calls if call["outcome"] != "ok"]
    assert failures, "seed 3 draws at least one failure with p = 0.3 over four iterations"
    assert len(calls) == state.oracle_calls == result["oracle_calls"] == 4 + len(failures)
    attempts = pd.DataFrame(state.history).groupby("iteration")["attempts"].first()
    per_iteration = pd.Series([c["iteration"] for c in calls]).value_counts().sort_index()
    assert attempts.tolist() == per_iteration.tolist()
    assert max(attempts) > 1


def test_selection_biased_oracle_records_dropped_labels_as_dropped(prefect_harness, workdir, tracking_uri):
    oracle = {"name": "rules", "wrappers": [{"name": "selection_biased", "drop_negative_prob": 1.0}]}
    # random proposals: the test needs negatives to drop, whatever a scoring policy would prefer
    run_campaign(fast_config(workdir, tracking_uri, oracle=oracle, policy={"name": "random"}))
    state, _ = load_checkpoint(workdir / "state")
    history = pd.DataFrame(state.history)
    dropped = history["status"] == "dropped"
    assert dropped.any()
    assert (history.loc[dropped, "observed_label"] == -1).all()
    assert (history.loc[dropped, "true_label"] == 0).all()  # the wrapper drops negatives only
    assert (history.loc[history["status"] == "ok", "observed_label"] == 1).all()
    # Dropped results never join the training set; every loop label there is positive.
    assert (state.labelled_y[state.labelled_origin >= 0] == 1).all()
    assert len(state.labelled_y) == 48 + int((history["status"] == "ok").sum())


def test_same_seed_same_campaign_bit_for_bit(workdir):
    config = validated(CampaignConfig, fast_config(workdir, "sqlite:///unused.db", iterations=2))
    first, second = run_plain(config), run_plain(config)
    assert history_digest(first) == history_digest(second)
    np.testing.assert_array_equal(first.labelled_X, second.labelled_X)
    other = run_plain(config.model_copy(update={"seed": 4}))
    assert history_digest(other) != history_digest(first)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tracking": {"uri": "http://127.0.0.1:9"}}, "is unreachable"),
        ({"policy": {"name": "no-such-policy"}}, "greedy"),
        ({"oracle": {"name": "no-such-oracle"}}, "rules"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_fail_early_before_any_oracle_call(workdir, tracking_uri, capsys, override, message):
    config = fast_config(workdir, tracking_uri)
    config.update(override)
    path = workdir / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    code = main(["campaign", "--config", str(path), "--json"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err and "\n" not in err and "Traceback" not in err
    assert journal(workdir / "state") == []
    assert not (workdir / "state" / "LATEST").exists()


def test_arcloop_campaign_reads_its_config_once_and_prepares_it_once(
    prefect_harness, workdir, tracking_uri, capsys, monkeypatch
):
    import arcloop.campaign.run
    import arcloop.config

    calls = {"read_yaml": 0, "prepare": 0}
    read_yaml, prepare = arcloop.config.read_yaml, arcloop.campaign.run.prepare

    def counted(name, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(arcloop.config, "read_yaml", counted("read_yaml", read_yaml))
    monkeypatch.setattr(arcloop.campaign.run, "prepare", counted("prepare", prepare))
    path = workdir / "campaign.yaml"
    path.write_text(yaml.safe_dump(fast_config(workdir, tracking_uri, iterations=1)))
    assert main(["campaign", "--config", str(path), "--iterations", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iterations"] == 1
    assert calls == {"read_yaml": 1, "prepare": 1}
