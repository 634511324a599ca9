"""The multi-machine path on one machine: scripts/cluster-demo.sh brings up PostgreSQL behind a
Prefect server and an MLflow server, a Dask cluster, a process work pool with a Prefect worker and the
deployments of prefect.yaml; a benchmark triggered through the Prefect API runs on it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_benchmark_entry_points import smallest_grid

from arcloop.flows.benchmark import benchmark_flow, with_overrides

WORKTREE = Path(__file__).resolve().parents[1]
SCRIPT = WORKTREE / "scripts" / "cluster-demo.sh"


def test_overrides_point_a_config_at_a_cluster_and_a_tracking_server():
    config = {"name": "q", "runner": "processes", "tracking": {"uri": "sqlite:///a.db", "experiment": "e"}}
    assert with_overrides(config) == config
    assert with_overrides(config, dask_address="tcp://h:8786", tracking_uri="http://h:5000") == {
        "name": "q",
        "runner": "dask",  # an address means the Dask runner
        "dask_address": "tcp://h:8786",
        "tracking": {"uri": "http://h:5000", "experiment": "e"},
    }
    assert with_overrides(config, runner="threads")["runner"] == "threads"
    assert config["tracking"]["uri"] == "sqlite:///a.db"  # the caller's mapping is not changed
    # the names `prefect deploy --params` and `prefect deployment run --param` use
    assert {"runner", "dask_address", "tracking_uri"} <= set(benchmark_flow.parameters.properties)


def stack_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "MLFLOW_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # prefect, mlflow, dask
    env["PYTHON"] = sys.executable
    env["PYTHONPATH"] = str(WORKTREE)
    return env


def script(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=stack_env(), capture_output=True, text=True, timeout=timeout
    )


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in path.read_text().splitlines() if line)
    return dict(pairs)


def log_tails(state: Path, lines: int = 15) -> str:
    tails = []
    for log in sorted((state / "logs").glob("*.log")):
        tails.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
    return "\n".join(tails)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stack_processes(state: Path) -> dict[int, str]:
    """pid → command line of every process carrying the script's mark for ``state`` (Linux)."""
    mark = f"ARCLOOP_CLUSTER_STATE={state}".encode()
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (proc / "environ").read_bytes().split(b"\0"):
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
    return found


def recorded_ports(state: Path) -> dict[str, int]:
    ports_file = state / "ports"
    if not ports_file.exists():
        return {}
    return {key: int(value) for key, value in read_env_file(ports_file).items()}


def left_behind(state: Path, ports: dict[str, int]) -> dict[str, object]:
    """What a stopped stack still has: its processes, its listening ports."""
    return {
        "processes": stack_processes(state),
        "ports": {name: port for name, port in ports.items() if port_open(port)},
    }


def require_postgres() -> None:
    """PostgreSQL is needed; CI installs it (.ci/run), elsewhere the test is skipped without it."""
    found = subprocess.run(["bash", str(SCRIPT), "pg-bin"], capture_output=True, text=True)
    if found.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL not found on CI: .ci/run should have installed it")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql, or set PG_BIN)")


TRIGGER = """
import json, sys, asyncio
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

name = "arcloop-benchmark/nightly-benchmark"
run = run_deployment(name, parameters={"config": sys.argv[1]}, timeout=900)

async def deployment():
    async with get_client() as client:
        found = await client.read_deployment_by_name(name)
        return {
            "parameters": found.parameters,
            "crons": [s.schedule.cron for s in found.schedules],
            "pool": found.work_pool_name,
        }

print("STATE", run.state.type.value, run.state.name)
print("DEPLOYMENT", json.dumps(asyncio.run(deployment())))
"""

# What a Dask cluster ran: per worker, its tasks executed ("executed") and those that finished, by
# task prefix ("finished", from the worker's transition log); per prefix, the scheduler's running
# count of tasks that entered each state ("prefixes"). Two independent counts of the same tasks.
DASK_COUNTS = """
import json, sys
from collections import Counter
from dask.utils import key_split
from distributed import Client

def finished(dask_worker):
    return Counter(
        key_split(entry[0]) for entry in dask_worker.state.log
        # a transition: (key, start, recommended, final, recommendations, stimulus_id, time)
        if len(entry) == 7 and isinstance(entry[0], str) and entry[1] == "executing" and entry[3] == "memory"
    )

with Client(sys.argv[1], timeout=10) as client:
    executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    by_worker = client.run(finished)
    prefixes = client.run_on_scheduler(
        lambda dask_scheduler: {k: dict(v.state_counts) for k, v in dask_scheduler.task_prefixes.items()}
    )
print(json.dumps({"executed": executed, "finished": by_worker, "prefixes": prefixes}))
"""


def campaigns_per_worker(dask: dict) -> list[int]:
    """How many campaign tasks each worker of the cluster finished, fewest first."""
    return sorted(counts.get("campaign_task", 0) for counts in dask["finished"].values())


