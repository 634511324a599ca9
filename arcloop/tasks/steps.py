"""The campaign's tasks: one Prefect task per step function (:class:`arcloop.campaign.run.StepExecutor`).

Run names carry the iteration (``train-3``) so that the Prefect UI reads as a timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

# No caching or result persistence: torch modules and arrays do not hash stably, and the
# application checkpoints its own state after every labelled batch (arcloop.campaign.state).
_TASK_OPTIONS = {"cache_policy": NO_CACHE, "persist_result": False}
# The Prefect UI's names for the steps (a function's own name where it is the same).
TASK_NAMES = {"label_with_retries": "label", "log_metrics": "log-iteration"}


@cache
def step_task(step: Callable[..., Any]) -> Task:
    """The task that runs ``step`` (one per step function; its runs are named ``<name>-{iteration}``)."""
    name = TASK_NAMES.get(step.__name__, step.__name__)
    short = name.split("-")[0]

    def run(*args: Any, iteration: int) -> Any:
        return step(*args)

    run.__name__ = run.__qualname__ = name.replace("-", "_")
    run.__doc__ = step.__doc__
    return task(run, name=name, task_run_name=f"{short}-{{iteration}}", **_TASK_OPTIONS)
