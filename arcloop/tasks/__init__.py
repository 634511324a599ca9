"""Prefect tasks: thin wrappers over :mod:`arcloop.steps`, :mod:`arcloop.state` and :mod:`arcloop.tracking`.

No caching or result persistence: the loop's inputs (torch modules, arrays) do not hash stably, and
the application checkpoints its own state after every labelled batch (see :mod:`arcloop.state`).
"""

from arcloop.tasks.settings import apply_env_defaults

apply_env_defaults()

from arcloop.tasks.campaign import (  # noqa: E402
    checkpoint_task,
    label_task,
    log_iteration_task,
    measure_task,
    propose_task,
    train_task,
)

__all__ = [
    "checkpoint_task",
    "label_task",
    "log_iteration_task",
    "measure_task",
    "propose_task",
    "train_task",
]
