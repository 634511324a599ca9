"""The benchmark flow: a grid of campaigns run concurrently, nested MLflow runs, and the report."""

from __future__ import annotations

import os
import queue
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Cancelled, State
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from arcloop import __version__, interrupt, tracking
from arcloop.config import BenchmarkConfig, CampaignConfig, first_fit_identity, flatten, read_yaml, validated
from arcloop.errors import ArcloopError
from arcloop.flows.progress import add_progress_listener, notify
from arcloop.grid import (
    CAMPAIGN_LAZY_MODULES,
    needs_first_fit,
    prepare_pool_worker,
    stop_pool_workers,
    worker_started,
    worker_template,
)
from arcloop.interrupt import CampaignInterrupted
from arcloop.report import build_report
from arcloop.tasks.benchmark import campaign_task, first_fit_task
from arcloop.tasks.settings import prefect_session, terminations_as_stops

__all__ = [
    "add_progress_listener",
    "benchmark_flow",
    "grid_flow",
    "run_benchmark",
    "run_grid",
    "task_runner",
    "with_overrides",
]


def served_api_url() -> str | None:
    """The ephemeral Prefect server this process started, if it talks to one (None when
    ``PREFECT_API_URL`` names a server: workers inherit that)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    server = SubprocessASGIServer()  # one instance per port: the one started_server() started
    return server.api_url if server.running else None


# What a benchmark worker imports before its first campaign, once in the pool's template process.
WORKER_PRELOAD = ("arcloop.tasks.benchmark", "arcloop.flows.benchmark", *CAMPAIGN_LAZY_MODULES)


def start_worker_template() -> None:
    """Start the process the ``processes`` runner's workers fork from
    (:func:`arcloop.grid.worker_template`)."""
    worker_template(WORKER_PRELOAD)


class PrestartedProcessPool(ProcessPoolTaskRunner):
    """Prefect's process pool, its workers forked from a template and started when the flow run
    enters it.

    Prefect's pool (Python's, underneath) starts a worker when a task arrives and none is idle, so
    each worker's start (spawn, imports, :func:`arcloop.grid.prepare_pool_worker`) used to begin
    with the first campaigns, after the parent had validated the grid and created its MLflow runs.
    Started on entry, the workers get ready while the parent does that. Forked from a template
    that has imported what they need (:func:`arcloop.grid.worker_template`, Python's forkserver),
    they no longer import it one by one: the template pays that once per parent process.

    Only in the process that made the runner: every task run in a worker enters a duplicate of its
    flow's task runner (Prefect's ``hydrated_context``), and a duplicate that started workers would
    start two idle processes per campaign (measured before this guard: 2 extra per worker).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._home_pid = os.getpid()

    def duplicate(self) -> PrestartedProcessPool:
        copy = super().duplicate()
        copy._home_pid = self._home_pid
        return copy

    def __enter__(self) -> PrestartedProcessPool:
        super().__enter__()
        spawning = self._executor
        if spawning is None or os.getpid() != self._home_pid:
            return self
        # Prefect's ProcessPoolExecutor (made by __enter__, no process started yet) with the same
        # initializer, on the template's context instead of "spawn", which Prefect hard-codes.
        self._executor = ProcessPoolExecutor(
            max_workers=self._max_workers,
            mp_context=worker_template(WORKER_PRELOAD),
            initializer=spawning._initializer,  # type: ignore[attr-defined]
            initargs=spawning._initargs,  # type: ignore[attr-defined]
        )
        spawning.shutdown(wait=False)
        # One job per worker makes Python start them all now: no worker is idle while they queue.
        for _ in range(self._max_workers):
            self._executor.submit(worker_started)
        return self


def task_runner(
    runner: str,
    max_workers: int,
    dask_address: str | None = None,
    api_url: str | None = None,
    tracking_uri: str | None = None,
) -> TaskRunner:
    """threads / processes on this machine, or Dask: a LocalCluster, or an existing cluster's address.

    threads cost nothing to start but run model fits one at a time (arcloop.models.serial): use
    them for tiny grids and debugging; processes and Dask run campaigns in parallel."""
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=max_workers)
    if runner == "processes":
        return PrestartedProcessPool(
            max_workers=max_workers,
            initializer=prepare_pool_worker,
            initargs=(api_url, tracking_uri),
        )
    if runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ArcloopError("runner dask: install the extra with  pip install 'arcloop[dask]'") from None
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={"n_workers": max_workers, "threads_per_worker": 1, "processes": True},
        )
    raise ArcloopError(f"runner {runner!r}: choose threads, processes or dask")


