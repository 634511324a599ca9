"""The screening flow: one pool campaign over a dataset (:mod:`arcloop.screening`), tracked in one
MLflow run. The loop, its checkpoints and its readings are plain functions; this is their Prefect
face."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.runtime import flow_run

from arcloop.config import validated
from arcloop.screening import ScreeningBenchmarkConfig, ScreeningConfig
from arcloop.tasks.settings import prefect_session


def _flow_run_name() -> str:
    config = flow_run.parameters.get("config", {}) or {}
    return str(config.get("name") or "screening")


def run_checked(config: ScreeningConfig, resume: bool) -> dict[str, Any]:
    """The campaign through :func:`arcloop.screening.loop.run_screening`, recorded in MLflow."""
    from arcloop.screening.loop import run_screening
    from arcloop.screening.record import finish_run, mlflow_logger

    logger = mlflow_logger(config) if config.tracking is not None else None
    setup, state = run_screening(config, resume=resume, log=logger)
    return finish_run(config, setup, state)


@flow(name="arcloop-screening", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=False)
def screening_flow(config: dict[str, Any], resume: bool = False) -> dict[str, Any]:
    """Run (or resume) one screening campaign; returns its summary."""
    return run_checked(validated(ScreeningConfig, config), resume)


def run_screening_flow(config: ScreeningConfig, resume: bool = False) -> dict[str, Any]:
    """The flow with its config checked first (mistakes fail here, in one line) and no heartbeat."""
    from arcloop import tracking
    from arcloop.screening.loop import prepare_screening

    prepare_screening(config)
    if config.tracking is not None:
        tracking.check_reachable(config.tracking.uri)
    data = config.model_dump(mode="json")
    data["name"] = config.run_name
    with prefect_session():
        return screening_flow(data, resume=resume)


@task(name="screening-campaign", task_run_name="{label}-seed{seed}")
def screening_campaign(config: dict[str, Any], result_file: str, label: str, seed: int) -> dict[str, Any]:
    """One campaign of a screening benchmark (see :func:`arcloop.screening.benchmark.run_one`)."""
    from arcloop.screening.benchmark import run_one

    return run_one(validated(ScreeningConfig, config), Path(result_file), label)


@flow(name="arcloop-screening-benchmark", log_prints=False, validate_parameters=False)
def screening_benchmark_flow(config: dict[str, Any]) -> dict[str, Any]:
    """Every campaign of the grid (finished ones read back), then the report, in one MLflow run."""
    from arcloop.screening.benchmark import expand, report

    bench = validated(ScreeningBenchmarkConfig, config)
    folder = Path(bench.output_dir) / bench.name
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    grid = expand(bench, folder)
    futures = [
        screening_campaign.submit(campaign.model_dump(mode="json"), str(path), label, campaign.seed)
        for label, campaign, path in grid
    ]
    results = [future.result() for future in futures]
    wall = time.perf_counter() - start
    report(bench, results, folder)
    run_id = None
    if bench.tracking is not None:
        run_id = log_benchmark(bench, results, folder, wall)
    return {
        "campaigns": len(results),
        "seconds": round(wall, 1),
        "folder": str(folder),
        "mlflow_run_id": run_id,
    }


def log_benchmark(
    bench: ScreeningBenchmarkConfig, results: list[dict[str, Any]], folder: Path, wall: float
) -> str:
    """One MLflow run for the benchmark: per dataset × method medians as metrics, the report files."""
    import math

    import numpy as np

    from arcloop import tracking

    assert bench.tracking is not None
    uri = bench.tracking.uri
    run_id = tracking.start_run(
        uri,
        bench.tracking.experiment,
        bench.name,
        {"kind": "screening-benchmark"},
        {"campaigns": len(results)},
    )
    metrics: dict[str, float] = {"benchmark/seconds": wall, "benchmark/campaigns": float(len(results))}
    for key in {(r["dataset"], r["method"]) for r in results}:
        rows = [r for r in results if (r["dataset"], r["method"]) == key]
        for name in ("af_50", "experiments_to_50", "top_after_50"):
            finite = [r[name] for r in rows if name in r and math.isfinite(r[name])]
            if finite:
                metrics[f"{key[0]}/{key[1]}/{name}"] = float(np.median(finite))
    tracking.log_metrics(uri, run_id, metrics, 0)
    tracking.log_artifacts(
        uri, run_id, [folder / "table.md", folder / "top_fraction.png", folder / "campaigns.csv"]
    )
    tracking.end_run(uri, run_id)
    return run_id


def run_screening_benchmark(
    bench: ScreeningBenchmarkConfig, max_workers: int | None = None, dask_address: str | None = None
) -> dict[str, Any]:
    """The benchmark flow on a process pool (default) or the Dask cluster at ``dask_address``."""
    from arcloop import tracking
    from arcloop.flows.benchmark import served_api_url, start_worker_template, task_runner

    if bench.tracking is not None:
        tracking.check_reachable(bench.tracking.uri)  # before workers start: one line, nothing made
    address = dask_address or bench.dask_address
    runner: Any = None
    if address or bench.runner == "dask":
        from prefect_dask import DaskTaskRunner

        runner = (
            DaskTaskRunner(address=address)
            if address
            else DaskTaskRunner(
                cluster_kwargs={"n_workers": max_workers or bench.max_workers, "threads_per_worker": 1}
            )
        )
    else:
        start_worker_template()  # its imports overlap Prefect's server start
    with prefect_session():
        if runner is None:
            # Workers report to this process's server: left without its address, each would start
            # a Prefect server of its own, which takes a share of the cores the campaigns run on.
            runner = task_runner("processes", max_workers or bench.max_workers, api_url=served_api_url())
        return screening_benchmark_flow.with_options(task_runner=runner)(bench.model_dump(mode="json"))
