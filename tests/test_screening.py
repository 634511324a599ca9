"""Screening campaigns end to end: the real CLI, Prefect flow and MLflow store, on a packaged dataset
and on a user's CSV written here; resume; the benchmark on a process pool."""

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from arcloop.cli import main
from arcloop.screening.config import ScreeningConfig
from arcloop.screening.loop import STATE_FILE, run_screening


def user_table(path):
    """A formula column and a continuous property with a unit: hardness peaks at Fe40Ni30Co30."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(80):
        a = rng.dirichlet([2, 2, 2])
        hardness = 10 - 40 * np.sum((a - [0.4, 0.3, 0.3]) ** 2)
        rows.append(
            {"formula": f"Fe{100 * a[0]:.1f}Ni{100 * a[1]:.1f}Co{100 * a[2]:.1f}", "hardness": hardness}
        )
    pd.DataFrame(rows).to_csv(path, index=False)


def test_a_crossed_barrel_campaign_from_the_cli_lands_in_mlflow(workdir, prefect_harness, capsys):
    uri = f"sqlite:///{workdir}/mlruns.db"
    args = ["campaign", "--dataset", "crossed-barrel", "--iterations", "8", "--policy", "lcb"]
    assert main([*args, "--tracking-uri", uri, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["experiments"] == 10 and result["n_targets"] == 30
    history = pd.read_csv(workdir / "arcloop-state" / "history.csv")
    assert len(history) == 10 and history["target"].sum() == result["targets_found"]
    run = MlflowClient(uri).get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["dataset"] == "crossed-barrel"
    found = MlflowClient(uri).get_metric_history(run.info.run_id, "discovery/targets_found")
    # one reading per experiment count paid (2 initial, then one per iteration); the last is a recount
    assert [m.step for m in found] == list(range(2, 11))
    assert found[-1].value == history["target"].sum()


def test_a_users_csv_with_a_continuous_target_runs_campaign_and_benchmark(workdir, prefect_harness, capsys):
    user_table(workdir / "alloys.csv")
    (workdir / "campaign.yaml").write_text(
        "dataset: {path: alloys.csv, properties: {hardness: {unit: GPa}}}\n"
        "target: {property: hardness, goal: maximize, top_fraction: 0.1, min_elements: 3}\n"
        "iterations: 6\nbatch_size: 2\npolicy: {name: ei}\n"
    )
    assert (
        main(
            ["campaign", "--config", "campaign.yaml", "--tracking-uri", f"sqlite:///{workdir}/m.db", "--json"]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["experiments"] == 2 + 6 * 2 and result["n_targets"] == 8
    (workdir / "bench.yaml").write_text(
        "name: mine\ndatasets: [{path: alloys.csv}]\n"
        "targets: {alloys: {property: hardness, goal: maximize, top_fraction: 0.1}}\n"
        "methods: [{label: RF-EI}, {label: random, policy: {name: random}}]\n"
        "seeds: 2\ncampaign: {iterations: 10}\nmax_workers: 2\ntracking: null\n"
    )
    assert main(["benchmark", "--config", "bench.yaml", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["campaigns"] == 4
    table = (workdir / "arcloop-output" / "mine" / "table.md").read_text()
    assert "| alloys | RF-EI |" in table and "random (exact)" in table


def test_a_resumed_campaign_is_the_uninterrupted_one(tmp_path):
    def config(folder, iterations):
        return ScreeningConfig(
            dataset={"name": "autoam"}, surrogate={"name": "gp"}, policy={"name": "thompson"},
            iterations=iterations, tracking=None, state_dir=tmp_path / folder, seed=3,
        )  # fmt: skip

    _, whole = run_screening(config("whole", 12))
    run_screening(config("cut", 5))
    _, resumed = run_screening(config("cut", 12), resume=True)
    assert resumed.picked == whole.picked
    assert json.dumps(resumed.metrics, sort_keys=True) == json.dumps(whole.metrics, sort_keys=True)
    with pytest.raises(Exception, match="already holds a campaign"):
        run_screening(config("cut", 12))


def test_a_damaged_checkpoint_is_one_line(tmp_path, capsys):
    folder = tmp_path / "state"
    run_screening(ScreeningConfig(dataset={"name": "autoam"}, iterations=2, tracking=None, state_dir=folder))
    (folder / STATE_FILE).write_text('{"picked": [1, 2')
    assert main(["resume", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and err.count("\n") == 1


def test_random_does_not_beat_its_exact_expectation_by_much_and_models_do(tmp_path):
    """The readings move the right way: over 5 seeds on crossed barrel, random's mean Top % after 60
    experiments is near 60/600, a forest with EI finds several times more."""
    tops = {}
    for policy in ("random", "ei"):
        values = []
        for seed in range(5):
            c = ScreeningConfig(dataset={"name": "crossed-barrel"}, policy={"name": policy}, iterations=58,
                                tracking=None, state_dir=tmp_path / f"{policy}{seed}", seed=seed)  # fmt: skip
            _, state = run_screening(c)
            values.append(state.metrics[-1]["discovery/top_fraction_found"])
        tops[policy] = float(np.mean(values))
    assert tops["random"] < 0.25
    assert tops["ei"] > 2 * tops["random"] + 0.1