def _flow_run_name() -> str:
    config = flow_run.parameters.get("config", {}) or {}
    if isinstance(config, str):
        config = read_yaml(Path(config))
    return f"benchmark-{config.get('name', 'benchmark')}"


@flow(
    name="arcloop-benchmark-grid", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=False
)
def grid_flow(config: dict[str, Any], resume_dir: str | None = None) -> dict[str, Any] | State:
    """Every campaign of the grid through this flow's task runner; the report on the parent run.

    One call to a plain function: the process pool and Dask pickle this flow (it is in the flow
    run's context) by value, with the globals its body names (see :mod:`arcloop.grid`)."""
    with interrupt.reclaimed():
        try:
            return run_grid(config, resume_dir)
        except CampaignInterrupted as stop:  # a second signal, before the grid's own stop handling
            return Cancelled(
                message=f"{stop}; resume with --resume {Path(config['output_dir']) / config['name']}"
            )


def resumed_parent(bench: BenchmarkConfig, uri: str, resume_dir: str | Path) -> tuple[Path, str] | None:
    """The folder of an earlier run of this benchmark and its MLflow parent run; None when there is
    nothing to resume yet.

    ``resume_dir`` is that run's folder, OUTPUT_DIR/NAME/PARENT_RUN_ID (its name is the run's id;
    the folder may be missing if the run was killed the moment it began), or the benchmark's folder
    OUTPUT_DIR/NAME: the newest run of this benchmark in the store that did not finish, else the
    newest that did (read back), else none (killed before its parent run existed, or never run).
    """
    folder = Path(resume_dir).resolve()
    if tracking.run_exists(uri, folder.name):
        return folder, folder.name
    if (folder / "campaigns").is_dir():
        raise ArcloopError(
            f"--resume {resume_dir}: tracking uri {uri!r} holds no parent run {folder.name}; "
            "resume with the store the benchmark used"
        )
    if folder == (Path(bench.output_dir) / bench.name).resolve():
        runs = tracking.tagged_runs(
            uri, bench.tracking.experiment, {"kind": "benchmark", "benchmark": bench.name}
        )
        unfinished = [run_id for run_id, status in runs if status != "FINISHED"]
        chosen = unfinished[:1] or [run_id for run_id, _ in runs[:1]]
        return (folder / chosen[0], chosen[0]) if chosen else None
    raise ArcloopError(
        f"--resume {resume_dir}: not a benchmark folder; give OUTPUT_DIR/NAME/PARENT_RUN_ID or "
        f"OUTPUT_DIR/NAME ({Path(bench.output_dir) / bench.name}: its newest unfinished run)"
    )


def run_grid(config: dict[str, Any], resume_dir: str | None = None) -> dict[str, Any] | State:
    """The grid flow's body; called inside a flow run, whose task runner it submits to. With
    ``resume_dir`` it continues that earlier run under the same parent run."""
    bench = validated(BenchmarkConfig, config)
    uri = tracking.resolve_uri(bench.tracking.uri)
    tracking.check_reachable(uri)
    started = time.perf_counter()
    found = resumed_parent(bench, uri, resume_dir) if resume_dir else None
    if found is not None:
        folder, parent_run_id = found
        (folder / "campaigns").mkdir(parents=True, exist_ok=True)
        tracking.mark_running(uri, parent_run_id)
        return _grid_under(bench, uri, folder, parent_run_id, started, resume=True)
    if resume_dir:  # killed before its parent run existed: nothing was recorded
        sys.stderr.write(
            f"--resume {resume_dir}: nothing recorded of benchmark {bench.name!r} yet; starting it\n"
        )
    parent_run_id = tracking.start_run(
        uri,
        bench.tracking.experiment,
        f"benchmark-{bench.name}",
        tags={
            "kind": "benchmark",
            "benchmark": bench.name,
            "runner": bench.runner,
            "arcloop_version": __version__,
        },
        params=flatten(bench.model_dump(mode="json", exclude={"campaign"}))
        | flatten(bench.campaign, "campaign."),
    )
    folder = (Path(bench.output_dir) / bench.name / parent_run_id).resolve()
    # At once, before the first fits; a kill before this line leaves a parent run without its
    # folder, which --resume finds by the benchmark's name.
    (folder / "campaigns").mkdir(parents=True, exist_ok=True)
    return _grid_under(bench, uri, folder, parent_run_id, started, resume=False)


