"""Deployments against a real Prefect server: `arcloop serve`, a run triggered through the API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from campaign_support import fast_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} not healthy after {timeout} s")


TRIGGER = textwrap.dedent(
    """
    import sys, time
    from prefect.deployments import run_deployment
    deadline = time.monotonic() + 120
    while True:  # the deployment appears once `arcloop serve` has registered it
        try:
            run = run_deployment("arcloop-campaign/demo-campaign", timeout=420)
            break
        except Exception as error:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    print("STATE", run.state.type.value, run.state.name)
    """
)


@pytest.mark.slow
def test_served_campaign_deployment_runs_to_completion(workdir, tracking_uri):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(workdir / "prefect-server"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api,
    }
    config_file = workdir / "campaign.yaml"
    config = fast_config(workdir, tracking_uri, iterations=2)
    config_file.write_text(yaml.safe_dump(config))
    prefect_file = workdir / "prefect.yaml"
    prefect_file.write_text(
        yaml.safe_dump(
            {
                "name": "arcloop-test",
                "deployments": [
                    {
                        "name": "demo-campaign",
                        "entrypoint": "arcloop/flows/campaign.py:campaign_flow",
                        "parameters": {"config": config_file.name},
                        "schedules": [{"cron": "0 2 * * *", "timezone": "UTC"}],
                    }
                ],
            }
        )
    )
    server_env = {key: value for key, value in env.items() if key != "PREFECT_API_URL"}
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    serve = None
    try:
        wait_healthy(f"{api}/health", timeout=180)
        serve = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from arcloop.cli import run; run()",
                "serve",
                "--prefect-file",
                str(prefect_file),
            ],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        trigger = subprocess.run(
            [sys.executable, "-c", TRIGGER], env=env, cwd=workdir, capture_output=True, text=True, timeout=600
        )
        assert "STATE COMPLETED" in trigger.stdout, trigger.stdout[-2000:] + trigger.stderr[-3000:]
        states = list(Path(workdir / "state").iterdir())
        assert len(states) == 1 and (states[0] / "LATEST").is_file()  # one state folder per flow run
    finally:
        for process in (serve, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
