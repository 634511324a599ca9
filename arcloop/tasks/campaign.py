"""The campaign's tasks. Names carry the iteration so that the Prefect UI reads as a timeline."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from arcloop import steps, tracking
from arcloop.campaign import checkpoint, label_with_retries
from arcloop.oracles import LabelBatch
from arcloop.state import CampaignState

# No caching or result persistence: torch modules and arrays do not hash stably, and the
# application checkpoints its own state after every labelled batch (arcloop.state). The flow passes
# the large arguments wrapped in prefect's `quote` (the task receives them unwrapped): Prefect then
# skips walking them for upstream futures, which cost up to a second per call as the history grew.
# `iteration` is passed on its own for the run names.
_TASK_OPTIONS = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="train", task_run_name="train-{iteration}", **_TASK_OPTIONS)
def train_task(
    setup: steps.CampaignSetup, state: CampaignState, models: steps.Models | None, iteration: int
) -> steps.Models:
    return steps.train(setup, state, models)


@task(name="propose", task_run_name="propose-{iteration}", **_TASK_OPTIONS)
def propose_task(
    setup: steps.CampaignSetup, state: CampaignState, models: steps.Models, iteration: int
) -> steps.Proposal:
    return steps.propose(setup, state, models)


@task(name="label", task_run_name="label-{iteration}", **_TASK_OPTIONS)
def label_task(
    setup: steps.CampaignSetup,
    proposal: steps.Proposal,
    iteration: int,
    state_dir: Path,
    retries: int,
    timeout_seconds: float,
) -> tuple[LabelBatch, int]:
    """The iteration's oracle call with its retries and timeouts (the one implementation both
    executors share, :func:`arcloop.campaign.label_with_retries`). Returns labels and attempts."""
    return label_with_retries(setup, proposal, iteration, state_dir, retries, timeout_seconds)


@task(name="measure", task_run_name="measure-{iteration}", **_TASK_OPTIONS)
def measure_task(
    setup: steps.CampaignSetup,
    state: CampaignState,
    models: steps.Models,
    proposal: steps.Proposal,
    labels: LabelBatch,
    attempts: int,
    iteration: int,
) -> tuple[CampaignState, dict[str, float]]:
    return steps.measure(setup, state, models, proposal, labels, attempts)


@task(name="checkpoint", task_run_name="checkpoint-{iteration}", **_TASK_OPTIONS)
def checkpoint_task(
    state_dir: Path, state: CampaignState, models: steps.Models | None, iteration: int
) -> Path:
    return checkpoint(state_dir, state, models)


@task(name="log-iteration", task_run_name="log-{step}", **_TASK_OPTIONS)
def log_iteration_task(uri: str, run_id: str, metrics: dict[str, float], step: int) -> int:
    return tracking.log_metrics(uri, run_id, metrics, step)
