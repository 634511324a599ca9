"""Prefect settings for local, offline, quiet runs (environment defaults a user can still override)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

PREFECT_ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    # The task-run recorder's default batch of 1 stalls later flows after many tasks.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    # Dask's scheduler and workers log every connection at INFO onto the CLI's terminal.
    "DASK_LOGGING__DISTRIBUTED": "warning",
}


def apply_env_defaults() -> None:
    """Set the defaults above unless the user set them; must run before ``import prefect``."""
    for key, value in PREFECT_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


@contextmanager
def quiet_prefect() -> Iterator[None]:
    """No per-flow heartbeat thread (an env var cannot unset it; a temporary setting can)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def drain_events() -> None:
    """Flush Prefect's event worker before exit: killing the ephemeral server mid-flush prints a
    CancelledError traceback."""
    try:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=5)
    except Exception:  # draining is best effort at exit
        pass
