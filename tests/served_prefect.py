"""A real Prefect server with deployments served by `arcloop serve`, for tests of deployed flows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

WORKTREE = Path(__file__).resolve().parents[1]
ARCLOOP = (
    "from arcloop.cli import run; run()"  # `python -c ARCLOOP ...`: the arcloop command of this checkout
)


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


def cli_env() -> dict[str, str]:
    """The environment of an arcloop command started by a test: this checkout on the path."""
    return {**os.environ, "PYTHONPATH": str(WORKTREE)}


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def served(workdir: Path, deployments: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    """``prefect server start`` on a free port, and ``arcloop serve`` of ``deployments`` (written to
    ``workdir/prefect.yaml``); yields the environment (``PREFECT_API_URL`` set) a client process uses.
    Both processes are stopped on exit."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**cli_env(), "PREFECT_HOME": str(workdir / "prefect-server"), "PREFECT_API_URL": api}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    prefect_file = workdir / "prefect.yaml"
    prefect_file.write_text(yaml.safe_dump({"name": "arcloop-test", "deployments": deployments}))
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
        with (workdir / "serve.log").open("w") as log:
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
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        yield env
    finally:
        _stop(serve)
        _stop(server)


TRIGGER = """
import sys, time
from prefect.deployments import run_deployment
deadline = time.monotonic() + 120
while True:  # the deployment appears once `arcloop serve` has registered it
    try:
        run = run_deployment(sys.argv[1], timeout=float(sys.argv[2]))
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(1)
print("STATE", run.state.type.value, run.state.name)
print("FLOW_RUN", run.id)
"""


def trigger(env: dict[str, str], workdir: Path, deployment: str, timeout: float) -> str:
    """Run ``deployment`` ("flow-name/deployment-name") through the API and wait up to ``timeout``
    seconds for it to end (0: return once it is scheduled); returns the trigger's output."""
    done = subprocess.run(
        [sys.executable, "-c", TRIGGER, deployment, str(timeout)],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout + 180,
    )
    return done.stdout + done.stderr[-3000:]
