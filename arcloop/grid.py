"""One benchmark campaign as a plain function: what the benchmark's task runs, on any runner.

Why this is not the body of the Prefect task: Prefect wraps a decorated function in a ``Task`` (or
``Flow``) object that takes the function's name in its module, so cloudpickle cannot find the
function by reference and pickles it *by value*, together with every module global its body names.
The process pool and Dask ship the task (and the flow run's context, which holds the flow) that way.
Task and flow bodies therefore only call plain functions like this one, which are pickled by
reference: nothing a module holds (locks, listeners, open stores) travels with a campaign.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from arcloop import tracking
from arcloop.campaign.run import DirectExecutor, drive, fit_first_model, preflight
from arcloop.campaign.state import latest_checkpoint, load_checkpoint, write_atomically
from arcloop.config import CampaignConfig
from arcloop.cores import one_core_per_campaign
from arcloop.errors import ArcloopError

# Written into a campaign's state dir when it finished: a resumed benchmark reads it back.
OUTCOME_FILE = "outcome.json"


def prepare_pool_worker(api_url: str | None, tracking_uri: str | None = None) -> None:
    """Process-pool worker initialiser: the parent's Prefect API, one core per campaign, the imports
    and the store a campaign needs, a quick exit.

    - ``api_url``: a worker left without ``PREFECT_API_URL`` starts an ephemeral server of its own
      (three servers for two workers, measured), which costs each benchmark seconds of start-up and
      the cores' time.
    - :func:`one_core_per_campaign`.
    - :func:`preload`: done here, the work is paid while the worker is started (see
      ``PrestartedProcessPool`` in :mod:`arcloop.flows.benchmark`), not in its first campaign.
    - At exit, after every exit handler registered since (Prefect's log and event drains, MLflow's),
      the worker flushes logging and multiprocessing's finalizers and leaves with ``os._exit``:
      a spawned worker otherwise tears down torch, Pyro, MLflow and Prefect module by module, which
      takes seconds per worker, paid at the end of every benchmark run.
    """
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
    one_core_per_campaign()
    preload(tracking_uri)
    atexit.register(_exit_without_teardown)


# What a first campaign imports on the way: torch's optimisers import torch._dynamo at their first
# step (it pulls in sympy), opening a SQL store MLflow's sqlalchemy store: seconds each.
CAMPAIGN_LAZY_MODULES = ("torch._dynamo", *tracking.PRELOAD_MODULES)


def preload(tracking_uri: str | None) -> None:
    """What a process's first campaign would otherwise import or open on the way: the
    :data:`CAMPAIGN_LAZY_MODULES` (already imported in a worker forked from the template) and the
    tracking store (``tracking_uri``: its schema check)."""
    for module in CAMPAIGN_LAZY_MODULES:
        importlib.import_module(module)
    if tracking_uri:
        tracking.ensure_store(tracking_uri)


def worker_template(modules: tuple[str, ...]) -> multiprocessing.context.BaseContext:
    """The multiprocessing context whose workers fork from one template process that imported
    ``modules`` once (Python's forkserver), started now if it is not running; ``spawn`` where the
    platform has no forkserver (Windows).

    Why: a spawned worker imports torch, Pyro, Prefect, MLflow, scipy, pandas and scikit-learn
    before its first campaign, then :func:`preload`, on the critical path of every benchmark: a
    lead-in of seconds, with one worker as with two. A forked one starts with
    them imported. The template starts in the background; the preload of a process's first call
    overlaps what the caller does next (Prefect's server start, for the CLI). Only modules are
    preloaded, nothing is run: no thread, store or client exists in the template when it forks.
    A forked worker starts with the template's environment; Prefect's runner sends the parent's
    (``os.environ`` at its first task) with every task run and applies it before the task."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    # Workers stopped at once (stop_pool_workers) leave the pool's semaphores to Python's resource
    # tracker, which cleans them up and warns on the terminal; the tracker, started with the
    # forkserver, takes its warning filters from this interpreter's options.
    if QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_TRACKER)
    multiprocessing.forkserver.ensure_running()
    return context


QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


# How the forkserver process shows in the process table (its command line, as Python starts it).
FORKSERVER_MAIN = "from multiprocessing.forkserver import main"


def stop_pool_workers() -> list[int]:
    """SIGKILL the process pool's workers that this process started: the processes its forkserver
    template (:func:`worker_template`) forked. Returns their pids.

    A worker runs a campaign or fit to its end whatever the parent hears; Python's pool has no way
    to end a running job, and its shutdown waits for them.
    """
    import psutil

    me = os.getpid()
    stopped = []
    for process in psutil.Process(me).children(recursive=True):
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            parent = process.parent()
            if parent is not None and parent.pid != me and FORKSERVER_MAIN in " ".join(parent.cmdline()):
                process.kill()
                stopped.append(process.pid)
    return stopped


def worker_started() -> int:
    """A job that only makes the pool start a worker: its pid."""
    return os.getpid()


def _exit_without_teardown() -> None:
    import logging
    import multiprocessing.util

    logging.shutdown()
    multiprocessing.util._exit_function()  # type: ignore[attr-defined]  # queue feeders, finalizers
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # closed or replaced streams
            stream.flush()
    os._exit(0)


def finished_outcome(state_dir: str | Path | None) -> dict[str, Any] | None:
    """The outcome of a campaign that finished, or None if it has not.

    A damaged record (torn, garbage, not an outcome) is said and counts as none: the campaign
    is then resumed from its checkpoints, which a finished campaign ends at once, writing it anew.
    """
    path = Path(state_dir) / OUTCOME_FILE if state_dir else None
    if path is None or not path.is_file():
        return None
    try:
        outcome = json.loads(path.read_text())
        if not isinstance(outcome, dict) or outcome.get("status") not in ("ok", "failed"):
            raise ValueError("not a campaign's outcome")
    except (OSError, ValueError) as error:  # JSON and UTF-8 decoding errors are ValueErrors
        sys.stderr.write(
            f"{path}: damaged ({type(error).__name__}); read back from its checkpoints instead\n"
        )
        return None
    return outcome


def _record_outcome(state_dir: str | Path, outcome: dict[str, Any]) -> None:
    write_atomically(Path(state_dir) / OUTCOME_FILE, json.dumps(outcome))


def needs_first_fit(campaign: CampaignConfig, resume: bool) -> bool:
    """Whether running this campaign (``resume``: continuing it) starts with its iteration-0 fit."""
    if not resume:
        return True
    return finished_outcome(campaign.state_dir) is None and latest_checkpoint(campaign.state_dir) is None


def first_fit_outcome(config: dict[str, Any]) -> dict[str, Any]:
    """Fit (or find in the model cache) the iteration-0 SSVAE of this campaign, before the campaigns
    that share it start: they then read it from the cache instead of each fitting it at the same
    time. A failure is reported, not raised; the campaigns meet it again and report it as theirs.

    Keys: status (``ok`` / ``failed``), error, seconds, started_at (Unix time), worker_pid.
    """
    one_core_per_campaign()
    started, started_at = time.perf_counter(), time.time()
    try:
        fit_first_model(config)
        status, error = "ok", None
    except Exception as failure:  # the campaigns report it
        first_line = str(failure).splitlines()[0] if str(failure) else ""
        status, error = "failed", f"{type(failure).__name__}: {first_line}"
    return {
        "status": status,
        "error": error,
        "seconds": time.perf_counter() - started,
        "started_at": started_at,
        "worker_pid": os.getpid(),
    }


def campaign_outcome(
    config: dict[str, Any], labels: dict[str, str], parent_run_id: str | None, resume: bool = False
) -> dict[str, Any]:
    """Run one campaign to the end; a failure is reported in the outcome, not raised, so that the
    other campaigns of the benchmark go on. With ``resume`` a finished campaign is not run again
    (its recorded outcome is returned) and one with a checkpoint continues from it.

    Keys: the labels (policy, oracle, scenario, seed, ...), status (``ok`` / ``failed``), error,
    summary (:func:`arcloop.campaign.run.summary`), metrics (one dict per finished iteration),
    discovery_picks (one flag per paid proposal, in order: True for a discovery; the pick-resolution
    curve the report's EF/AF read), seconds (wall time of this call), started_at (its Unix start
    time), worker_pid (the process it ran in).
    """
    one_core_per_campaign()
    started, started_at = time.perf_counter(), time.time()
    outcome: dict[str, Any] = {
        **labels,
        "status": "ok",
        "error": None,
        "summary": None,
        "metrics": [],
        "discovery_picks": [],
    }
    state_dir = config.get("state_dir")
    if resume:
        done = finished_outcome(state_dir)
        if done is not None:
            return done
    continues = bool(resume and state_dir and latest_checkpoint(state_dir) is not None)
    try:
        campaign, setup = preflight(config, resume=continues)
        outcome["summary"] = drive(
            campaign,
            setup,
            DirectExecutor(),
            # A resumed benchmark's campaign killed before its first checkpoint continues in the
            # MLflow run it had created (drive adopts it), rather than leaving it KILLED beside a new one.
            resume=bool(resume and state_dir),
            parent_run_id=parent_run_id,
            extra_tags={
                "benchmark_scenario": labels["scenario"],
                "benchmark_policy": labels["policy"],
                "benchmark_surrogate": labels["surrogate"],
            },
        )
    except Exception as error:  # a campaign's failure is data for the report
        outcome["status"] = "failed"
        message = str(error).splitlines()[0] if str(error) else ""
        outcome["error"] = f"{type(error).__name__}: {message}"
        if not isinstance(error, ArcloopError):
            outcome["traceback"] = traceback.format_exc(limit=8)
    if state_dir and latest_checkpoint(state_dir) is not None:
        state = load_checkpoint(state_dir)[0]
        outcome["metrics"] = state.metrics
        outcome["discovery_picks"] = state.proposed_discovery[state.paid].tolist()
    outcome["seconds"] = time.perf_counter() - started
    outcome["started_at"] = started_at  # Unix time: with seconds and worker_pid, the grid's timeline
    outcome["worker_pid"] = os.getpid()  # the process pool reuses its workers: a few pids per grid
    if outcome["status"] == "ok" and state_dir:
        _record_outcome(state_dir, outcome)
    return outcome
