"""Operations: many campaigns on a new store, kills before the first checkpoint, SIGTERM, resume.

Every campaign here is a real `arcloop` process (its own Prefect ephemeral server, a real MLflow
store in the test's folder); resumes go through `arcloop resume` in a process too, with the same
PREFECT_HOME, so that the Prefect flow runs the kill left behind can be read back.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from campaign_support import fast_config
from mlflow.tracking import MlflowClient

import arcloop
from arcloop import tracking
from arcloop.campaign.plain import run_plain
from arcloop.campaign.state import latest_checkpoint, load_checkpoint
from arcloop.campaign.steps import history_digest
from arcloop.config import CampaignConfig, validated

ITERATIONS = 3
CLI = [sys.executable, "-c", "from arcloop.cli import run; run()"]
SOURCE_ROOT = str(Path(arcloop.__file__).resolve().parents[1])
FLOW_STATES = """
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    print(sorted(run.state.type.value for run in client.read_flow_runs()))
"""


def _env(prefect_home: Path) -> dict[str, str]:
    return {**os.environ, "PREFECT_HOME": str(prefect_home), "PYTHONPATH": SOURCE_ROOT}


def _start(args: list[str], workdir: Path, prefect_home: Path, log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:  # a file, not a pipe: a full pipe would stall the child
        return subprocess.Popen(
            [*CLI, *args],
            cwd=workdir,
            env=_env(prefect_home),
            stdout=subprocess.DEVNULL,
            stderr=handle,
            start_new_session=True,  # its own process group, its Prefect server in it
        )


def _wait_for(
    condition: Callable[[], bool], child: subprocess.Popen, log: Path, timeout: float = 300
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the campaign did not reach the point in time"
        time.sleep(0.001)


def _resume(workdir: Path, state_dir: Path, prefect_home: Path) -> dict:
    done = subprocess.run(
        [*CLI, "resume", str(state_dir), "--json"],
        cwd=workdir,
        env=_env(prefect_home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"result": json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr}


def _flow_run_states(workdir: Path, prefect_home: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FLOW_STATES],
        cwd=workdir,
        env=_env(prefect_home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def _check_uninterrupted(config: dict, state_dir: Path, tracking_uri: str, result: dict) -> None:
    """The resumed campaign is the uninterrupted one: same history, one MLflow run, each step once."""
    final, _ = load_checkpoint(state_dir)
    reference = run_plain(validated(CampaignConfig, {**config, "state_dir": str(state_dir.parent / "ref")}))
    assert final.iteration == ITERATIONS
    assert final.history == reference.history
    assert history_digest(final) == history_digest(reference) == result["history_sha256"]
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert [run.info.run_id for run in runs] == [result["mlflow_run_id"]]
    assert runs[0].info.status == "FINISHED"
    for key in ("discovery/discoveries", "discovery/labels_paid"):
        steps = [m.step for m in client.get_metric_history(result["mlflow_run_id"], key)]
        assert sorted(steps) == list(range(ITERATIONS)), key


def _run_id_recorded(state_dir: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return bool(json.loads((state_dir / "run.json").read_text()).get("mlflow_run_id"))
    return False


@pytest.mark.slow  # subprocesses killed and resumed: minutes; run in CI
@pytest.mark.parametrize("kill_point", ["config_written", "run_created"])
def test_sigkill_before_the_first_checkpoint_then_resume(workdir, tracking_uri, kill_point):
    config = fast_config(workdir, tracking_uri, iterations=ITERATIONS)
    (workdir / "campaign.yaml").write_text(yaml.safe_dump(config))
    state_dir, home, log = workdir / "state", workdir / "prefect", workdir / "child.log"
    child = _start(["campaign", "--config", "campaign.yaml", "--json"], workdir, home, log)
    reached = {
        "config_written": lambda: (state_dir / "config.yaml").is_file(),
        "run_created": lambda: _run_id_recorded(state_dir),
    }[kill_point]
    try:
        _wait_for(reached, child, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert (state_dir / "config.yaml").is_file() and latest_checkpoint(state_dir) is None

    resumed = _resume(workdir, state_dir, home)
    _check_uninterrupted(config, state_dir, tracking_uri, resumed["result"])
    if kill_point == "run_created":
        assert "continuing MLflow run" in resumed["stderr"]
    if kill_point == "config_written":
        # config.yaml is written before Prefect starts: the kill left no flow run behind.
        assert _flow_run_states(workdir, home) == ["COMPLETED"]
    else:  # the flow run the kill left RUNNING is marked Crashed by the resume
        assert _flow_run_states(workdir, home) == ["COMPLETED", "CRASHED"]


@pytest.mark.slow  # subprocesses killed and resumed: minutes; run in CI
def test_sigterm_stops_the_campaign_killed_and_resumable(workdir, tracking_uri):
    config = fast_config(workdir, tracking_uri, iterations=ITERATIONS)
    (workdir / "campaign.yaml").write_text(yaml.safe_dump(config))
    state_dir, home, log = workdir / "state", workdir / "prefect", workdir / "child.log"
    child = _start(["campaign", "--config", "campaign.yaml", "--json"], workdir, home, log)
    try:
        _wait_for(
            lambda: (
                latest_checkpoint(state_dir) is not None and latest_checkpoint(state_dir).name >= "iter-00001"
            ),
            child,
            log,
        )
        child.send_signal(signal.SIGTERM)  # to the CLI process only, as `kill PID` does
        code = child.wait(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    stderr = log.read_text().strip().splitlines()
    assert code == 128 + signal.SIGTERM, stderr[-20:]
    assert stderr[-1].startswith("stopped: campaign stopped at iteration ")
    assert stderr[-1].endswith(f"resume with: arcloop resume {state_dir}")
    stopped, _ = load_checkpoint(state_dir)
    assert 1 <= stopped.iteration < ITERATIONS
    client = MlflowClient(tracking_uri)
    assert client.get_run(stopped.mlflow_run_id).info.status == "KILLED"
    assert _flow_run_states(workdir, home) == ["CANCELLED"]

    resumed = _resume(workdir, state_dir, home)
    _check_uninterrupted(config, state_dir, tracking_uri, resumed["result"])
    assert resumed["result"]["mlflow_run_id"] == stopped.mlflow_run_id
    assert _flow_run_states(workdir, home) == ["CANCELLED", "COMPLETED"]


@pytest.mark.slow  # subprocesses killed and resumed: minutes; run in CI
def test_four_campaigns_at_once_on_a_store_that_does_not_exist_yet(workdir):
    uri = f"sqlite:///{workdir / 'shared.db'}"
    assert not (workdir / "shared.db").exists()
    children = []
    for seed in range(4):
        config = fast_config(workdir, uri, iterations=2, seed=seed, state_dir=str(workdir / f"state-{seed}"))
        (workdir / f"c{seed}.yaml").write_text(yaml.safe_dump(config))
        log = workdir / f"child-{seed}.log"
        home = workdir / f"prefect-{seed}"  # its own Prefect server: the race under test is MLflow's
        children.append(
            (_start(["campaign", "--config", f"c{seed}.yaml", "--json"], workdir, home, log), log)
        )
    for child, log in children:
        assert child.wait(timeout=600) == 0, log.read_text()[-3000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert len(runs) == 4 and {run.info.status for run in runs} == {"FINISHED"}
    for seed in range(4):
        state, _ = load_checkpoint(workdir / f"state-{seed}")
        (run,) = [run for run in runs if run.info.run_id == state.mlflow_run_id]
        for key, value in state.metrics[0].items():
            if value == value and abs(value) != float("inf"):  # undefined values are not logged
                steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
                assert sorted(steps) == [0, 1], (seed, key)


@pytest.mark.slow
def test_a_store_killed_while_being_made_is_never_left_half_made(workdir):
    """SIGKILL at growing moments while a process makes a new SQLite store: afterwards the store is
    either absent or whole (it opens, and a campaign could use it). MLflow cannot migrate a store
    whose schema a kill cut in half; arcloop makes it under a staging name and renames it."""
    code = "import sys; from arcloop.tracking import ensure_store; ensure_store(sys.argv[1])"
    outcomes = []
    for attempt, delay in enumerate(0.75 + 0.25 * step for step in range(18)):  # 0.75 .. 5 s
        path = workdir / f"store-{attempt}.db"
        child = subprocess.Popen([sys.executable, "-c", code, f"sqlite:///{path}"])
        time.sleep(delay)
        child.kill()
        child.wait()
        if path.exists():
            MlflowClient(f"sqlite:///{path}").search_experiments(max_results=1)  # whole, or this raises
            tracking.ensure_store(f"sqlite:///{path}")
        outcomes.append((child.returncode, path.exists()))
    # The kills landed before, during and after the making: some stores absent, some whole.
    assert {exists for _, exists in outcomes} == {True, False}, outcomes
