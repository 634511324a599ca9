"""The process-wide lock that makes Pyro fits and torch's global RNG take turns between threads.

Pyro's effect-handler stack and torch's global RNG belong to the process: two fits in two threads
interleave their sample sites ("Multiple sample sites named ...") and each other's draws. So the
threads runner of a benchmark fits one model at a time; processes and Dask workers fit in parallel.

The lock lives here, and is reached only through :func:`serial_section` (a function of an imported
module, which cloudpickle pickles by reference): no function pickled by value (a Prefect task or
flow body) can reach it through its globals, and every process has its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


@contextmanager
def serial_section() -> Iterator[None]:
    """Hold the process's fit lock for the block (re-entrant: a fit may call a seeded prediction)."""
    with _LOCK:
        yield
