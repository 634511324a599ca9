"""Crash safety: SIGKILL a campaign mid-iteration, resume it, and get the uninterrupted campaign."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from campaign_support import fast_config
from mlflow.tracking import MlflowClient

from arcloop import tracking
from arcloop.campaign.plain import run_plain
from arcloop.campaign.run import DirectExecutor, drive, preflight
from arcloop.campaign.state import latest_checkpoint, load_checkpoint
from arcloop.campaign.steps import history_digest
from arcloop.cli import main
from arcloop.config import CampaignConfig, validated

ITERATIONS = 5
KILL_AFTER_CHECKPOINT = 2  # kill once iterations 0 and 1 are checkpointed: iteration 2 is in flight


@pytest.mark.slow  # a campaign killed mid-iteration and resumed: minutes; run in CI
def test_sigkill_mid_iteration_then_resume_matches_uninterrupted_run(
    prefect_harness, workdir, tracking_uri, capsys
):
    config = fast_config(workdir, tracking_uri, iterations=ITERATIONS)
    config_file = workdir / "campaign.yaml"
    config_file.write_text(yaml.safe_dump(config))
    state_dir = workdir / "state"

    child, child_log = spawn_campaign(workdir, config_file)
    deadline = time.monotonic() + 300
    try:
        while True:
            folder = latest_checkpoint(state_dir)
            if folder is not None and folder.name >= f"iter-{KILL_AFTER_CHECKPOINT:05d}":
                break
            assert child.poll() is None, child_log.read_text()[-2000:]
            assert time.monotonic() < deadline, "campaign did not reach the kill point in time"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    killed_state, _ = load_checkpoint(state_dir)
    checkpointed = killed_state.iteration
    assert KILL_AFTER_CHECKPOINT <= checkpointed < ITERATIONS

    assert main(["resume", str(state_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    final, _ = load_checkpoint(state_dir)
    reference = run_plain(validated(CampaignConfig, {**config, "state_dir": str(workdir / "reference")}))
    assert final.iteration == ITERATIONS
    assert history_digest(final) == history_digest(reference) == result["history_sha256"]
    assert final.history == reference.history

    # No iteration whose labels were checkpointed went to the oracle again (calls: the "asked" lines).
    lines = [json.loads(line) for line in (state_dir / "oracle_calls.jsonl").read_text().splitlines()]
    calls = Counter(line["iteration"] for line in lines if line["outcome"] == "asked")
    assert sorted(calls) == list(range(ITERATIONS))
    for iteration, count in calls.items():
        assert count == 1 or (count == 2 and iteration == checkpointed), (iteration, count)

    # One MLflow run holds the whole campaign, each step logged once.
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert [run.info.run_id for run in runs] == [killed_state.mlflow_run_id] == [result["mlflow_run_id"]]
    assert runs[0].info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(result["mlflow_run_id"], "discovery/discoveries")]
    assert sorted(steps) == list(range(ITERATIONS))
    assert Path(state_dir / "config.yaml").is_file()


class _Killed(BaseException):
    """Stands for a SIGKILL at one point of the loop (nothing after it runs)."""


class KilledAfterLogging(DirectExecutor):
    """Dies right after logging iteration ``at``: before the loop notes the step as logged."""

    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, step, *args, iteration):  # type: ignore[no-untyped-def]
        result = super().__call__(step, *args, iteration=iteration)
        if step is tracking.log_metrics and iteration == self.at:
            raise _Killed
        return result


def spawn_campaign(workdir: Path, config_file: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """``arcloop campaign --config FILE`` in a child process of its own group; its stderr in a file."""
    child_log = workdir / "child.log"
    env = {**os.environ, "PREFECT_HOME": str(workdir / "prefect-child")}
    with child_log.open("wb") as log:  # a file, not a pipe: a full pipe would stall the child
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from arcloop.cli import run; run()",
                "campaign",
                "--config",
                str(config_file),
                "--json",
            ],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # its own process group: the kill takes its Prefect server down too
        )
    return child, child_log


@pytest.mark.slow
def test_a_sigterm_in_the_first_seconds_is_one_line_and_the_campaign_resumes(
    prefect_harness, workdir, tracking_uri, capsys
):
    """SIGTERM before the campaign's own handlers are in place (config.yaml just written, Prefect not
    started): status 143 and one "stopped:" line, no traceback; ``arcloop resume`` then finishes it."""
    config = fast_config(workdir, tracking_uri, iterations=1)
    config_file = workdir / "campaign.yaml"
    config_file.write_text(yaml.safe_dump(config))
    state_dir = workdir / "state"
    child, child_log = spawn_campaign(workdir, config_file)
    try:
        deadline = time.monotonic() + 120
        while not (state_dir / "config.yaml").is_file():
            assert child.poll() is None and time.monotonic() < deadline, child_log.read_text()[-2000:]
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    err = child_log.read_text()
    assert child.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "Traceback" not in err and [line for line in err.splitlines() if line.startswith("stopped:")], err
    assert main(["resume", str(state_dir), "--json"]) == 0


def test_resume_after_a_kill_between_logging_and_noting_it_logs_each_step_once(workdir, tracking_uri):
    config = fast_config(workdir, tracking_uri, iterations=3)
    campaign, setup = preflight(config, resume=False)
    with pytest.raises(_Killed):
        drive(campaign, setup, KilledAfterLogging(at=1))
    campaign, setup = preflight(config, resume=True)
    result = drive(campaign, setup, DirectExecutor(), resume=True)
    client = MlflowClient(tracking_uri)
    for key in ("discovery/discoveries", "discovery/labels_paid", "bias/isoscore"):
        steps = sorted(m.step for m in client.get_metric_history(result["mlflow_run_id"], key))
        assert steps == [0, 1, 2], key