def _submit_after_first_fits(
    grid: list[tuple[dict[str, str], CampaignConfig]], parent_run_id: str, resume: bool
) -> tuple[list[PrefectFuture[dict[str, Any]]], list[dict[str, Any]]]:
    """Submit every campaign; those that share an iteration-0 fit only once it is in the model cache.

    Without this, the campaigns of one seed that start together on different workers would each fit
    the same model at the same time. The fits are submitted first, so the task runner's queue holds
    them ahead of any campaign; a group's campaigns are queued as soon as its fit is done.
    Returns the campaigns' futures and the outcome of each shared fit
    (:func:`arcloop.grid.first_fit_outcome`).
    """
    groups: dict[str, list[tuple[dict[str, str], CampaignConfig]]] = {}
    for labels, campaign in grid:
        groups.setdefault(first_fit_identity(campaign), []).append((labels, campaign))

    def submit(members: list[tuple[dict[str, str], CampaignConfig]]) -> list[PrefectFuture[dict[str, Any]]]:
        return [
            campaign_task.submit(campaign.model_dump(mode="json"), labels, parent_run_id, resume)
            for labels, campaign in members
        ]

    futures: list[PrefectFuture[dict[str, Any]]] = []
    fits: list[PrefectFuture[dict[str, Any]]] = []
    waiting: dict[Any, list[tuple[dict[str, str], CampaignConfig]]] = {}
    for members in groups.values():
        fitting = [member for member in members if needs_first_fit(member[1], resume)]
        if len(fitting) < 2:  # nobody to share it with: the campaign fits it itself
            futures += submit(members)
            continue
        fits.append(first_fit_task.submit(fitting[0][1].model_dump(mode="json")))
        waiting[fits[-1].task_run_id] = members
    fit_outcomes = []
    for fit in finished_in_turn(fits):
        futures += submit(waiting[fit.task_run_id])
        fit_outcomes.append(fit.result())
    return futures, fit_outcomes


def finished_in_turn(futures: list[PrefectFuture[Any]]) -> Iterator[PrefectFuture[Any]]:
    """The futures as they finish, with a look for a stop request twice a second in between: the
    benchmark hears a signal at once, not when a campaign or fit in a worker next finishes.

    One done-callback per future, into a queue: Prefect's ``wait(timeout=)`` in a loop would add
    one per future at every call, for the length of a grid that runs for hours."""
    finished: queue.Queue[PrefectFuture[Any]] = queue.Queue()
    for future in futures:
        future.add_done_callback(finished.put)
    for _ in futures:
        while True:
            interrupt.check("benchmark")
            try:
                future = finished.get(timeout=0.5)
            except queue.Empty:
                continue
            break
        yield future


def _grid_under(
    bench: BenchmarkConfig, uri: str, folder: Path, parent_run_id: str, started: float, resume: bool
) -> dict[str, Any] | State:
    try:
        interrupt.check("benchmark")  # a signal that came while the parent run was being made
        grid = bench.campaigns(folder)
        # SIGINT/SIGTERM: campaigns stop at safe points, not wherever they are.
        with interrupt.reclaimed():
            futures, first_fits = _submit_after_first_fits(grid, parent_run_id, resume)
            outcomes = []
            for done, future in enumerate(finished_in_turn(futures), start=1):
                outcomes.append(future.result())
                notify({"done": done, "total": len(futures), "outcome": outcomes[-1]})
        report_started = time.perf_counter()
        report = build_report(outcomes, folder / "report", title=bench.name)
        tracking.log_artifacts(uri, parent_run_id, report.files, "report")
        wall = time.perf_counter() - started
        report_seconds = time.perf_counter() - report_started
        tracking.log_metrics(
            uri,
            parent_run_id,
            {
                "benchmark/wall_seconds": wall,
                "benchmark/campaigns": len(grid),
                "benchmark/failed": report.n_failed,
            },
            step=0,
        )
    except (CampaignInterrupted, KeyboardInterrupt):
        # Campaigns in threads stop at their own next safe point and end their runs. The process
        # pool's workers cannot hear the signal: they are stopped here, at once (a campaign's state
        # is crash-safe: the step in flight is redone on resume), and their runs ended (Dask's
        # workers, on other machines perhaps, finish the campaigns they hold).
        stop_pool_workers()
        tracking.end_active_children(uri, parent_run_id, status="KILLED")
        tracking.end_run(uri, parent_run_id, status="KILLED")
        return Cancelled(
            message=f"benchmark stopped; MLflow run {parent_run_id} and its unfinished campaign runs "
            f"ended as KILLED; campaign states are under {folder}; resume with --resume {folder}"
        )
    except BaseException:
        tracking.end_run(uri, parent_run_id, status="FAILED")
        raise
    tracking.end_run(uri, parent_run_id, status="FINISHED")
    return {
        "parent_run_id": parent_run_id,
        "output_dir": str(folder),
        "wall_seconds": wall,
        "n_campaigns": len(grid),
        "n_failed": report.n_failed,
        "campaign_seconds": [outcome["seconds"] for outcome in outcomes],
        # (Unix start, seconds, worker pid) per campaign: the grid's timeline, for benchmarks/
        "campaign_spans": [
            (outcome["started_at"], outcome["seconds"], outcome["worker_pid"]) for outcome in outcomes
        ],
        "first_fit_seconds": [fit["seconds"] for fit in first_fits],
        "first_fits": first_fits,
        "report_seconds": report_seconds,
        "summary": report.records,
    }


