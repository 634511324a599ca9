"""Ask/tell: `arcloop propose` / `arcloop observe` against a simulated lab that answers late, partly
and out of order, compared with the synchronous campaign of the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from campaign_support import fast_config
from mlflow.tracking import MlflowClient

from arcloop.campaign.asktell import batch_compositions, pending_path
from arcloop.campaign.run import DirectExecutor, drive, preflight
from arcloop.campaign.setup import rng_for
from arcloop.campaign.state import load_checkpoint
from arcloop.campaign.steps import history_digest
from arcloop.cli import main
from arcloop.oracles import build_oracle
from arcloop.oracles.lab import RESULT_COLUMN, SimulatedLab

NOISY_RULES = {"name": "rules", "wrappers": [{"name": "noisy", "flip_prob": 0.2}]}


def synchronous(workdir: Path, tracking_uri: str, **overrides) -> dict:
    config = fast_config(workdir, tracking_uri, state_dir=str(workdir / "sync"), **overrides)
    campaign, setup = preflight(config, resume=False)
    drive(campaign, setup, DirectExecutor())
    return config


def propose(state_dir: Path, capsys, config_file: Path | None = None) -> dict:
    args = ["propose", "--state-dir", str(state_dir), "--json"]
    assert main(args + (["--config", str(config_file)] if config_file else [])) == 0
    return json.loads(capsys.readouterr().out)


def observe(state_dir: Path, results: Path | None, capsys, *flags: str) -> dict:
    args = ["observe", "--state-dir", str(state_dir), "--json", *flags]
    assert main(args + ([str(results)] if results else [])) == 0
    return json.loads(capsys.readouterr().out)


def run_with_lab(workdir, config, lab: SimulatedLab, capsys, iterations: int) -> list[dict]:
    """Propose, let the lab answer over days, observe what arrived on day 2 and then the rest; a
    lost item is closed as lost when nothing more can come. Returns the observe outputs."""
    config_file = workdir / "lab.yaml"
    config_file.write_text(yaml.safe_dump(config))
    state_dir = Path(config["state_dir"])
    outputs = []
    for iteration in range(iterations):
        proposed = propose(state_dir, capsys, config_file if iteration == 0 else None)
        assert proposed["iteration"] == iteration and proposed["new"]
        ids, X = batch_compositions(Path(proposed["batch_file"]))
        results = lab.run(ids, X, iteration, rng_for(config["seed"], iteration, "oracle", 1))
        # results arrive out of batch order
        arrived_ids = results["id"][np.isfinite(results["arrives_after_days"])].tolist()
        assert len(arrived_ids) < 2 or arrived_ids != sorted(arrived_ids, key=ids.index)
        first = workdir / f"day2-{iteration}.csv"
        SimulatedLab.arrived(results, 2.0).to_csv(first, index=False)
        partial = observe(state_dir, first, capsys)
        if partial["metrics"] is None:
            # the pending batch survives; proposing again gives the same batch, not a new one
            again = propose(state_dir, capsys)
            assert not again["new"] and again["ids"] == ids and again["missing"] == partial["missing"]
            rest = workdir / f"rest-{iteration}.csv"
            SimulatedLab.arrived(results, np.inf, since_days=2.0).to_csv(rest, index=False)
            last = observe(state_dir, rest, capsys)
            if last["metrics"] is None:
                last = observe(state_dir, None, capsys, "--close")
            partial = last
        outputs.append(partial)
    return outputs


def test_ask_tell_with_a_late_out_of_order_lab_equals_the_synchronous_campaign(workdir, tracking_uri, capsys):
    config = fast_config(workdir, tracking_uri, iterations=3, oracle=NOISY_RULES)
    synchronous(workdir, tracking_uri, iterations=3, oracle=NOISY_RULES)
    config["state_dir"] = str(workdir / "asktell")
    lab = SimulatedLab(build_oracle(NOISY_RULES), mean_delay_days=3.0, lost_fraction=0.0, seed=1)
    outputs = run_with_lab(workdir, config, lab, capsys, iterations=3)
    assert outputs[-1]["summary"] is not None  # the last observe finished the campaign

    sync_state, _ = load_checkpoint(workdir / "sync")
    lab_state, _ = load_checkpoint(workdir / "asktell")
    assert lab_state.history == sync_state.history
    assert history_digest(lab_state) == history_digest(sync_state)
    assert lab_state.metrics == sync_state.metrics
    assert outputs[-1]["summary"]["history_sha256"] == history_digest(sync_state)
    # one MLflow run, finished, its steps those of the synchronous campaign's
    client = MlflowClient(tracking_uri)
    runs = {
        run.info.run_id: run
        for run in client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    }
    lab_run = runs[lab_state.mlflow_run_id]
    assert lab_run.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(lab_run.info.run_id, "discovery/discoveries")]
    assert steps == [0, 1, 2]
    assert lab_run.data.metrics == runs[sync_state.mlflow_run_id].data.metrics
    # the journal holds one asked and one answered line per batch
    journal = [
        json.loads(line) for line in (workdir / "asktell" / "oracle_calls.jsonl").read_text().splitlines()
    ]
    assert [line["outcome"] for line in journal] == ["asked", "ok"] * 3


def test_items_that_never_come_back_are_recorded_as_lost(workdir, tracking_uri, capsys):
    config = fast_config(workdir, tracking_uri, iterations=1)
    synchronous(workdir, tracking_uri, iterations=1)
    config["state_dir"] = str(workdir / "asktell")
    lab = SimulatedLab(build_oracle("rules"), mean_delay_days=3.0, lost_fraction=0.4, seed=2)
    run_with_lab(workdir, config, lab, capsys, iterations=1)
    ids, X = batch_compositions(workdir / "asktell" / "batches" / "batch-000.csv")
    answered = lab.run(ids, X, 0, rng_for(config["seed"], 0, "oracle", 1))
    lost = set(answered["id"][~np.isfinite(answered["arrives_after_days"])])
    assert 0 < len(lost) < len(ids)

    sync = pd.DataFrame(load_checkpoint(workdir / "sync")[0].history)
    asked = pd.DataFrame(load_checkpoint(workdir / "asktell")[0].history)
    is_lost = np.array([item in lost for item in ids])
    # The documented difference: a lost item is dropped (paid, no result, never a hit); the rest is
    # recorded as the synchronous campaign recorded it.
    assert (asked["status"][is_lost] == "dropped").all()
    assert (asked["observed_label"][is_lost] == -1).all() and not asked["hit"][is_lost].any()
    assert (asked["cost"] == sync["cost"]).all()
    kept = ["formula", "status", "observed_label", "true_label", "hit"]
    pd.testing.assert_frame_equal(asked.loc[~is_lost, kept], sync.loc[~is_lost, kept])
    assert (asked["true_label"] == sync["true_label"]).all()  # truth judges every proposal


def test_bad_results_are_one_line_each_and_record_nothing(workdir, tracking_uri, capsys):
    config = fast_config(workdir, tracking_uri, iterations=2)
    config_file = workdir / "lab.yaml"
    config_file.write_text(yaml.safe_dump(config))
    state_dir = Path(config["state_dir"])
    proposed = propose(state_dir, capsys, config_file)
    ids = proposed["ids"]
    before = pending_path(state_dir).read_text()

    def refused(text: str, *expected: str) -> None:
        path = workdir / "bad.csv"
        path.write_text(text)
        assert main(["observe", "--state-dir", str(state_dir), str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        for part in expected:
            assert part in err, err
        assert pending_path(state_dir).read_text() == before  # nothing recorded

    refused(f"id,{RESULT_COLUMN}\n{ids[0]},1\nit0-99,1\n", "bad.csv line 3", "it0-99", "not in the batch")
    refused(f"id,{RESULT_COLUMN}\n{ids[0]},1\n{ids[0]},0\n", "bad.csv line 3", "second, different", "line 2")
    refused(f"id,{RESULT_COLUMN}\n{ids[0]},yes\n", "line 2", "write 1 (single phase) or 0")
    refused(f"id,{RESULT_COLUMN},status\n{ids[0]},,broken\n", "line 2", "status 'broken'")
    refused(f"id,{RESULT_COLUMN},status\n{ids[0]},1,failed\n", "line 2", "carries no single_phase")
    refused(f"identifier,{RESULT_COLUMN}\nx,1\n", "no 'id' column")
    refused("\x00\x01garbage", "no 'id' column")
    screening = workdir / "screening.yaml"
    screening.write_text("dataset: hea\n")
    assert main(["propose", "--config", str(screening), "--state-dir", str(workdir / "s")]) == 2
    assert "ask/tell runs alloy campaigns" in capsys.readouterr().err

    good = workdir / "good.csv"
    good.write_text(f"id,{RESULT_COLUMN},status\n{ids[0]},1,\n{ids[1]},,failed\n")
    assert observe(state_dir, good, capsys)["recorded"] == 2
    again = observe(state_dir, good, capsys)  # the same file twice: a repeat, not a second result
    assert again["recorded"] == 0 and again["repeats"] == 2
    good.write_text(f"id,{RESULT_COLUMN}\n{ids[0]},0\n")
    assert main(["observe", "--state-dir", str(state_dir), str(good)]) == 2
    assert "already has the result ok 1" in capsys.readouterr().err
    # the batch file itself, filled in, is a results file: close the batch with it
    batch = pd.read_csv(proposed["batch_file"], dtype=str, keep_default_na=False)
    batch[RESULT_COLUMN] = ["1" if j % 2 else "0" for j in range(len(batch))]
    batch.loc[1, RESULT_COLUMN], batch.loc[1, "status"] = "", "failed"
    batch.loc[0, RESULT_COLUMN] = "1"
    batch.to_csv(proposed["batch_file"], index=False)
    measured = observe(state_dir, Path(proposed["batch_file"]), capsys)
    assert measured["metrics"] is not None and measured["repeats"] == 2
    assert not pending_path(state_dir).exists()
    stale = workdir / "stale.csv"
    stale.write_text(f"id,{RESULT_COLUMN}\n{ids[2]},1\n")
    assert main(["propose", "--state-dir", str(state_dir)]) == 0
    capsys.readouterr()
    assert main(["observe", "--state-dir", str(state_dir), str(stale)]) == 2
    assert "belongs to iteration 0, already measured" in capsys.readouterr().err
    history = pd.DataFrame(load_checkpoint(state_dir)[0].history)
    assert history["status"].tolist()[:2] == ["ok", "failed"] and history["observed_label"].tolist()[0] == 1


def test_a_lab_campaign_counts_the_laboratory_result_as_truth(workdir, tracking_uri, capsys):
    config = fast_config(workdir, tracking_uri, iterations=1, oracle={"name": "lab"})
    config_file = workdir / "lab.yaml"
    config_file.write_text(yaml.safe_dump(config))
    assert main(["campaign", "--config", str(config_file)]) == 2
    assert "arcloop propose" in capsys.readouterr().err
    state_dir = Path(config["state_dir"]) / "asktell"
    proposed = propose(state_dir, capsys, config_file)
    ids = proposed["ids"]
    results = workdir / "results.csv"
    results.write_text(f"id,{RESULT_COLUMN}\n" + "".join(f"{item},1\n" for item in ids))
    measured = observe(state_dir, results, capsys)
    history = pd.DataFrame(load_checkpoint(state_dir)[0].history)
    assert (history["true_label"] == 1).all()  # the laboratory said single phase: that is truth
    assert measured["metrics"]["discovery/hits"] == len(ids)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no_such_module_xyz:Thing", "no module 'no_such_module_xyz' on the import path"),
        ("my_lab:Missing", "module 'my_lab' has no 'Missing'"),
        ("my_lab:", "write a module plugin as 'module:Attribute'"),
        ("my_lab:NOT_CALLABLE", "is not a class or a function"),
        ("broken_lab:Oracle", "importing 'broken_lab' failed (ZeroDivisionError"),
    ],
)
def test_module_plugins_fail_with_one_line(workdir, monkeypatch, name, expected):
    from arcloop.errors import ArcloopError
    from arcloop.oracles import parse_oracle_config

    write_plugin(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    with pytest.raises(ArcloopError, match=r"^oracle") as error:
        parse_oracle_config({"name": name})
    assert expected in str(error.value)


def write_plugin(folder: Path) -> None:
    (folder / "my_lab.py").write_text(
        "import numpy as np\n"
        "from arcloop.oracles.base import BaseOracle, Probability, all_ok\n"
        "NOT_CALLABLE = 3\n"
        "class HalfOracle(BaseOracle):\n"
        '    """Single phase when the first element present makes up at least ``share``."""\n'
        "    name = 'half'\n"
        "    def __init__(self, share: Probability = 0.5, seed: int = 0) -> None:\n"
        "        super().__init__(seed=seed)\n"
        "        self.share = share\n"
        "    def _label(self, X, rng, latent):\n"
        "        first = X[np.arange(len(X)), (X > 0).argmax(axis=1)]\n"
        "        return (first >= self.share).astype(int), all_ok(len(X))\n"
    )
    (folder / "broken_lab.py").write_text("1 / 0\n")


def test_a_module_plugin_is_an_oracle_policy_and_surrogate_without_packaging(
    workdir, tracking_uri, monkeypatch
):
    from arcloop.errors import ArcloopError
    from arcloop.oracles import parse_oracle_config

    write_plugin(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    with pytest.raises(ArcloopError, match="share"):
        parse_oracle_config({"name": "my_lab:HalfOracle", "params": {"share": 2.0}})
    oracle = build_oracle({"name": "my_lab:HalfOracle", "params": {"share": 0.3}})
    X = np.zeros((2, 30))
    X[0, 0], X[0, 1], X[1, 0], X[1, 1] = 0.2, 0.8, 0.4, 0.6
    assert oracle.label(X).labels.tolist() == [0, 1]
    config = fast_config(workdir, tracking_uri, iterations=1, oracle={"name": "my_lab:HalfOracle"})
    campaign, setup = preflight(config, resume=False)
    summary = drive(campaign, setup, DirectExecutor())
    assert summary["iterations"] == 1
    assert (
        MlflowClient(tracking_uri).get_run(summary["mlflow_run_id"]).data.tags["oracle"]
        == "my_lab:HalfOracle"
    )


def test_lab_simulate_answers_the_waiting_batch_in_two_deliveries(workdir, tracking_uri, capsys):
    config = fast_config(workdir, tracking_uri, iterations=1)
    config_file = workdir / "lab.yaml"
    config_file.write_text(yaml.safe_dump(config))
    state_dir = Path(config["state_dir"])
    ids = propose(state_dir, capsys, config_file)["ids"]
    simulate = ["lab", "simulate", "--state-dir", str(state_dir), "--seed", "4"]
    assert main([*simulate, "--day", "2", "--out", str(workdir / "d2.csv")]) == 0
    assert main([*simulate, "--since", "2", "--out", str(workdir / "rest.csv")]) == 0
    capsys.readouterr()
    first, rest = pd.read_csv(workdir / "d2.csv", dtype=str), pd.read_csv(workdir / "rest.csv", dtype=str)
    assert sorted([*first["id"], *rest["id"]]) == sorted(ids) and len(first) and len(rest)
    assert observe(state_dir, workdir / "d2.csv", capsys)["metrics"] is None
    assert observe(state_dir, workdir / "rest.csv", capsys)["metrics"] is not None
    lab_config = workdir / "real.yaml"
    lab_config.write_text(
        yaml.safe_dump({**config, "oracle": {"name": "lab"}, "state_dir": str(workdir / "real")})
    )
    propose(workdir / "real", capsys, lab_config)
    assert (
        main(["lab", "simulate", "--state-dir", str(workdir / "real"), "--out", str(workdir / "x.csv")]) == 2
    )
    assert "name one to simulate" in capsys.readouterr().err


def test_module_plugin_names_of_a_policy_and_a_surrogate_run_the_same_campaign(workdir, tracking_uri):
    by_name = fast_config(workdir, tracking_uri, iterations=1, candidates={"source": "pool"})
    by_name["policy"], by_name["surrogate"] = {"name": "greedy"}, {"name": "forest"}
    by_module = {
        **by_name,
        "policy": {"name": "arcloop.policies.greedy:GreedyAcquisition"},
        "surrogate": {"name": "arcloop.surrogates.forest:ForestSurrogate", "params": {"n_estimators": 100}},
        "state_dir": str(workdir / "by-module"),
    }
    by_name["surrogate"]["params"] = {"n_estimators": 100}
    digests = []
    for config in (by_name, by_module):
        digests.append(drive(*preflight(config, resume=False), DirectExecutor())["history_sha256"])
    assert digests[0] == digests[1]
