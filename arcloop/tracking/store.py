"""MLflow runs through ``MlflowClient`` with explicit run ids, metrics in batches.

The fluent API is avoided on purpose: inside Prefect's worker threads it does not see the parent's
active run and creates orphan runs. Every function here takes the tracking URI and a run id.
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arcloop import DEFAULT_TRACKING_URI, resolve_uri
from arcloop.errors import ArcloopError

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_LENGTH = 6000
PARENT_RUN_TAG = "mlflow.parentRunId"
# MLflow 3 opens an experiment without this kind on its GenAI overview (traces, sessions); with it,
# on the runs table and metric charts that arcloop logs.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
ACTIVE_STATUSES = ("RUNNING", "SCHEDULED")

_ready_stores: set[str] = set()
_ready_guard = threading.Lock()


# What opening a SQL store imports (sqlalchemy, alembic): for processes that preload it.
PRELOAD_MODULES = ("mlflow.store.tracking.sqlalchemy_store",)


def artifact_root_for(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (``x/mlruns.db`` → ``x/mlartifacts``), not in ./mlruns."""
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        return (Path(uri[len(prefix) :]).parent / "mlartifacts").resolve().as_uri()
    return None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail early, with one line, if the tracking store cannot be used."""
    uri = resolve_uri(uri)
    if uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///") :]).parent
        if not folder.is_dir():
            raise ArcloopError(
                f"tracking uri {uri!r}: folder {folder} does not exist; "
                "create it or point --tracking-uri elsewhere"
            )
        if not os.access(folder, os.W_OK):
            raise ArcloopError(f"tracking uri {uri!r}: folder {folder} is not writable")
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
                if response.status >= 400:
                    raise ArcloopError(f"tracking uri {uri!r}: server answered HTTP {response.status}")
        except (urllib.error.URLError, OSError) as error:
            raise ArcloopError(
                f"tracking uri {uri!r} is unreachable ({getattr(error, 'reason', error)}); "
                f"start the MLflow server or use a local {DEFAULT_TRACKING_URI}"
            ) from None
        return
    try:
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as error:  # any backend failure is the user's configuration here
        raise ArcloopError(f"tracking uri {uri!r} is unusable: {str(error).splitlines()[0]}") from None


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and ":memory:" not in uri:
        return Path(uri[len(prefix) :])
    return None


def ensure_store(uri: str) -> None:
    """Create or migrate a local SQLite store under a file lock beside it, once per process.

    Several processes opening one new store at once race on MLflow's schema migration (``table
    ... already exists``); under the lock the first creates it and the others find it ready. A new
    store is made under a staging name and renamed into place once its schema is complete: a kill
    while it is being made leaves no half-made store (MLflow cannot migrate one).
    """
    uri = resolve_uri(uri)
    path = _sqlite_path(uri)
    if path is None or uri in _ready_stores:
        return
    with _ready_guard:
        if uri in _ready_stores:
            return
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if not path.exists() or path.stat().st_size == 0:
                    staging = path.with_name(f".{path.name}.creating")
                    staging.unlink(missing_ok=True)  # left by a process killed while making it
                    MlflowClient(tracking_uri=f"sqlite:///{staging}").search_experiments(max_results=1)
                    os.replace(staging, path)
                _open(uri)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        _ready_stores.add(uri)


def _open(uri: str) -> None:
    """Open (and migrate, if MLflow is newer) the store; a store whose schema is half-made is one line."""
    try:
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as error:  # SQLAlchemy's OperationalError, wrapped by MLflow in several ways
        if "_alembic_tmp" not in str(error):
            raise
        raise ArcloopError(
            f"tracking uri {uri!r}: the store's schema was left half-made by a process killed while "
            "creating it; a store killed then holds no runs: move it aside and run again"
        ) from None


def client(uri: str) -> MlflowClient:
    ensure_store(uri)
    return MlflowClient(tracking_uri=resolve_uri(uri))


def experiment_id(uri: str, name: str) -> str:
    """Id of the experiment ``name``, created (with artifacts beside a SQLite store) if missing."""
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        if EXPERIMENT_KIND_TAG not in experiment.tags:  # made by an arcloop before the tag
            mlflow_client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return experiment.experiment_id
    try:
        return mlflow_client.create_experiment(
            name,
            artifact_location=artifact_root_for(resolve_uri(uri)),
            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
        )
    except Exception:
        # Another campaign created it between our look-up and create: use theirs.
        experiment = mlflow_client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def start_run(
    uri: str,
    experiment: str,
    run_name: str,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    parent_run_id: str | None = None,
) -> str:
    """Create a run with tags and params (batched) and return its id."""
    mlflow_client = client(uri)
    all_tags = dict(tags)
    if parent_run_id:
        all_tags[PARENT_RUN_TAG] = parent_run_id
    run = mlflow_client.create_run(experiment_id(uri, experiment), run_name=run_name, tags=all_tags)
    _log_params(mlflow_client, run.info.run_id, params)
    return run.info.run_id


def _log_params(mlflow_client: MlflowClient, run_id: str, params: Mapping[str, Any]) -> None:
    items = [Param(key, _param_value(value)) for key, value in params.items()]
    for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
        mlflow_client.log_batch(run_id, params=items[start : start + MAX_PARAMS_PER_BATCH])


def set_run_data(
    uri: str, run_id: str, tags: Mapping[str, str], params: Mapping[str, Any], parent_run_id: str | None
) -> None:
    """Tags and params of an existing run, as :func:`start_run` sets them (the same values again are
    accepted: a run adopted after a kill gets what the kill cut off)."""
    mlflow_client = client(uri)
    all_tags = {**tags, **({PARENT_RUN_TAG: parent_run_id} if parent_run_id else {})}
    mlflow_client.log_batch(run_id, tags=[RunTag(key, str(value)) for key, value in all_tags.items()])
    _log_params(mlflow_client, run_id, params)


def _param_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


def log_metrics(uri: str, run_id: str, metrics: Mapping[str, float], step: int) -> int:
    """Log finite metrics at ``step`` in batches, leaving out NaN/inf (undefined); returns the count."""
    return log_metric_steps(uri, run_id, [(step, metrics)])


def log_metric_steps(uri: str, run_id: str, steps: list[tuple[int, Mapping[str, float]]]) -> int:
    """Log the finite metrics of several steps in as few batches as MLflow allows; returns the count."""
    now = int(time.time() * 1000)
    items = [
        Metric(key, float(value), now, step)
        for step, metrics in steps
        for key, value in metrics.items()
        if value is not None and math.isfinite(float(value))
    ]
    mlflow_client = client(uri)
    for start in range(0, len(items), MAX_METRICS_PER_BATCH):
        mlflow_client.log_batch(run_id, metrics=items[start : start + MAX_METRICS_PER_BATCH])
    return len(items)


def logged_steps(uri: str, run_id: str, key: str) -> set[int]:
    """The steps at which the run holds metric ``key``."""
    return {metric.step for metric in client(uri).get_metric_history(run_id, key)}


def log_artifacts(uri: str, run_id: str, paths: list[Path], artifact_path: str | None = None) -> None:
    mlflow_client = client(uri)
    for path in paths:
        mlflow_client.log_artifact(run_id, str(path), artifact_path=artifact_path)


def mark_running(uri: str, run_id: str) -> None:
    """Reopen a run (a resumed campaign continues in the run it started)."""
    client(uri).update_run(run_id, status="RUNNING")


def end_run(uri: str, run_id: str, status: str = "FINISHED") -> None:
    client(uri).set_terminated(run_id, status=status)


def run_status(uri: str, run_id: str) -> str | None:
    """The run's status (RUNNING, FINISHED, FAILED, KILLED), None if the store does not hold it."""
    try:
        return client(uri).get_run(run_id).info.status
    except Exception:
        return None


