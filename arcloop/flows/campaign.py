"""The campaign flow: the loop of docs/design.md with each step a Prefect task, tracked in one MLflow run."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Cancelled, State
from prefect.utilities.annotations import quote

from arcloop import interrupt
from arcloop.campaign.run import drive, preflight, read_run_record, update_run_record
from arcloop.campaign.setup import CampaignSetup
from arcloop.config import CampaignConfig, read_yaml
from arcloop.flows.progress import add_progress_listener, notify
from arcloop.interrupt import CampaignInterrupted
from arcloop.tasks import step_task
from arcloop.tasks.settings import prefect_session, terminations_as_stops

__all__ = ["add_progress_listener", "campaign_flow", "run_campaign"]

T = TypeVar("T")


class TaskExecutor:
    """Each step a Prefect task (:func:`arcloop.tasks.step_task`), its run named after the iteration."""

    def __call__(self, step: Callable[..., T], *args: Any, iteration: int) -> T:
        # Arguments go wrapped in prefect's `quote` (the task receives them unwrapped): Prefect then
        # skips walking them for upstream futures, which cost up to a second per call as the history grew.
        return step_task(step)(*(quote(arg) for arg in args), iteration=iteration)


# run_campaign's preflight, handed to the flow run it starts in this process, so that a config is
# validated and its set-up prepared once per run (a deployment's flow run preflights on its own).
_preflighted: dict[str, tuple[CampaignConfig, CampaignSetup]] = {}


def _key(data: dict[str, Any], resume: bool) -> str:
    return json.dumps([data, resume], sort_keys=True, default=str)


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
    data = _config_data(config)
    try:
        with interrupt.reclaimed():
            checked = _preflighted.pop(_key(data, resume), None)
            campaign, setup = checked if checked is not None else preflight(data, resume)
            mark_dead_flow_run(campaign.state_dir)
            return drive(campaign, setup, TaskExecutor(), resume=resume, notify=notify)
    except CampaignInterrupted as stop:
        return Cancelled(message=str(stop))


def run_campaign(config: dict[str, Any] | CampaignConfig, resume: bool = False) -> dict[str, Any]:
    """Preflight (user mistakes fail here, with one line), then the flow with the heartbeat off.

    Raises :class:`CampaignInterrupted` when the campaign was stopped by a signal.
    """
    campaign, setup = preflight(config, resume)
    data = campaign.model_dump(mode="json")
    _preflighted[_key(data, resume)] = (campaign, setup)
    try:
        advice = f"resume with: arcloop resume {campaign.state_dir}"
        with prefect_session(), terminations_as_stops(advice):
            state = campaign_flow(data, resume=resume, return_state=True)
    finally:
        _preflighted.pop(_key(data, resume), None)
    if state.is_cancelled():
        message = state.message or f"campaign stopped; resume with: arcloop resume {campaign.state_dir}"
        raise CampaignInterrupted(message, interrupt.requested() or signal.SIGTERM, advised=True)
    return state.result()
