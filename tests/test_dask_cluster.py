"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1 (the
`distributed` CLI), a grid through `arcloop benchmark --runner dask --dask-address`, and the same grid
on the processes runner: the same summary, and the campaigns ran on the two external workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from served_prefect import free_port
from test_benchmark_entry_points import smallest_grid
from test_cluster_stack import DASK_COUNTS, campaigns_per_worker

from arcloop.cli.benchmark import stop_group
from arcloop.models.cache import MODEL_FILE

WORKTREE = Path(__file__).resolve().parents[1]
DASK_BIN = Path(sys.executable).parent / "dask"

WORKERS_READY = """
import sys
from distributed import Client
with Client(sys.argv[1], timeout=10) as client:
    client.wait_for_workers(int(sys.argv[2]), timeout=float(sys.argv[3]))
    print(sorted(w["name"] for w in client.scheduler_info()["workers"].values()))
"""


def env_with(cache: Path) -> dict[str, str]:
    """This checkout on the path; trained models cached in ``cache`` (each side fits its own)."""
    env = {key: value for key, value in os.environ.items() if key != "ARCLOOP_CACHE_DIR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PYTHONPATH": str(WORKTREE), "ARCLOOP_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}


def cli_benchmark(folder: Path, env: dict[str, str], *options: str) -> list[dict]:
    """``arcloop benchmark --config grid.yaml --json OPTIONS`` run from ``folder`` (a fresh one, holding
    its own grid file, MLflow store and outputs); the JSON summary records it prints."""
    folder.mkdir()
    grid = smallest_grid(folder, f"sqlite:///{folder / 'mlruns.db'}", runner="processes")
    (folder / "grid.yaml").write_text(yaml.safe_dump(grid))
    command = [sys.executable, "-c", "from arcloop.cli import run; run()", "benchmark"]
    done = subprocess.run(
        [*command, "--config", "grid.yaml", *options, "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def models_in(cache: Path) -> list[Path]:
    """The trained models a run left in its cache folder."""
    return list((cache / "models").glob(f"*/{MODEL_FILE}"))


@pytest.mark.slow
def test_benchmark_on_an_external_dask_cluster_matches_the_processes_runner(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    cluster_dir = tmp_path / "cluster"
    cluster_dir.mkdir()
    workers_cache = tmp_path / "cache-workers"
    cluster_env = env_with(workers_cache)
    logs = []
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        log = open(cluster_dir / f"{name}.log", "w")  # noqa: SIM115  (closed in the finally)
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [str(DASK_BIN), *args],
                cwd=cluster_dir,
                env=cluster_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the nanny's worker process goes with it
            )
        )

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        for name in ("worker-a", "worker-b"):
            start(name, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1")
        ready = subprocess.run(
            [sys.executable, "-c", WORKERS_READY, address, "2", "120"],
            env=cluster_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ready.returncode == 0, ready.stderr[-2000:]

        client_cache = tmp_path / "cache-cli-dask"
        started = time.monotonic()
        on_dask = cli_benchmark(
            tmp_path / "dask-run", env_with(client_cache), "--runner", "dask", "--dask-address", address
        )
        dask_seconds = time.monotonic() - started
        started = time.monotonic()
        on_processes = cli_benchmark(
            tmp_path / "processes-run", env_with(tmp_path / "cache-processes"), "--runner", "processes"
        )
        processes_seconds = time.monotonic() - started
        print(f"dask run {dask_seconds:.0f} s, processes run {processes_seconds:.0f} s")

        counts = subprocess.run(
            [sys.executable, "-c", DASK_COUNTS, address],
            env=cluster_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert counts.returncode == 0, counts.stderr[-2000:]
        dask = json.loads(counts.stdout)
    finally:
        for process in reversed(processes):
            stop_group(process)
        for log in logs:
            log.close()

    assert {record["policy"] for record in on_dask} == {"greedy", "random"}
    assert all(record["n_seeds"] == 1 and record["n_failed"] == 0 for record in on_dask)
    assert on_dask == on_processes  # every figure of the summary, bit for bit (NaN printed as null)
    # The shared iteration-0 fit and the two campaigns were tasks of this scheduler, and the two
    # external workers ran them: a campaign each (the scheduler's count and the workers' agree) ...
    assert dask["prefixes"].get("first_fit_task", {}).get("memory") == 1, dask
    assert dask["prefixes"].get("campaign_task", {}).get("memory") == 2, dask
    assert sum(dask["executed"].values()) == 3 and campaigns_per_worker(dask) == [1, 1], dask
    # ... and the models were fitted there: in the workers' cache, none in the CLI's.
    assert models_in(workers_cache) and not models_in(client_cache)
