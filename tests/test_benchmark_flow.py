"""The benchmark flow: a grid of real campaigns on threads and on a Dask LocalCluster."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from campaign_support import tiny_benchmark
from mlflow.tracking import MlflowClient

from arcloop.flows.benchmark import run_benchmark

SUMMARY_KEYS = ("policy", "oracle", "scenario", "n_seeds", "n_failed")


def comparable(records: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(records).sort_values(["policy", "oracle", "scenario"]).reset_index(drop=True)
    return table.drop(columns=[c for c in table.columns if "wall" in c])


def test_threads_and_dask_give_the_same_summary_with_nested_runs(prefect_harness, workdir, tracking_uri):
    threads = run_benchmark(tiny_benchmark(workdir, tracking_uri, output_dir=str(workdir / "threads")))
    dask = run_benchmark(
        tiny_benchmark(workdir, tracking_uri, output_dir=str(workdir / "dask")), runner="dask"
    )

    for result in (threads, dask):
        assert result["n_campaigns"] == 6 and result["n_failed"] == 0
        assert {r["policy"] for r in result["summary"]} == {"greedy", "uncertainty", "random"}
        for record in result["summary"]:
            assert all(key in record for key in SUMMARY_KEYS)
            assert record["n_seeds"] == 2 and record["n_failed"] == 0
            assert not math.isnan(record["discovery/discoveries.final_mean"])
    pd.testing.assert_frame_equal(comparable(threads["summary"]), comparable(dask["summary"]))
    random = next(r for r in threads["summary"] if r["policy"] == "random")
    assert random["ef_vs_random.median"] == 1.0 and random["af_vs_random.median"] == 1.0

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("bench").experiment_id
    for result in (threads, dask):
        children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
        assert len(children) == 6
        assert {run.data.tags["policy"] for run in children} == {"greedy", "uncertainty", "random"}
        assert all(run.info.status == "FINISHED" for run in children)
        # One name, one meaning: the report's figure is the mean of what MLflow holds for each run.
        for record in result["summary"]:
            mine = [run for run in children if run.data.tags["policy"] == record["policy"]]
            logged = [run.data.metrics["discovery/discoveries"] for run in mine]
            assert record["discovery/discoveries.final_mean"] == sum(logged) / len(logged)
        parent = client.get_run(result["parent_run_id"])
        assert parent.info.status == "FINISHED" and parent.data.tags["kind"] == "benchmark"
        artifacts = {item.path for item in client.list_artifacts(result["parent_run_id"], "report")}
        for name in ("summary.csv", "summary.md", "campaigns.csv", "bias_vs_discovery.png"):
            assert f"report/{name}" in artifacts


def test_failing_campaigns_are_reported_not_raised(prefect_harness, workdir, tracking_uri):
    broken = {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 1.0}]}
    config = tiny_benchmark(
        workdir,
        tracking_uri,
        policies=[{"name": "greedy"}],
        oracles=[{"name": "rules"}, broken],
        seeds=[0],
    )
    config["campaign"]["oracle_calls"] = {"retries": 1}
    result = run_benchmark(config)
    assert result["n_campaigns"] == 4 and result["n_failed"] == 2
    rows = {(r["policy"], r["oracle"], r["n_seeds"], r["n_failed"]) for r in result["summary"]}
    assert rows == {
        ("greedy", "rules", 1, 0),
        ("random", "rules", 1, 0),
        ("greedy", "rules+flaky", 0, 1),
        ("random", "rules+flaky", 0, 1),
    }
    campaigns = pd.read_csv(f"{result['output_dir']}/report/campaigns.csv")
    failed = campaigns[campaigns["status"] == "failed"]
    assert len(failed) == 2 and failed["error"].str.contains("OracleFailure").all()
    assert "Failed campaigns" in (Path(result["output_dir"]) / "report" / "summary.md").read_text()
