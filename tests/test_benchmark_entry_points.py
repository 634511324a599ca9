"""The processes runner from every entry point: Python, the CLI, and a served deployment.

The bug these guard: Prefect's process pool and Dask pickle the task and the flow run's context (which
holds the flow). A decorated function is pickled by value with the globals its body names, so a
module-level registry holding the CLI's progress bar (and its lock) travelled with every campaign.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest
import yaml
from campaign_support import tiny_benchmark
from served_prefect import cli_env, served, trigger

from arcloop.campaign.state import CHECKPOINTS, LATEST
from arcloop.flows.benchmark import add_progress_listener, benchmark_flow, grid_flow, run_benchmark
from arcloop.tasks.benchmark import campaign_task


def smallest_grid(workdir: Path, tracking_uri: str, **overrides) -> dict:
    """greedy + random, one seed, one iteration of a batch of 4: two campaigns."""
    config = tiny_benchmark(workdir, tracking_uri, policies=[{"name": "greedy"}], seeds=[0], **overrides)
    config["campaign"] = {**config["campaign"], "iterations": 1, "batch_size": 4}
    return config


class LockedListener:
    """What the CLI registers: a listener that holds a lock (rich's progress bar does)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.events: list[dict] = []

    def __call__(self, event: dict) -> None:
        with self.lock:
            self.events.append(event)


def test_task_and_flows_pickle_while_a_listener_with_a_lock_is_registered():
    listener = LockedListener()
    remove = add_progress_listener(listener)
    try:
        for shipped in (campaign_task, grid_flow, benchmark_flow):
            restored = cloudpickle.loads(cloudpickle.dumps(shipped))
            assert restored.name == shipped.name
    finally:
        remove()


@pytest.mark.slow
def test_run_benchmark_on_processes_with_a_listener(prefect_harness, workdir, tracking_uri):
    listener = LockedListener()
    remove = add_progress_listener(listener)
    try:
        result = run_benchmark(smallest_grid(workdir, tracking_uri), runner="processes")
    finally:
        remove()
    assert result["n_campaigns"] == 2 and result["n_failed"] == 0
    assert {record["policy"] for record in result["summary"]} == {"greedy", "random"}
    assert [event["done"] for event in listener.events] == [1, 2]


@pytest.mark.slow
def test_cli_benchmark_on_processes_from_a_fresh_directory(workdir, tracking_uri):
    import psutil

    config = workdir / "grid.yaml"
    config.write_text(yaml.safe_dump(smallest_grid(workdir, tracking_uri, runner="processes")))
    command = [
        sys.executable,
        "-c",
        "from arcloop.cli import run; run()",
        "benchmark",
        "--config",
        str(config),
    ]
    servers: set[int] = set()  # Prefect API servers the benchmark's process tree started
    with (workdir / "out.txt").open("w") as out, (workdir / "err.txt").open("w") as err:
        child = subprocess.Popen([*command, "--json"], cwd=workdir, env=cli_env(), stdout=out, stderr=err)
        parent = psutil.Process(child.pid)
        deadline = time.monotonic() + 900
        while child.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(psutil.Error):
                for process in parent.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if any("create_app" in part for part in process.cmdline()):
                            servers.add(process.pid)
            time.sleep(0.2)
        child.wait(timeout=30)
    assert child.returncode == 0, (workdir / "err.txt").read_text()[-3000:]
    records = json.loads((workdir / "out.txt").read_text().strip().splitlines()[-1])
    assert {record["policy"] for record in records} == {"greedy", "random"}
    assert all(record["n_failed"] == 0 for record in records)
    # One ephemeral server, the CLI's: pool workers use it instead of each starting their own.
    assert len(servers) == 1, servers


@pytest.mark.slow
def test_served_benchmark_deployment_runs_on_processes(workdir, tracking_uri):
    (workdir / "grid.yaml").write_text(
        yaml.safe_dump(smallest_grid(workdir, tracking_uri, runner="processes"))
    )
    deployments = [
        {
            "name": "nightly-benchmark",
            "entrypoint": "arcloop/flows/benchmark.py:benchmark_flow",
            "parameters": {"config": "grid.yaml"},
            "schedules": [{"cron": "0 2 * * *", "timezone": "UTC"}],
        }
    ]
    with served(workdir, deployments) as env:
        output = trigger(env, workdir, "arcloop-benchmark/nightly-benchmark", timeout=840)
        assert "STATE COMPLETED" in output, output
        reports = list((workdir / "out" / "tiny").glob("*/report/summary.csv"))
        assert len(reports) == 1


def timeless(records: list[dict]) -> list[dict]:
    """Summary records without wall-clock figures, NaN as None (so that equal tables compare equal)."""
    return [
        {k: (None if v != v else v) for k, v in r.items() if "wall" not in k and "seconds" not in k}
        for r in records
    ]


def test_resume_reads_finished_campaigns_back_and_continues_the_others(
    prefect_harness, workdir, tracking_uri, capfd
):
    from mlflow.tracking import MlflowClient

    config = smallest_grid(workdir, tracking_uri, runner="threads")
    first = run_benchmark(config)
    folder = Path(first["output_dir"])
    # greedy's record of its end is damaged: said once, and it resumes from its final checkpoint.
    greedy_outcome = folder / "campaigns" / "greedy-rules-random-seed0" / "outcome.json"
    greedy_outcome.write_bytes(b'{"status": "ok", "summ\xff')
    random_outcome = (folder / "campaigns" / "random-rules-random-seed0" / "outcome.json").read_text()
    capfd.readouterr()
    second = run_benchmark(config, resume_dir=folder)
    said = capfd.readouterr().err
    assert said.count(f"{greedy_outcome}: damaged (UnicodeDecodeError); read back from its checkpoints") >= 1
    assert "Traceback" not in said
    assert json.loads(greedy_outcome.read_text())["status"] == "ok"  # written anew

    assert second["parent_run_id"] == first["parent_run_id"]
    assert timeless(second["summary"]) == timeless(first["summary"])
    assert (folder / "campaigns" / "random-rules-random-seed0" / "outcome.json").read_text() == random_outcome
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("bench").experiment_id
    parents = client.search_runs([experiment], "tags.kind = 'benchmark'")
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{first['parent_run_id']}'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 2  # one MLflow run per campaign start: none started twice


def test_resume_continues_a_campaign_killed_before_its_first_checkpoint_in_its_own_run(
    prefect_harness, workdir, tracking_uri
):
    """What SIGKILL leaves when it lands between a campaign's MLflow run and its first checkpoint:
    run.json (token, run id), a RUNNING run, no checkpoint. The resumed benchmark continues in that
    run instead of ending it KILLED and starting a second one."""
    import shutil

    from mlflow.tracking import MlflowClient

    config = smallest_grid(workdir, tracking_uri, runner="threads")
    first = run_benchmark(config)
    folder = Path(first["output_dir"])
    greedy = folder / "campaigns" / "greedy-rules-random-seed0"
    run_id = json.loads((greedy / "run.json").read_text())["mlflow_run_id"]
    for path in (greedy / "outcome.json", greedy / LATEST):
        path.unlink()
    shutil.rmtree(greedy / CHECKPOINTS)
    client = MlflowClient(tracking_uri)
    client.update_run(run_id, status="RUNNING")

    second = run_benchmark(config, resume_dir=folder)

    assert timeless(second["summary"]) == timeless(first["summary"])
    experiment = client.get_experiment_by_name("bench").experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{first['parent_run_id']}'")
    assert len(children) == 2
    assert client.get_run(run_id).info.status == "FINISHED"
