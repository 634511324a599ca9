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


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[dict]:
    """The uninterrupted benchmark's summary."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    summary = run_to_end(grid_file(folder / "reference", "grid"))
    # Workers are reused: six campaigns (and the shared first fits) ran in the pool's two processes.
    ran_in = {json.loads(text)["worker_pid"] for text in outcomes(folder / "reference" / "out").values()}
    assert len(ran_in) <= 2, ran_in
    return summary


def spawn(config: Path, log: Path, **env: str) -> subprocess.Popen:
    with log.open("wb") as stderr:  # a file, not a pipe: a full pipe would stall the child
        return subprocess.Popen(
            benchmark_cli("--config", str(config)),
            cwd=config.parent,
            env={**cli_env(), "PREFECT_HOME": str(config.parent / "prefect"), **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group: the kill takes server and workers too
        )


def assert_as_uninterrupted(config: Path, folder: Path) -> None:
    """One parent run, FINISHED; one FINISHED run per campaign (none started twice), each iteration
    logged once."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{config.parent / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("bench").experiment_id
    parents = client.search_runs([experiment], "tags.kind = 'benchmark'")
    assert [(run.info.run_id, run.info.status) for run in parents] == [(folder.name, "FINISHED")]
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{folder.name}'")
    assert len(children) == 6 and {run.info.status for run in children} == {"FINISHED"}
    for run in children:
        steps = [point.step for point in client.get_metric_history(run.info.run_id, "discovery/hits")]
        assert steps == list(range(ITERATIONS)), (run.info.run_name, steps)


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", [first_seconds, mid_grid], ids=["first-seconds", "mid-grid"])
def test_sigkill_then_resume_gives_the_uninterrupted_summary(tmp_path, kill_point, reference):
    config = grid_file(tmp_path / "killed", "grid")
    out = config.parent / "out"
    log = config.parent / "child.log"
    child = spawn(config, log)
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
    assert_as_uninterrupted(config, folder)


@pytest.mark.slow
def test_killed_the_moment_its_parent_run_began_resumes_by_the_benchmarks_name(tmp_path, reference):
    """A kill between the parent run's creation and its folder's: no folder names the run, and
    ``--resume OUTPUT/NAME`` finds it in the store (the newest unfinished run of the benchmark)."""
    from arcloop import tracking

    config = grid_file(tmp_path / "killed", "grid")
    uri = f"sqlite:///{config.parent / 'mlruns.db'}"
    tags = {"kind": "benchmark", "benchmark": "tiny"}
    parent = tracking.start_run(uri, "bench", "benchmark-tiny", tags=tags, params={})
    assert not (config.parent / "out").exists()

    resumed = run_to_end(config, "--resume", str(config.parent / "out" / "tiny"))

    assert timeless(resumed) == timeless(reference)
    assert_as_uninterrupted(config, config.parent / "out" / "tiny" / parent)


@pytest.mark.slow
def test_resume_by_name_with_nothing_recorded_starts_the_benchmark(tmp_path, reference):
    """A kill before the parent run existed leaves nothing: ``--resume OUTPUT/NAME`` then starts it,
    so that one command resumes a benchmark killed at any moment."""
    config = grid_file(tmp_path / "killed", "grid")
    resumed = run_to_end(config, "--resume", str(config.parent / "out" / "tiny"))
    assert timeless(resumed) == timeless(reference)
    (folder,) = (config.parent / "out" / "tiny").iterdir()
    assert_as_uninterrupted(config, folder)


@pytest.mark.slow
def test_a_sigterm_during_a_long_fit_stops_at_once_and_says_how_to_resume(tmp_path):
    """A SIGTERM while a worker runs a long first fit: the benchmark stops within seconds (the fit
    is not waited for), ends its parent run as KILLED and says how to resume; a second SIGTERM,
    while that is done, is said and does not cut it short."""
    from mlflow.tracking import MlflowClient

    config = grid_file(tmp_path / "stopped", "grid")
    grid = yaml.safe_load(config.read_text())
    grid["campaign"]["model"] = {"max_epochs": 5000, "patience": None}  # minutes of fitting
    config.write_text(yaml.safe_dump(grid))
    log = config.parent / "child.log"
    child = spawn(config, log, ARCLOOP_CACHE_DIR=str(tmp_path / "cache"))
    try:
        deadline = time.monotonic() + 600
        while not first_seconds(config.parent / "out"):
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(2)  # the first fits are under way
        child.send_signal(signal.SIGTERM)
        first = time.monotonic()
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=600)
        to_exit = time.monotonic() - first
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    said = log.read_text()
    assert child.returncode == 128 + signal.SIGTERM, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    (folder,) = (config.parent / "out" / "tiny").iterdir()
    last = said.strip().splitlines()[-1]
    assert last.startswith("stopped:"), said[-3000:]
    # At once: a 5,000-epoch fit is minutes; the stop waits for none of it.
    assert to_exit < 30, to_exit
    assert not list((tmp_path / "cache").rglob("*.pt")), "the first fit ran to its end"
    client = MlflowClient(f"sqlite:///{config.parent / 'mlruns.db'}")
    status = client.get_run(folder.name).info.status
    if f"--resume {folder}" in last:  # the grid's own stop: its runs ended as KILLED
        assert status == "KILLED", said[-3000:]
    else:
        # A SIGTERM Prefect's flow engine answered first (TerminationSignal, seen once in CI): the
        # line names the benchmark, whose newest unfinished parent run --resume takes.
        assert last.endswith(f"--resume {folder.parent}") and status != "FINISHED", said[-3000:]
