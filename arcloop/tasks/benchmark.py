"""A whole campaign as one task: the unit a benchmark spreads over threads, processes or Dask workers."""

from __future__ import annotations

import time
import traceback
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from arcloop.campaign import DirectExecutor, drive, preflight
from arcloop.errors import ArcloopError
from arcloop.state import latest_checkpoint, load_checkpoint

# Concurrent campaigns share the machine's cores: one torch thread each keeps them from
# oversubscribing, and makes a campaign's arithmetic the same on every runner.
CAMPAIGN_TORCH_THREADS = 1


@task(
    name="campaign",
    task_run_name="{labels[policy]}-{labels[oracle]}-{labels[scenario]}-seed{labels[seed]}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def campaign_task(
    config: dict[str, Any], labels: dict[str, str], parent_run_id: str | None
) -> dict[str, Any]:
    """Run one campaign to the end; a failure is reported in the outcome, not raised, so that the
    other campaigns of the benchmark go on."""
    import torch

    torch.set_num_threads(CAMPAIGN_TORCH_THREADS)
    started = time.perf_counter()
    outcome: dict[str, Any] = {
        **labels,
        "status": "ok",
        "error": None,
        "summary": None,
        "metrics": [],
        "discovery_picks": [],
    }
    state_dir = config.get("state_dir")
    try:
        campaign, setup = preflight(config, resume=False)
        outcome["summary"] = drive(
            campaign,
            setup,
            DirectExecutor(campaign.oracle_calls.retries),
            parent_run_id=parent_run_id,
            extra_tags={"benchmark_scenario": labels["scenario"]},
        )
    except Exception as error:  # a campaign's failure is data for the report
        outcome["status"] = "failed"
        message = str(error).splitlines()[0] if str(error) else ""
        outcome["error"] = f"{type(error).__name__}: {message}"
        if not isinstance(error, ArcloopError):
            outcome["traceback"] = traceback.format_exc(limit=8)
    if state_dir and latest_checkpoint(state_dir) is not None:
        state = load_checkpoint(state_dir)[0]
        outcome["metrics"] = state.metrics
        # One flag per paid proposal, in order: the pick-resolution curve the report's AF reads.
        outcome["discovery_picks"] = state.proposed_discovery[state.paid].tolist()
    outcome["seconds"] = time.perf_counter() - started
    return outcome
