"""``arcloop benchmark``, ``arcloop serve`` and ``arcloop ui``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from arcloop.errors import ArcloopError


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

    from arcloop.config import load_benchmark_config
    from arcloop.flows.benchmark import add_progress_listener, run_benchmark
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
        with progress:
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


def ui(
    tracking_uri: str = typer.Option("sqlite:///mlruns.db", "--tracking-uri", help="the MLflow store"),
    port: int = typer.Option(5000, help="port on 127.0.0.1"),
) -> None:
    """Start the MLflow UI on the project's store, bound to 127.0.0.1."""
    from arcloop.tracking import check_reachable, resolve_uri

    uri = resolve_uri(tracking_uri)
    check_reachable(uri)
    typer.echo(f"MLflow UI on http://127.0.0.1:{port}  (store {uri}); Ctrl-C to stop", err=True)
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
    raise typer.Exit(subprocess.call(command))


def register(root: typer.Typer) -> None:
    root.command("benchmark")(benchmark)
    root.command("serve")(serve)
    root.command("ui")(ui)
