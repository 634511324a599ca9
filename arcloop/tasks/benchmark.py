"""A whole campaign as one task: the unit a benchmark spreads over threads, processes or Dask workers.

The body is one call to a plain function (see :mod:`arcloop.grid` for why: a decorated function is
pickled by value, with every global it names)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from arcloop.grid import campaign_outcome, first_fit_outcome


@task(
    name="campaign",
    task_run_name="{labels[policy]}-{labels[oracle]}-{labels[scenario]}-seed{labels[seed]}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def campaign_task(
    config: dict[str, Any], labels: dict[str, str], parent_run_id: str | None, resume: bool = False
) -> dict[str, Any]:
    """Run (or with ``resume``, continue) one campaign to the end (:func:`arcloop.grid.campaign_outcome`)."""
    return campaign_outcome(config, labels, parent_run_id, resume)


@task(
    name="first-fit",
    task_run_name="first-fit-seed{config[seed]}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def first_fit_task(config: dict[str, Any]) -> dict[str, Any]:
    """The iteration-0 SSVAE fit a group of campaigns shares (:func:`arcloop.grid.first_fit_outcome`)."""
    return first_fit_outcome(config)
