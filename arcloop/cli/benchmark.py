"""``arcloop benchmark``, ``arcloop serve`` and ``arcloop ui``."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from arcloop import DEFAULT_TRACKING_URI
from arcloop.errors import ArcloopError


def _screening_benchmark(
    config: Path, dask_address: str | None, max_workers: int | None, as_json: bool
) -> None:
    """A grid of screening campaigns (``datasets:`` in the config): arcloop.screening.benchmark."""
    from arcloop.config import read_yaml, validated
    from arcloop.flows.screening import run_screening_benchmark
    from arcloop.screening import ScreeningBenchmarkConfig

    bench = validated(ScreeningBenchmarkConfig, read_yaml(config))
    result = run_screening_benchmark(bench, max_workers=max_workers, dask_address=dask_address)
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo((Path(result["folder"]) / "table.md").read_text())
    typer.echo(f"{result['campaigns']} campaigns in {result['seconds']} s; report: {result['folder']}")


def benchmark(
    config: Path = typer.Option(..., "--config", "-c", help="YAML BenchmarkConfig (see examples/)"),
    runner: str | None = typer.Option(
        None,
        help="processes (default: parallel) | dask | threads (one process; model fits take turns)",
    ),
    dask_address: str | None = typer.Option(None, "--dask-address", help="an existing Dask scheduler"),
    max_workers: int | None = typer.Option(None, "--max-workers", help="campaigns at once"),
    as_json: bool = typer.Option(False, "--json", help="print the summary table as JSON records"),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help="continue an earlier run of this config: its folder OUTPUT_DIR/NAME/PARENT_RUN_ID "
        "(finished campaigns are read back, unfinished ones resume from their checkpoints)",
    ),
) -> None:
    """Run a grid of campaigns concurrently and write the comparison report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arcloop.config import load_benchmark_config, read_yaml

    if "datasets" in read_yaml(config):
        _screening_benchmark(config, dask_address, max_workers, as_json)
        return
    from arcloop.flows.benchmark import add_progress_listener, run_benchmark
    from arcloop.interrupt import stop_on_signals
    from arcloop.tasks.settings import drain_events

    bench = load_benchmark_config(config)
    total = len(bench.with_random_baseline()) * len(bench.oracles) * len(bench.scenarios) * len(bench.seeds)
    progress = Progress(
        TextColumn("[bold]benchmark"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
        disable=as_json,
    )
    bar = progress.add_task("benchmark", total=total, last="")

    def on_campaign(event: dict[str, Any]) -> None:
        o = event["outcome"]
        progress.update(
            bar, completed=event["done"], last=f"{o['policy']}/{o['scenario']}/seed{o['seed']}: {o['status']}"
        )

    remove = add_progress_listener(on_campaign)
    try:
        with stop_on_signals(), progress:
            result = run_benchmark(
                bench, runner=runner, max_workers=max_workers, dask_address=dask_address, resume_dir=resume
            )
    finally:
        remove()
        drain_events()
    if as_json:
        typer.echo(
            json.dumps(
                result["summary"], default=lambda v: None if isinstance(v, float) and math.isnan(v) else v
            )
        )
        return
    typer.echo((Path(result["output_dir"]) / "report" / "summary.md").read_text())
    typer.echo(
        f"report: {Path(result['output_dir']) / 'report'}   MLflow parent run: {result['parent_run_id']}"
    )


def serve(
    prefect_file: Path = typer.Option(Path("prefect.yaml"), "--prefect-file", help="deployments to serve"),
) -> None:
    """Serve the deployments of prefect.yaml (with their schedules) against the Prefect server in
    PREFECT_API_URL, until interrupted."""
    from arcloop.flows.deployments import serve_deployments

    if not os.environ.get("PREFECT_API_URL"):
        raise ArcloopError(
            "PREFECT_API_URL is not set: start a server (prefect server start) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    serve_deployments(prefect_file)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``host:port`` now."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def stop_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process's whole group (the server, its job runner and workers), SIGKILL after
    ``grace`` seconds if any of them is still there."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; its children may not be: one more round for the group.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def ui(
    tracking_uri: str = typer.Option(DEFAULT_TRACKING_URI, "--tracking-uri", help="the MLflow store"),
    port: int = typer.Option(5000, help="port on 127.0.0.1"),
    experiment: str = typer.Option("arcloop", help="the experiment whose runs view to open"),
) -> None:
    """Start the MLflow UI on the project's store, bound to 127.0.0.1, until SIGINT/SIGTERM."""
    from arcloop.tracking import check_reachable, ensure_store, experiment_url_path, resolve_uri

    uri = resolve_uri(tracking_uri)
    check_reachable(uri)
    if not port_free(port):
        raise ArcloopError(f"port {port} on 127.0.0.1 is in use; choose another with --port")
    ensure_store(uri)  # created here, not raced by the server's workers
    url = f"http://127.0.0.1:{port}/{experiment_url_path(uri, experiment)}"
    typer.echo(f"MLflow UI: {url}  (store {uri}); Ctrl-C to stop", err=True)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    # Its own process group, so that stopping it reaches the job runner and workers it starts.
    server = subprocess.Popen(command, start_new_session=True)
    stopped: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stop_group(server)
    raise typer.Exit(code)


def register(root: typer.Typer) -> None:
    root.command("benchmark")(benchmark)
    root.command("serve")(serve)
    root.command("ui")(ui)