def with_overrides(
    config: dict[str, Any],
    runner: str | None = None,
    dask_address: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """A benchmark config with a deployment's overrides applied: where the grid runs and records.

    ``dask_address`` alone means the Dask runner (an address is pointless on any other runner)."""
    updated = dict(config)
    if dask_address:
        updated["dask_address"] = dask_address
        updated["runner"] = runner or "dask"
    elif runner:
        updated["runner"] = runner
    if tracking_uri:
        updated["tracking"] = {**(updated.get("tracking") or {}), "uri": tracking_uri}
    return updated


@flow(name="arcloop-benchmark", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=False)
def benchmark_flow(
    config: dict[str, Any] | str,
    resume_dir: str | None = None,
    runner: str | None = None,
    dask_address: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any] | State:
    """Run a benchmark: the grid as a subflow on the task runner its config names.

    ``config`` is a BenchmarkConfig as a mapping, or the path of its YAML file (deployments).
    ``resume_dir``: the folder of an earlier run (OUTPUT_DIR/NAME/PARENT_RUN_ID) to continue.
    ``runner``, ``dask_address``, ``tracking_uri``: override the config's (a deployment points its
    YAML file at a cluster and an MLflow server with these; see scripts/cluster-demo.sh).
    """
    data = read_yaml(Path(config)) if isinstance(config, str) else config
    bench = validated(BenchmarkConfig, with_overrides(data, runner, dask_address, tracking_uri))
    chosen = task_runner(
        bench.runner,
        bench.max_workers,
        bench.dask_address,
        served_api_url(),
        tracking.resolve_uri(bench.tracking.uri),
    )
    with interrupt.reclaimed():
        state = grid_flow.with_options(task_runner=chosen)(
            bench.model_dump(mode="json"), resume_dir, return_state=True
        )
    if state.is_cancelled():
        # A fresh state with the subflow's message: returned as is, Prefect would replace the
        # message (where to resume from) by its count of states ("1/1 states cancelled.").
        return Cancelled(message=state.message)
    return state.result()


def run_benchmark(
    config: dict[str, Any] | BenchmarkConfig,
    runner: str | None = None,
    max_workers: int | None = None,
    dask_address: str | None = None,
    resume_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Validate (one-line errors), choose the task runner, run the flow with the heartbeat off.
    ``resume_dir``: continue that earlier run of the same benchmark (see :func:`run_grid`)."""
    bench = config if isinstance(config, BenchmarkConfig) else validated(BenchmarkConfig, config)
    updates = {"runner": runner, "max_workers": max_workers, "dask_address": dask_address}
    bench = validated(
        BenchmarkConfig, {**bench.model_dump(mode="json"), **{k: v for k, v in updates.items() if v}}
    )
    tracking.check_reachable(tracking.resolve_uri(bench.tracking.uri))
    bench.campaigns(Path(bench.output_dir))  # every campaign's config is valid before anything runs
    task_runner(bench.runner, bench.max_workers, bench.dask_address)  # dask installed, runner known
    if resume_dir:
        resumed_parent(bench, tracking.resolve_uri(bench.tracking.uri), resume_dir)  # one line first
    if bench.runner == "processes":
        start_worker_template()  # its imports overlap Prefect's server start and the flow runs'
    advice = f"resume with --resume {Path(bench.output_dir) / bench.name}"
    with prefect_session(), terminations_as_stops(advice):
        state = benchmark_flow(
            bench.model_dump(mode="json"), str(resume_dir) if resume_dir else None, return_state=True
        )
    if state.is_cancelled():
        raise CampaignInterrupted(
            state.message or f"benchmark stopped; {advice}",
            interrupt.requested() or signal.SIGTERM,
            advised=True,
        )
    return state.result()
