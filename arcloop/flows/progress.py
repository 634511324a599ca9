"""Progress listeners (the CLI's progress bars): "an iteration ended" from a campaign flow, "a
campaign ended" from a benchmark; one registry for both.

A module of its own, named only by plain functions: the flow's body is pickled by value when a
process pool or Dask ships the flow run's context, and a listener (a closure over a rich progress
bar, with its lock) must never travel with it. Functions of an imported module are pickled by
reference, so this registry stays in the process that registered it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ProgressListener = Callable[[dict[str, Any]], None]
_listeners: list[ProgressListener] = []


def add_progress_listener(listener: ProgressListener) -> Callable[[], None]:
    """Call ``listener(event)`` on every progress event of this process; returns a remover."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def notify(event: dict[str, Any]) -> None:
    for listener in list(_listeners):
        listener(event)
