"""The lab campaign flow against a real `prefect server`: it suspends while a batch is in the
laboratory, holds no process meanwhile, and is resumed with results through the API and through
`arcloop observe`, finishing in the same MLflow run as the command-line loop would."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import psutil
import pytest
import yaml
from campaign_support import fast_config
from mlflow.tracking import MlflowClient
from served_prefect import ARCLOOP, served, trigger

from arcloop.campaign.asktell import batch_compositions, batch_path
from arcloop.campaign.run import DirectExecutor, drive, preflight, read_run_record
from arcloop.campaign.setup import rng_for
from arcloop.campaign.state import load_checkpoint
from arcloop.campaign.steps import history_digest
from arcloop.oracles import build_oracle
from arcloop.oracles.lab import RESULT_COLUMN, SimulatedLab


def flow_run_state(flow_run_id: str) -> tuple[str, str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return state.type.value, state.name


def wait_for(flow_run_id: str, names: set[str], timeout: float, log: Path) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kind, name = flow_run_state(flow_run_id)
        if name in names:
            return name
        assert kind not in ("FAILED", "CRASHED", "CANCELLED"), name + log.read_text()[-4000:]
        time.sleep(1)
    raise AssertionError(f"flow run not {names} after {timeout} s: {name}\n" + log.read_text()[-4000:])


def processes_of(flow_run_id: str) -> list[int]:
    """Processes whose environment names the flow run (the runner starts each run with it)."""
    held = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if any(flow_run_id in value for value in process.environ().values()):
                held.append(process.pid)
    return held


def suspended_without_a_process(flow_run_id: str, log: Path) -> None:
    wait_for(flow_run_id, {"Suspended"}, timeout=420, log=log)
    deadline = time.monotonic() + 60
    while processes_of(flow_run_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_of(flow_run_id) == [], "a process still holds the suspended flow run"


def lab_answers(state_dir: Path, iteration: int, seed: int) -> list[dict]:
    ids, X = batch_compositions(batch_path(state_dir, iteration))
    lab = SimulatedLab(build_oracle("rules"), seed=5)
    results = SimulatedLab.arrived(lab.run(ids, X, iteration, rng_for(seed, iteration, "oracle", 1)), 1e9)
    return [
        {"id": row["id"], RESULT_COLUMN: int(row[RESULT_COLUMN])}
        if row[RESULT_COLUMN]
        else {"id": row["id"], "status": row["status"]}
        for row in results.to_dict("records")
    ]


@pytest.mark.slow
def test_lab_flow_suspends_holds_no_process_and_resumes_with_results(workdir, tracking_uri, monkeypatch):
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    config = fast_config(workdir, tracking_uri, iterations=2, state_dir=str(workdir / "lab-state"))
    (workdir / "lab.yaml").write_text(yaml.safe_dump(config))
    state_dir = Path(config["state_dir"])
    deployments = [
        {
            "name": "lab",
            "entrypoint": "arcloop/flows/lab.py:lab_campaign_flow",
            "parameters": {"config": "lab.yaml"},
        }
    ]
    log = workdir / "serve.log"
    with served(workdir, deployments) as env, temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        output = trigger(env, workdir, "arcloop-lab-campaign/lab", timeout=0)
        flow_run_id = output.split("FLOW_RUN")[1].split()[0]

        suspended_without_a_process(flow_run_id, log)
        first_record = read_run_record(state_dir)
        assert first_record["waiting_flow_run_id"] == flow_run_id
        # Results of batch 0 through the API (the Prefect UI's input form sends the same input).
        resume_flow_run(UUID(flow_run_id), run_input={"results": lab_answers(state_dir, 0, config["seed"])})

        suspended_without_a_process(flow_run_id, log)
        assert load_checkpoint(state_dir)[0].iteration == 1
        # Results of batch 1 through `arcloop observe`, which resumes the waiting run.
        results = workdir / "batch1.csv"
        rows = lab_answers(state_dir, 1, config["seed"])
        results.write_text(
            f"id,{RESULT_COLUMN},status\n"
            + "".join(f"{row['id']},{row.get(RESULT_COLUMN, '')},{row.get('status', '')}\n" for row in rows)
        )
        observed = subprocess.run(
            [sys.executable, "-c", ARCLOOP, "observe", "--state-dir", str(state_dir), str(results), "--json"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert observed.returncode == 0, observed.stderr[-3000:]
        assert json.loads(observed.stdout)["resumed_flow_run"] == flow_run_id
        wait_for(flow_run_id, {"Completed"}, timeout=420, log=log)

    lab_state, _ = load_checkpoint(state_dir)
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert [run.info.run_id for run in runs] == [first_record["mlflow_run_id"]] == [lab_state.mlflow_run_id]
    assert runs[0].info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(runs[0].info.run_id, "discovery/discoveries")] == [0, 1]
    # the same campaign as the synchronous loop of the same seed
    sync_config = fast_config(workdir, tracking_uri, iterations=2, state_dir=str(workdir / "sync"))
    sync_config["tracking"] = {"uri": tracking_uri, "experiment": "sync"}
    drive(*preflight(sync_config, resume=False), DirectExecutor())
    assert history_digest(lab_state) == history_digest(load_checkpoint(workdir / "sync")[0])
