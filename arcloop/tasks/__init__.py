"""Prefect tasks: one thin task per step function of the loop (:class:`arcloop.campaign.run.StepExecutor`).

No caching or result persistence: the loop's inputs (torch modules, arrays) do not hash stably, and
the application checkpoints its own state after every labelled batch (see :mod:`arcloop.campaign.state`).
"""

from arcloop.tasks.settings import apply_env_defaults

apply_env_defaults()

from arcloop.tasks.steps import step_task  # noqa: E402

__all__ = ["step_task"]
