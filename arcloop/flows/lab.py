"""The lab campaign flow: an ask/tell campaign (:mod:`arcloop.campaign.asktell`) as one Prefect flow
run that proposes a batch, suspends until results arrive, measures them, and proposes the next.

While it waits it holds no process: Prefect's ``suspend_flow_run`` ends the flow run's process and
leaves the run Suspended until it is resumed with a :class:`LabResults` input (the Prefect UI's input
form, the API's ``resume_flow_run``, or ``arcloop observe``, which records results in the state
folder and resumes the run with an empty input). A resumed run starts its function again; everything
it continues from is in the state folder, and each suspension's key names the batch and the results
recorded so far, so an input is read once. Suspending needs a deployment (``prefect.yaml`` declares
``arcloop-lab-campaign``; ``arcloop serve`` serves it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from arcloop.campaign.asktell import ResultRow, observe_results, open_campaign, propose_batch, result_row
from arcloop.campaign.run import update_run_record
from arcloop.config import read_yaml
from arcloop.errors import ArcloopError


class LabResult(BaseModel):
    """One item's result: its id from the batch file, 1 or 0, or a status of failed / dropped."""

    id: str
    single_phase: Literal[0, 1] | None = None
    status: Literal["ok", "failed", "dropped"] = "ok"


class LabResults(RunInput):
    """What resumes a waiting lab campaign: results of its pending batch, and whether the results
    still out will never come (``close``: counted as lost)."""

    results: list[LabResult] = Field(default_factory=list)
    close: bool = False


def result_rows(answer: LabResults) -> list[ResultRow]:
    """The input as the rows a results file gives, checked the same way."""
    return [
        result_row(
            f"flow input result {n}",
            item.id,
            item.status,
            "" if item.single_phase is None else str(item.single_phase),
        )
        for n, item in enumerate(answer.results, start=1)
    ]


def _config(config: dict[str, Any] | str) -> tuple[dict[str, Any], Path]:
    data = dict(config) if isinstance(config, dict) else read_yaml(Path(config))
    if "state_dir" not in data:
        data["state_dir"] = str(Path("arcloop-state") / str(flow_run.id or "lab"))
    return data, Path(data["state_dir"])


@flow(name="arcloop-lab-campaign", log_prints=False, validate_parameters=False)
def lab_campaign_flow(config: dict[str, Any] | str) -> dict[str, Any]:
    """Run an ask/tell campaign to its end, suspended while each batch is in the laboratory.

    ``config`` is a CampaignConfig (a mapping or a YAML path) whose ``state_dir`` is the campaign's
    folder; ``arcloop propose`` / ``observe`` on that folder see the same campaign."""
    data, state_dir = _config(config)
    campaign, setup = open_campaign(data, state_dir)
    logger = get_run_logger()
    rejected = 0  # inputs that could not be recorded at this batch (each suspension needs a new key)
    while True:
        proposed = propose_batch(campaign, setup)
        if proposed.pending is None:
            update_run_record(state_dir, waiting_flow_run_id=None)
            assert proposed.summary is not None
            return proposed.summary
        pending = proposed.pending
        logger.info(
            "batch of iteration %d waiting for %d results: %s",
            pending.iteration,
            len(pending.missing),
            proposed.batch_file,
        )
        update_run_record(state_dir, waiting_flow_run_id=str(flow_run.id))
        key = f"iteration-{pending.iteration}-results-{len(pending.results)}-rejected-{rejected}"
        answer = suspend_flow_run(wait_for_input=LabResults, key=key)
        try:
            observe_results(campaign, setup, result_rows(answer), close=answer.close)
        except ArcloopError as error:  # a mistake in the input: said, nothing recorded, wait again
            logger.error("results not recorded: %s", error)
            rejected += 1


def resume_waiting(flow_run_id: str) -> bool:
    """Resume a suspended lab flow run with an empty input (its results are in the state folder).
    False when no Prefect server is configured or the run is not waiting."""
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return False
    try:
        resume_flow_run(UUID(flow_run_id), run_input=LabResults().model_dump())
    except Exception:  # not paused (already resumed), or on a server this shell does not reach
        return False
    return True
