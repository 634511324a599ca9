"""The campaign flow: the loop of DESIGN.md with each step a Prefect task, tracked in one MLflow run."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Cancelled, State
from prefect.utilities.annotations import quote

from arcloop import interrupt, steps
from arcloop.campaign import drive, preflight, read_run_record, update_run_record
from arcloop.config import CampaignConfig, read_yaml
from arcloop.flows.progress import add_progress_listener, notify
from arcloop.interrupt import CampaignInterrupted
from arcloop.oracles import LabelBatch
from arcloop.state import CampaignState
from arcloop.tasks import (
    checkpoint_task,
    label_task,
    log_iteration_task,
    measure_task,
    propose_task,
    train_task,
)
from arcloop.tasks.settings import quiet_prefect

__all__ = ["add_progress_listener", "campaign_flow", "run_campaign"]


class TaskExecutor:
    """Each step a Prefect task; the oracle call's retries and timeouts are arcloop's own (one
    implementation for both executors: :func:`arcloop.campaign.label_with_retries`)."""

    def __init__(self, campaign: CampaignConfig) -> None:
        self._retries = campaign.oracle_calls.retries
        self._timeout_seconds = campaign.oracle_calls.timeout_seconds

    def train(
        self, setup: steps.CampaignSetup, state: CampaignState, models: steps.Models | None
    ) -> steps.Models:
        return train_task(quote(setup), quote(state), quote(models), state.iteration)

    def propose(
        self, setup: steps.CampaignSetup, state: CampaignState, models: steps.Models
    ) -> steps.Proposal:
        return propose_task(quote(setup), quote(state), quote(models), state.iteration)

    def label(
        self, setup: steps.CampaignSetup, proposal: steps.Proposal, iteration: int, state_dir: Path
    ) -> tuple[LabelBatch, int]:
        return label_task(
            quote(setup), quote(proposal), iteration, state_dir, self._retries, self._timeout_seconds
        )

    def measure(
        self,
        setup: steps.CampaignSetup,
        state: CampaignState,
        models: steps.Models,
        proposal: steps.Proposal,
        labels: LabelBatch,
        attempts: int,
    ) -> tuple[CampaignState, dict[str, float]]:
        return measure_task(
            quote(setup),
            quote(state),
            quote(models),
            quote(proposal),
            quote(labels),
            attempts,
            state.iteration,
        )

    def checkpoint(self, state_dir: Path, state: CampaignState, models: steps.Models | None) -> Path:
        return checkpoint_task(state_dir, quote(state), quote(models), state.iteration - 1)

    def log(self, uri: str, run_id: str, metrics: dict[str, float], step: int) -> int:
        return log_iteration_task(uri, run_id, metrics, step)


def _config_data(config: dict[str, Any] | str) -> dict[str, Any]:
    """A deployment passes a YAML path; its campaigns get a state folder per flow run."""
    if isinstance(config, dict):
        return config
    data = read_yaml(Path(config))
    data["state_dir"] = str(Path(data.get("state_dir", "arcloop-state")) / str(flow_run.id or "run"))
    return data


def _flow_run_name() -> str:
    config = flow_run.parameters.get("config", {}) or {}
    if isinstance(config, str):
        config = read_yaml(Path(config))
    policy = (config.get("policy") or {}).get("name", "uncertainty")
    oracle = (config.get("oracle") or {}).get("name", "rules")
    return config.get("name") or f"{policy}-{oracle}-seed{config.get('seed', 0)}"


def mark_dead_flow_run(state_dir: Path) -> None:
    """The campaign's previous flow run, if a hard kill left it RUNNING, is marked Crashed; this
    flow run becomes the campaign's. Best effort: a run on another Prefect server is not found."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    previous = read_run_record(state_dir).get("flow_run_id")
    current = str(flow_run.id) if flow_run.id else None
    if previous and previous != current:
        try:
            with get_client(sync_client=True) as client:
                dead = client.read_flow_run(UUID(previous))
                if dead.state is not None and dead.state.is_running():
                    message = f"its process was killed; the campaign continued in flow run {current}"
                    client.set_flow_run_state(dead.id, Crashed(message=message), force=True)
        except Exception:  # not on this server, or the server is going down: nothing to mark
            pass
    if current:
        update_run_record(state_dir, flow_run_id=current)


@flow(name="arcloop-campaign", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=False)
def campaign_flow(config: dict[str, Any] | str, resume: bool = False) -> dict[str, Any] | State:
    """Run (or resume) one campaign; returns the summary that ``arcloop campaign --json`` prints.

    ``config`` is a CampaignConfig as a mapping, or the path of its YAML file (deployments). A stop
    request (SIGINT/SIGTERM) ends the flow run Cancelled, with the line saying how to resume.
    """
    campaign, setup = preflight(_config_data(config), resume)
    mark_dead_flow_run(campaign.state_dir)
    try:
        with interrupt.reclaimed():
            return drive(campaign, setup, TaskExecutor(campaign), resume=resume, notify=notify)
    except CampaignInterrupted as stop:
        return Cancelled(message=str(stop))


def run_campaign(config: dict[str, Any] | CampaignConfig, resume: bool = False) -> dict[str, Any]:
    """Preflight (user mistakes fail here, with one line), then the flow with the heartbeat off.

    Raises :class:`CampaignInterrupted` when the campaign was stopped by a signal.
    """
    campaign, _ = preflight(config, resume)
    with quiet_prefect():
        state = campaign_flow(campaign.model_dump(mode="json"), resume=resume, return_state=True)
    if state.is_cancelled():
        message = state.message or f"campaign stopped; resume with: arcloop resume {campaign.state_dir}"
        raise CampaignInterrupted(message, interrupt.requested() or signal.SIGTERM)
    return state.result()
