"""MLflow lives here and nowhere else: runs, batched metrics, params, artifacts, figures."""

from arcloop.tracking.store import (
    DEFAULT_TRACKING_URI,
    check_reachable,
    end_run,
    log_artifacts,
    log_metrics,
    mark_running,
    resolve_uri,
    run_exists,
    start_run,
)

__all__ = [
    "DEFAULT_TRACKING_URI",
    "check_reachable",
    "end_run",
    "log_artifacts",
    "log_metrics",
    "mark_running",
    "resolve_uri",
    "run_exists",
    "start_run",
]