@pytest.mark.slow
def test_cluster_stack_runs_a_deployed_benchmark_on_dask_with_runs_on_the_mlflow_server(tmp_path):
    from mlflow.tracking import MlflowClient

    require_postgres()
    state = tmp_path / "cluster"
    ports: dict[str, int] = {}
    try:
        up = script("up", str(state))
        ports = recorded_ports(state)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:] + log_tails(state)
        assert script("status", str(state)).returncode == 0
        stack = read_env_file(state / "env")
        assert set(ports) == {"PG_PORT", "PREFECT_PORT", "MLFLOW_PORT", "DASK_PORT"}
        assert all(port_open(port) for port in ports.values())

        # The grid's own file says processes and a local store: the deployment's parameters
        # (set by the script) send it to the Dask cluster and the MLflow server instead.
        local_store = tmp_path / "local-mlruns.db"
        grid = smallest_grid(tmp_path, f"sqlite:///{local_store}", runner="processes")
        grid_file = tmp_path / "grid.yaml"
        grid_file.write_text(yaml.safe_dump(grid))
        env = {**stack_env(), "PREFECT_API_URL": stack["PREFECT_API_URL"]}
        env["PREFECT_HOME"] = str(tmp_path / "client-prefect-home")
        trigger = subprocess.run(
            [sys.executable, "-c", TRIGGER, str(grid_file)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=960,
        )
        assert "STATE COMPLETED" in trigger.stdout, (
            trigger.stdout[-2000:] + trigger.stderr[-3000:] + log_tails(state, 40)
        )
        deployment = json.loads(trigger.stdout.split("DEPLOYMENT", 1)[1])
        assert deployment["crons"] == ["0 2 * * *"] and deployment["pool"] == "arcloop"  # from prefect.yaml
        assert deployment["parameters"]["dask_address"] == stack["ARCLOOP_DASK_ADDRESS"]
        assert deployment["parameters"]["tracking_uri"] == stack["MLFLOW_TRACKING_URI"]

        # The runs, read through the MLflow server (its store is the PostgreSQL database).
        client = MlflowClient(tracking_uri=stack["MLFLOW_TRACKING_URI"])
        experiment = client.get_experiment_by_name("bench")
        assert experiment is not None
        parents = client.search_runs([experiment.experiment_id], "tags.kind = 'benchmark'")
        assert [run.info.status for run in parents] == ["FINISHED"]
        parent_id = parents[0].info.run_id
        children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
        assert sorted(run.info.run_name for run in children) == [
            "greedy-rules-random-seed0",
            "random-rules-random-seed0",
        ]
        assert all(run.info.status == "FINISHED" and run.data.metrics for run in children)
        reported = {artifact.path for artifact in client.list_artifacts(parent_id, "report")}
        assert "report/summary.csv" in reported  # uploaded through the server's artifact proxy
        assert not local_store.exists()

        # The two campaigns ran on the Dask workers: the scheduler's count and the workers' agree.
        counts = subprocess.run(
            [sys.executable, "-c", DASK_COUNTS, stack["ARCLOOP_DASK_ADDRESS"]],
            env=stack_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert counts.returncode == 0, counts.stderr[-2000:]
        dask = json.loads(counts.stdout)
        # two campaigns after the iteration-0 fit they share (main's first_fit_task), on the workers
        assert dask["prefixes"].get("campaign_task", {}).get("memory") == 2, dask
        assert dask["prefixes"].get("first_fit_task", {}).get("memory") == 1, dask
        assert len(dask["executed"]) == 2 and sum(dask["executed"].values()) == 3, dask
        assert sum(campaigns_per_worker(dask)) == 2, dask
    finally:
        ports = ports or recorded_ports(state)
        down = script("down", str(state), "--purge", timeout=180)
    assert down.returncode == 0, down.stderr[-2000:]
    assert not state.exists()
    assert left_behind(state, ports) == {"processes": {}, "ports": {}}


@pytest.mark.slow
def test_an_up_that_fails_halfway_stops_what_it_started_and_down_purge_removes_the_rest(tmp_path):
    """The Prefect server cannot bind its port: by then PostgreSQL runs, the MLflow server is
    starting and the Dask cluster comes up; `up` must fail naming the part and stop all of them."""
    require_postgres()
    state = tmp_path / "cluster"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports: dict[str, int] = {}
        try:
            up = subprocess.run(
                ["bash", str(SCRIPT), "up", str(state)],
                env={**stack_env(), "ARCLOOP_PREFECT_PORT": str(busy)},
                capture_output=True,
                text=True,
                timeout=600,
            )
            ports = {name: port for name, port in recorded_ports(state).items() if port != busy}
            assert up.returncode == 1, up.stdout[-2000:] + up.stderr[-3000:]
            assert "cluster-demo: prefect-server exited" in up.stderr, up.stderr[-3000:]
            assert "up failed; stopping what started" in up.stderr
            assert (state / "logs" / "dask-worker-2.log").exists()  # the cluster had been started
            assert left_behind(state, ports) == {"processes": {}, "ports": {}}
            assert (state / "logs" / "prefect-server.log").exists()  # logs kept for the user
        finally:
            down = script("down", str(state), "--purge", timeout=180)
        assert down.returncode == 0, down.stderr[-2000:]
        assert not state.exists()
        assert left_behind(state, ports) == {"processes": {}, "ports": {}}
