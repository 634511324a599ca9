"""How many threads a campaign's numerical libraries use: one each (torch, BLAS, OpenMP).

Why one: on the 2-core machine the models are small, so a second thread mostly waits, while
OpenBLAS's idle threads spin and take the core that the Prefect server, MLflow or a second campaign
needs: a campaign through the Prefect flow ran faster with one thread each than with the libraries'
defaults, and the plain loop no slower. A benchmark worker runs its campaigns this way too, so a
campaign computes the same way alone and inside a benchmark.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

CAMPAIGN_THREADS = 1


def one_core_per_campaign() -> None:
    """Set this process's numerical libraries to one thread, for good: torch's intra-op pool, and
    the BLAS and OpenMP pools numpy, scipy and scikit-learn use (threadpoolctl). For pool workers.

    With OpenBLAS's default two threads a "single" pool worker kept more than one core busy and
    took longer per campaign, so two workers could never be twice one."""
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
