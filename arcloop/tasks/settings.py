"""Prefect settings for local, offline, quiet runs (environment defaults a user can still override)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from arcloop.errors import ArcloopError
from arcloop.interrupt import CampaignInterrupted

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
def prefect_session() -> Iterator[None]:
    """Flow runs of this process: the temporary Prefect server up first (:func:`started_server`),
    and no per-flow heartbeat thread (an env var cannot unset it; a temporary setting can)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    started_server()
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def started_server() -> None:
    """Start the temporary Prefect server the flows will talk to, when ``PREFECT_API_URL`` names
    none; a start-up that times out is tried once more, then it is one line saying what to do.

    The flow would start it anyway, on its first call to the API, and end in a traceback if it did
    not answer within ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    why = ""
    for attempt in range(2):
        server = SubprocessASGIServer()  # the instance Prefect's client uses
        try:
            server.start()
            return
        except RuntimeError as error:
            why = str(error).split(" stdout:")[0]
            server.stop()  # the process that did not answer: the next try starts its own
        if attempt == 0:
            sys.stderr.write(
                f"\nthe temporary Prefect server did not answer within {timeout} s; trying once more\n"
            )
    raise ArcloopError(
        f"the temporary Prefect server did not start, tried twice with "
        f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS={timeout} ({why}); raise that setting, or "
        "start a server (prefect server start) and export PREFECT_API_URL=http://127.0.0.1:4200/api"
    )


@contextmanager
def terminations_as_stops(advice: str) -> Iterator[None]:
    """Every stop of a flow call ends the command with one line that says how to continue
    (``advice``): a second signal's immediate stop, raised wherever the flow was, and a SIGTERM
    that Prefect's flow engine answered (it raises TerminationSignal in the moments before
    arcloop's own handlers are back: :func:`arcloop.interrupt.reclaimed`)."""
    from prefect.exceptions import TerminationSignal

    try:
        yield
    except TerminationSignal as stop:
        raise CampaignInterrupted(f"stopped by SIGTERM; {advice}", stop.signal, advised=True) from None
    except CampaignInterrupted as stop:
        if stop.advised:
            raise
        raise CampaignInterrupted(f"{stop}; {advice}", stop.signum, advised=True) from None


def drain_events() -> None:
    """Flush Prefect's event worker before exit: killing the ephemeral server mid-flush prints a
    CancelledError traceback."""
    try:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=5)
    except Exception:  # draining is best effort at exit
        pass
