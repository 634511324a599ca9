"""How many threads a campaign's numerical libraries use: one each (torch, BLAS, OpenMP).

Why one: on the 2-core machine the models are small, so a second thread mostly waits, while
OpenBLAS's idle threads spin and take the core that the Prefect server, MLflow or a second campaign
needs. Measured (2026-12-04, the demo task at 20 × 16, two repeats): through the Prefect flow
15.4 / 14.5 s with the libraries' defaults, 13.0 / 12.7 s with one thread each; the plain loop
11.1–11.2 s against 10.7–11.2 s. A benchmark worker has always run its campaigns this way, so a
campaign now computes the same way alone and inside a benchmark.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

CAMPAIGN_THREADS = 1


def one_core_per_campaign() -> None:
    """Set this process's numerical libraries to one thread, for good: torch's intra-op pool, and
    the BLAS and OpenMP pools numpy, scipy and scikit-learn use (threadpoolctl). For pool workers.

    Measured on the 2-core machine (quick grid, one pool worker): with OpenBLAS's default two
    threads a campaign took 4.6–5.1 s of wall and 6.4–8.0 s of CPU, one thread 4.1 s and 4.1 s; a
    "single" worker kept 1.4 cores busy, so two workers could never be twice one."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(CAMPAIGN_THREADS)
    threadpool_limits(limits=CAMPAIGN_THREADS)


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n_threads`` for the block (``None``: left as they are), then
    the caller's count again, also when the block raises. The one place arcloop changes it for a
    while: the campaign (:func:`one_core`), the SSVAE's and the GP's fits and predictions."""
    if n_threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """One thread per numerical library for the block, then the caller's settings again: what
    :func:`arcloop.campaign.run.drive` and :func:`arcloop.campaign.plain.run_plain` run a campaign in."""
    from threadpoolctl import threadpool_limits

    with torch_threads(CAMPAIGN_THREADS), threadpool_limits(limits=CAMPAIGN_THREADS):
        yield
