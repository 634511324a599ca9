"""A benchmark killed with SIGKILL mid-grid and resumed gives the uninterrupted benchmark's table.

The whole process group goes (the CLI, its Prefect server, the process pool's workers), as when a
machine's job is killed. The resumed run must read finished campaigns back without running them
again, continue the unfinished ones from their checkpoints, and end under the same MLflow parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from campaign_support import tiny_benchmark
from test_benchmark_entry_points import cli_env, timeless

from arcloop.grid import OUTCOME_FILE

ITERATIONS = 3


def benchmark_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from arcloop.cli import run; run()", "benchmark", *args, "--json"]


def grid_file(folder: Path, name: str) -> Path:
    """greedy, uncertainty + random × 2 seeds × 3 iterations on the processes runner: 6 campaigns."""
    folder.mkdir()
    config = tiny_benchmark(folder, f"sqlite:///{folder / 'mlruns.db'}", runner="processes", max_workers=2)
    config["campaign"] = {**config["campaign"], "iterations": ITERATIONS}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_to_end(config: Path, *extra: str) -> list[dict]:
    done = subprocess.run(
        benchmark_cli("--config", str(config), *extra),
        cwd=config.parent,
        env={**cli_env(), "PREFECT_HOME": str(config.parent / "prefect")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def outcomes(folder: Path) -> dict[str, str]:
    return {path.parent.name: path.read_text() for path in folder.glob(f"*/*/campaigns/*/{OUTCOME_FILE}")}


def first_seconds(out: Path) -> bool:
    """The benchmark's folder exists and no campaign has finished (its first fits are ahead)."""
    return any(out.glob("*/*/campaigns")) and not outcomes(out)


def mid_grid(out: Path) -> bool:
    """Some campaigns finished, the others not."""
    return len(outcomes(out)) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", [first_seconds, mid_grid], ids=["first-seconds", "mid-grid"])
def test_sigkill_then_resume_gives_the_uninterrupted_summary(tmp_path, kill_point):
    from mlflow.tracking import MlflowClient

    reference = run_to_end(grid_file(tmp_path / "reference", "grid"))
    # Workers are reused: six campaigns (and the shared first fits) ran in the pool's two processes.
    ran_in = {json.loads(text)["worker_pid"] for text in outcomes(tmp_path / "reference" / "out").values()}
    assert len(ran_in) <= 2, ran_in

    config = grid_file(tmp_path / "killed", "grid")
    out = config.parent / "out"
    log = config.parent / "child.log"
    with log.open("wb") as stderr:  # a file, not a pipe: a full pipe would stall the child
        child = subprocess.Popen(
            benchmark_cli("--config", str(config)),
            cwd=config.parent,
            env={**cli_env(), "PREFECT_HOME": str(config.parent / "prefect")},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group: the kill takes server and workers too
        )
    deadline = time.monotonic() + 600
    try:
        while not kill_point(out):
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the grid did not reach the kill point in time"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    finished_before = outcomes(out)
    assert len(finished_before) < 6, sorted(finished_before)
    if kill_point is first_seconds:  # killed before any campaign had a folder: during the first fits
        assert not list(out.glob("*/*/campaigns/*"))
    (folder,) = (out / "tiny").iterdir()

    resumed = run_to_end(config, "--resume", str(folder))

    assert timeless(resumed) == timeless(reference)
    after = outcomes(out)
    assert len(after) == 6
    # A campaign finished before the kill was read back, not run again (its record is untouched).
    assert {name: after[name] for name in finished_before} == finished_before

    client = MlflowClient(f"sqlite:///{config.parent / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("bench").experiment_id
    parents = client.search_runs([experiment], "tags.kind = 'benchmark'")
    assert [(run.info.run_id, run.info.status) for run in parents] == [(folder.name, "FINISHED")]
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{folder.name}'")
    # One MLflow run per campaign (none started twice), each finished, each iteration logged once.
    assert len(children) == 6 and {run.info.status for run in children} == {"FINISHED"}
    for run in children:
        steps = [point.step for point in client.get_metric_history(run.info.run_id, "discovery/hits")]
        assert steps == list(range(ITERATIONS)), (run.info.run_name, steps)
