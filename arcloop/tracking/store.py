"""MLflow runs through ``MlflowClient`` with explicit run ids, metrics in batches.

The fluent API is avoided on purpose: inside Prefect's worker threads it does not see the parent's
active run and creates orphan runs. Every function here takes the tracking URI and a run id.
"""

from __future__ import annotations

import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arcloop.errors import ArcloopError

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_LENGTH = 6000
PARENT_RUN_TAG = "mlflow.parentRunId"


def resolve_uri(uri: str) -> str:
    """Make a relative ``sqlite:///file.db`` absolute against the working directory, so that a flow
    run in another thread or process writes to the same store."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/") and ":memory:" not in uri:
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri


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
                "start the MLflow server or use a local sqlite:///mlruns.db"
            ) from None
        return
    try:
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as error:  # any backend failure is the user's configuration here
        raise ArcloopError(f"tracking uri {uri!r} is unusable: {str(error).splitlines()[0]}") from None


def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=resolve_uri(uri))


def experiment_id(uri: str, name: str) -> str:
    """Id of the experiment ``name``, created (with artifacts beside a SQLite store) if missing."""
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return mlflow_client.create_experiment(name, artifact_location=artifact_root_for(resolve_uri(uri)))
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
    items = [Param(key, _param_value(value)) for key, value in params.items()]
    for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
        mlflow_client.log_batch(run.info.run_id, params=items[start : start + MAX_PARAMS_PER_BATCH])
    return run.info.run_id


def _param_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


def log_metrics(uri: str, run_id: str, metrics: Mapping[str, float], step: int) -> int:
    """Log finite metrics at ``step`` in batches, leaving out NaN/inf (undefined); returns the count."""
    now = int(time.time() * 1000)
    items = [
        Metric(key, float(value), now, step)
        for key, value in metrics.items()
        if value is not None and math.isfinite(float(value))
    ]
    mlflow_client = client(uri)
    for start in range(0, len(items), MAX_METRICS_PER_BATCH):
        mlflow_client.log_batch(run_id, metrics=items[start : start + MAX_METRICS_PER_BATCH])
    return len(items)


def log_artifacts(uri: str, run_id: str, paths: list[Path], artifact_path: str | None = None) -> None:
    mlflow_client = client(uri)
    for path in paths:
        mlflow_client.log_artifact(run_id, str(path), artifact_path=artifact_path)


def mark_running(uri: str, run_id: str) -> None:
    """Reopen a run (a resumed campaign continues in the run it started)."""
    client(uri).update_run(run_id, status="RUNNING")


def end_run(uri: str, run_id: str, status: str = "FINISHED") -> None:
    client(uri).set_terminated(run_id, status=status)


def run_exists(uri: str, run_id: str) -> bool:
    try:
        client(uri).get_run(run_id)
    except Exception:
        return False
    return True
