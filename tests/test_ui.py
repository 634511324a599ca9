"""`arcloop ui`: the server goes down with it, a busy port says so, experiments open on their runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient
from served_prefect import free_port, wait_healthy

from arcloop.cli import main
from arcloop.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, start_run


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_sigterm_to_ui_takes_the_mlflow_server_down(workdir, tracking_uri):
    run_id = start_run(tracking_uri, "arcloop", "r", tags={}, params={})
    experiment_id = MlflowClient(tracking_uri).get_run(run_id).info.experiment_id
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    ui = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from arcloop.cli import run; run()",
            "ui",
            "--tracking-uri",
            tracking_uri,
            "--port",
            str(port),
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", timeout=180)
        line = ""
        while "MLflow UI" not in line:
            line = ui.stderr.readline()
        assert f"MLflow UI: http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs " in line
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=60) == 0
    finally:
        if ui.poll() is None:
            ui.kill()
    deadline = time.monotonic() + 10
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(port)
    # Nothing of the server's process group (job runner, workers) is left either.
    server_groups = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True
    ).stdout.split()
    assert [pid for pid in server_groups if int(pid) != os.getpid()] == []


def test_a_busy_port_is_one_line_naming_it(workdir, tracking_uri, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["ui", "--tracking-uri", tracking_uri, "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: port {port} on 127.0.0.1 is in use; choose another with --port"]


def test_experiments_arcloop_creates_open_on_their_runs(workdir, tracking_uri):
    run_id = start_run(tracking_uri, "kinds", "r", tags={}, params={})
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment(client.get_run(run_id).info.experiment_id)
    assert experiment.name == "kinds"
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"
    # An experiment made without the tag (an older arcloop) gets it on first use.
    bare = client.create_experiment("older")
    assert EXPERIMENT_KIND_TAG not in client.get_experiment(bare).tags
    start_run(tracking_uri, "older", "r", tags={}, params={})
    assert client.get_experiment(bare).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