def find_experiment(uri: str, name: str) -> str | None:
    """Id of the experiment ``name``, None if the store has none of that name (nothing created)."""
    experiment = client(uri).get_experiment_by_name(name)
    return None if experiment is None else experiment.experiment_id


def experiment_url_path(uri: str, name: str) -> str:
    """The MLflow UI's path to the runs view of experiment ``name`` (the experiments list if the
    store has no such experiment yet); an existing experiment gets the kind tag if it lacks it."""
    if find_experiment(uri, name) is None:
        return "#/experiments"
    return f"#/experiments/{experiment_id(uri, name)}/runs"


def find_run(uri: str, experiment: str, key: str, value: str) -> str | None:
    """Id of the run of ``experiment`` tagged ``key = value`` (the newest), None if there is none."""
    experiment_key = find_experiment(uri, experiment)
    if experiment_key is None:
        return None
    runs = client(uri).search_runs(
        [experiment_key],
        filter_string=f"tags.`{key}` = '{value}'",
        max_results=1,
        order_by=["start_time DESC"],
    )
    return runs[0].info.run_id if runs else None


def tagged_runs(uri: str, experiment: str, tags: Mapping[str, str]) -> list[tuple[str, str]]:
    """(id, status) of the runs of ``experiment`` carrying every tag in ``tags``, newest first."""
    experiment_key = find_experiment(uri, experiment)
    if experiment_key is None:
        return []
    filters = [f"tags.`{key}` = '{value}'" for key, value in tags.items()]
    runs = client(uri).search_runs(
        [experiment_key], filter_string=" AND ".join(filters), order_by=["start_time DESC"]
    )
    return [(run.info.run_id, run.info.status) for run in runs]


def end_active_children(uri: str, parent_run_id: str, status: str = "KILLED") -> list[str]:
    """End every still-active child run of ``parent_run_id`` with ``status``; returns their ids."""
    mlflow_client = client(uri)
    parent = mlflow_client.get_run(parent_run_id)
    children = mlflow_client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`{PARENT_RUN_TAG}` = '{parent_run_id}'"
    )
    ended = []
    for run in children:
        if run.info.status in ACTIVE_STATUSES:
            mlflow_client.set_terminated(run.info.run_id, status=status)
            ended.append(run.info.run_id)
    return ended


def run_exists(uri: str, run_id: str) -> bool:
    try:
        client(uri).get_run(run_id)
    except Exception:
        return False
    return True
