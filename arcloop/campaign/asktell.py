"""Ask/tell: a campaign whose results come back later, driven by two calls on its state folder.

:func:`propose_batch` (``arcloop propose``) trains on what is known, writes the next batch to
``batches/batch-NNN.csv`` and records it as pending (``pending.json``). :func:`observe_results`
(``arcloop observe``) records results as they arrive, in any order and over any number of files;
once every item has an answer (or the rest is declared lost with ``close``) it measures the batch,
checkpoints and logs the iteration. These are the steps, state, checkpoints and MLflow run of a
synchronous campaign (:func:`arcloop.campaign.run.drive`), not a second loop: an item that came back
is recorded as the synchronous campaign would have recorded it, and an item that never came back is
``dropped`` (paid for, no result), as an instrument that lost a sample.

Nothing but files is kept between the two calls. The models a batch was proposed with are derived
again from the checkpoint (training and proposing are deterministic functions of the state and the
seed, as a resume after a kill relies on) and the batch they propose is checked against the pending
one before its results are measured.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from arcloop import tracking
from arcloop.campaign import steps
from arcloop.campaign.run import (
    checkpoint,
    finish,
    preflight,
    start_or_resume,
    summary,
    write_logged_step,
)
from arcloop.campaign.setup import CampaignSetup
from arcloop.campaign.state import (
    CampaignState,
    config_path,
    latest_checkpoint,
    reading,
    record_config,
    write_atomically,
)
from arcloop.config import CampaignConfig, dump_yaml, load_campaign_config, read_yaml
from arcloop.cores import one_core
from arcloop.data import ELEMENTS
from arcloop.errors import ArcloopError
from arcloop.materials import format_formula
from arcloop.oracles import DEFAULT_COST_PER_LABEL, DROPPED, FAILED, OK, LabelBatch
from arcloop.oracles.lab import RESULT_COLUMN

PENDING_FILE = "pending.json"
BATCHES = "batches"
RESULT_STATUSES = (OK, FAILED, DROPPED)
"""What a laboratory may report for an item: a result, a failed experiment, a lost sample."""


class _PendingRecord(BaseModel):
    """``pending.json`` as read back: plain data, checked field by field (nothing in it is code)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    iteration: int = Field(ge=0)
    ids: list[str]
    compositions: list[list[float]]
    proposed_at: float
    results: dict[str, tuple[Literal["ok", "failed", "dropped"], int]] = Field(default_factory=dict)


@dataclass(frozen=True)
class PendingBatch:
    """A batch proposed and not yet measured: its item ids, compositions, and the results so far
    (id -> (status, label); label -1 unless ``ok``)."""

    iteration: int
    ids: tuple[str, ...]
    compositions: np.ndarray
    proposed_at: float
    results: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Ids with no result yet, in batch order."""
        return [item for item in self.ids if item not in self.results]

    def labels(self, cost_per_label: float) -> LabelBatch:
        """The batch as the oracle would have returned it; items with no result are ``dropped``."""
        answers = [self.results.get(item, (DROPPED, -1)) for item in self.ids]
        status = np.array([status for status, _ in answers])
        return LabelBatch(
            labels=np.array([label for _, label in answers], dtype=np.int64),
            status=status,
            cost=np.full(len(answers), cost_per_label),
            seconds=time.time() - self.proposed_at,
        )


def open_campaign(
    config: Path | Mapping[str, Any] | None, state_dir: Path
) -> tuple[CampaignConfig, CampaignSetup]:
    """The campaign in ``state_dir``: its config (``config``, else the folder's config.yaml, else the
    defaults of ``arcloop campaign``) checked by the campaign's preflight; a folder that holds a
    checkpoint is continued, and a different config for it is refused."""
    saved = config_path(state_dir)
    source: Path | Mapping[str, Any] = config if config is not None else saved if saved.is_file() else {}
    if "dataset" in (read_yaml(source) if isinstance(source, Path) else source):
        raise ArcloopError(
            "dataset: ask/tell runs alloy campaigns (the latent or pool source); a dataset campaign's "
            "results are its data: run it with arcloop campaign"
        )
    campaign = load_campaign_config(source, {"state_dir": str(state_dir)}).resolved()
    resume = latest_checkpoint(state_dir) is not None
    if not resume:
        record_config(campaign.state_dir, dump_yaml(campaign))
    return preflight(campaign, resume=resume, asks_and_tells=True)


def item_ids(iteration: int, n: int) -> tuple[str, ...]:
    """The ids of a batch's items: ``it3-1`` … ``it3-8`` (iteration 3, items 1 to 8)."""
    return tuple(f"it{iteration}-{j + 1}" for j in range(n))


def pending_path(state_dir: Path) -> Path:
    return Path(state_dir) / PENDING_FILE


def batch_path(state_dir: Path, iteration: int) -> Path:
    """Where the batch of ``iteration`` is written for the laboratory."""
    return Path(state_dir) / BATCHES / f"batch-{iteration:03d}.csv"


def write_pending(state_dir: Path, pending: PendingBatch) -> None:
    record = {
        "iteration": pending.iteration,
        "ids": list(pending.ids),
        "compositions": pending.compositions.tolist(),  # floats as repr: read back bit for bit
        "proposed_at": pending.proposed_at,
        "results": {item: list(answer) for item, answer in pending.results.items()},
    }
    write_atomically(pending_path(state_dir), json.dumps(record))


def read_pending(state_dir: Path, iteration: int) -> PendingBatch | None:
    """The batch waiting for results at ``iteration``; None when there is none. A pending file of an
    earlier iteration (a stop between the checkpoint and its removal) is stale and removed."""
    path = pending_path(state_dir)
    if not path.is_file():
        return None
    with reading(path, "pending batch"):
        record = _PendingRecord.model_validate_json(path.read_text())
        compositions = np.array(record.compositions, dtype=np.float64).reshape(len(record.ids), -1)
        if compositions.shape[1] != len(ELEMENTS) or set(record.results) - set(record.ids):
            raise ValueError("compositions or results do not match the ids")
    if record.iteration < iteration:
        path.unlink()
        return None
    if record.iteration > iteration:
        raise ArcloopError(
            f"{path}: a batch of iteration {record.iteration}, but the checkpoint is at iteration "
            f"{iteration}; the state folder was mixed with another one"
        )
    return PendingBatch(
        record.iteration,
        tuple(record.ids),
        compositions,
        record.proposed_at,
        {item: (status, int(label)) for item, (status, label) in record.results.items()},
    )


def _write_batch_table(path: Path, ids: tuple[str, ...], proposal: steps.Proposal) -> None:
    """The laboratory's sheet: id, formula, the model's view, empty result columns, then the atomic
    fraction of every element present in the batch (written exactly, read back with
    ``float_precision="round_trip"``)."""
    candidates, batch = proposal.candidates, proposal.batch
    X = proposal.compositions
    table = pd.DataFrame(
        {
            "id": ids,
            "formula": [format_formula(row) for row in X],
            "p_discovery": candidates.p_mean[batch],
            "uncertainty": candidates.p_std[batch],
            "dataset_row": candidates.pool_index[batch],
            RESULT_COLUMN: "",
            "status": "",
        }
    )
    for index in np.flatnonzero(X.sum(axis=0) > 0):
        table[ELEMENTS[index]] = X[:, index]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, table.to_csv(index=False))


def batch_compositions(path: Path) -> tuple[list[str], np.ndarray]:
    """The ids and exact compositions of a batch file (what :class:`arcloop.oracles.lab.SimulatedLab`
    makes)."""
    with reading(Path(path), "batch file"):
        table = pd.read_csv(path, dtype={"id": str}, float_precision="round_trip")
    X = np.zeros((len(table), len(ELEMENTS)))
    for index, element in enumerate(ELEMENTS):
        if element in table.columns:
            X[:, index] = table[element].to_numpy(dtype=np.float64)
    return table["id"].tolist(), X


@dataclass(frozen=True)
class Proposed:
    """What :func:`propose_batch` did: the pending batch (new or still waiting), or the campaign's end."""

    iterations: int
    pending: PendingBatch | None
    batch_file: Path | None
    new: bool
    summary: dict[str, Any] | None = None  # the finished campaign's summary


def propose_batch(campaign: CampaignConfig, setup: CampaignSetup) -> Proposed:
    """Start the campaign in ``campaign.state_dir`` or continue it: the batch still waiting for
    results, else the next batch (written, journalled as asked, recorded as pending), else (every
    iteration measured) the finished campaign's summary."""
    with one_core():
        state_dir = Path(campaign.state_dir)
        state, models = start_or_resume(campaign, setup, resume=True)
        pending = read_pending(state_dir, state.iteration)
        if pending is not None:
            return Proposed(campaign.iterations, pending, batch_path(state_dir, pending.iteration), False)
        if state.iteration >= campaign.iterations:
            return Proposed(campaign.iterations, None, None, False, _finished(campaign, setup, state, models))
        models = steps.train(setup, state, models)
        proposal = steps.propose(setup, state, models)
        ids = item_ids(state.iteration, len(proposal.batch))
        path = batch_path(state_dir, state.iteration)
        _write_batch_table(path, ids, proposal)
        pending = PendingBatch(state.iteration, ids, proposal.compositions.copy(), time.time())
        steps.journal_oracle_call(state_dir, state.iteration, 1, len(ids), steps.ASKED)
        write_pending(state_dir, pending)
        return Proposed(campaign.iterations, pending, path, True)


def _finished(
    campaign: CampaignConfig, setup: CampaignSetup, state: CampaignState, models: steps.Models | None
) -> dict[str, Any]:
    """The end of the campaign: artifacts and the run FINISHED (again harmlessly, if it was)."""
    uri, run_id = campaign.tracking.uri, state.mlflow_run_id
    assert run_id is not None
    if tracking.run_status(uri, run_id) != "FINISHED":
        models = steps.train(setup, state, models) if models is None else models
        finish(campaign, setup, state, models)
        tracking.end_run(uri, run_id, status="FINISHED")
    return summary(campaign, state)


@dataclass(frozen=True)
class ResultRow:
    """One reported result: where it was read (for messages), the item, its status and label."""

    where: str
    id: str
    status: str
    label: int


def _cell(value: str | None) -> str:
    return (value or "").strip()


def result_row(where: str, item: str, status: str, value: str) -> ResultRow:
    """One reported result, checked: an id; a status of ok (the default), failed or dropped; for
    ``ok`` a :data:`RESULT_COLUMN` of 1 or 0, for the others none. ``where`` names it in an error."""
    if not item:
        raise ArcloopError(f"{where}: no id; copy it from the batch file")
    status = status.lower() or OK
    if status not in RESULT_STATUSES:
        raise ArcloopError(f"{where}: status {status!r}; write ok, failed or dropped (or leave it empty)")
    if status == OK and value not in ("0", "1"):
        raise ArcloopError(f"{where}: {RESULT_COLUMN} {value!r}; write 1 (single phase) or 0 (not)")
    if status != OK and value:
        raise ArcloopError(f"{where}: status {status} carries no {RESULT_COLUMN}; leave that cell empty")
    return ResultRow(where, item, status, int(value) if status == OK else -1)


def read_results(path: Path) -> list[ResultRow]:
    """A results file: a CSV with the columns ``id`` and :data:`RESULT_COLUMN` (1 or 0), and
    optionally ``status`` (ok, failed, dropped). A row with neither a result nor a status is an item
    still out and is skipped, so the batch file itself, partly filled in, is a results file. Every
    other mistake is one line naming the file's line."""
    path = Path(path)
    if not path.is_file():
        raise ArcloopError(f"results file {path}: no such file")
    with reading(path, "results file"):
        text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    header = rows[0].keys() if rows else (text.splitlines() or [""])[0].split(",")
    for column in ("id", RESULT_COLUMN):
        if column not in header:
            raise ArcloopError(
                f"results file {path}: no {column!r} column; give each result as id,{RESULT_COLUMN}"
                " (1 single phase, 0 not) and, for an experiment that failed, status=failed"
            )
    results = []
    for line, row in enumerate(rows, start=2):
        where = f"{path.name} line {line}"
        item, value, status = _cell(row.get("id")), _cell(row.get(RESULT_COLUMN)), _cell(row.get("status"))
        if not value and not status:
            continue
        results.append(result_row(where, item, status, value))
    return results


def merged_results(pending: PendingBatch, rows: list[ResultRow]) -> tuple[PendingBatch, int]:
    """``pending`` with ``rows`` recorded, and how many rows repeated a result already recorded.

    An id outside the pending batch, two different results for one item (in the rows, or against
    one recorded earlier) are one-line errors naming the row; nothing is recorded then."""
    results = dict(pending.results)
    seen: dict[str, ResultRow] = {}
    repeats = 0
    for row in rows:
        if row.id not in pending.ids:
            raise ArcloopError(f"{row.where}: {_not_waiting(row.id, pending)}")
        answer = (row.status, row.label)
        if row.id in seen and (seen[row.id].status, seen[row.id].label) != answer:
            raise ArcloopError(f"{row.where}: a second, different result for {row.id} ({seen[row.id].where})")
        if row.id in results and row.id not in seen:
            if results[row.id] != answer:
                raise ArcloopError(
                    f"{row.where}: {row.id} already has the result {results[row.id][0]} "
                    f"{results[row.id][1]}; a result cannot be changed once recorded"
                )
            repeats += 1
        seen[row.id] = row
        results[row.id] = answer
    merged = PendingBatch(pending.iteration, pending.ids, pending.compositions, pending.proposed_at, results)
    return merged, repeats


def _not_waiting(item: str, pending: PendingBatch) -> str:
    """Why ``item`` cannot be recorded: an item of a measured iteration, or no item of the campaign."""
    iteration = item.removeprefix("it").partition("-")[0]
    if item.startswith("it") and iteration.isdigit() and int(iteration) < pending.iteration:
        return (
            f"{item} belongs to iteration {iteration}, already measured; "
            f"the batch waiting is iteration {pending.iteration}"
        )
    return f"id {item!r} is not in the batch waiting for results ({pending.ids[0]} … {pending.ids[-1]})"


@dataclass(frozen=True)
class Observed:
    """What :func:`observe_results` did: the batch's results so far, and the iteration's readings
    once it was measured (``metrics`` None while results are still out)."""

    iteration: int
    iterations: int
    recorded: int
    repeats: int
    missing: list[str]
    metrics: dict[str, float] | None = None
    summary: dict[str, Any] | None = None  # the finished campaign's, after its last batch


def observe_results(
    campaign: CampaignConfig, setup: CampaignSetup, rows: list[ResultRow], close: bool = False
) -> Observed:
    """Record ``rows`` against the pending batch; when no result is missing (or ``close``: the
    missing ones will never come and are ``dropped``), measure the batch as the synchronous loop does,
    checkpoint, log the iteration to MLflow, and, after the last iteration, finish the campaign."""
    with one_core():
        state_dir = Path(campaign.state_dir)
        state, models = start_or_resume(campaign, setup, resume=True)
        pending = read_pending(state_dir, state.iteration)
        if pending is None:
            raise ArcloopError(
                f"state dir {state_dir}: no batch is waiting for results; "
                f"arcloop propose --state-dir {state_dir} writes the next one"
            )
        before = len(pending.results)
        pending, repeats = merged_results(pending, rows)
        write_pending(state_dir, pending)
        recorded = len(pending.results) - before
        if pending.missing and not close:
            return Observed(pending.iteration, campaign.iterations, recorded, repeats, pending.missing)
        models = steps.train(setup, state, models)
        proposal = steps.propose(setup, state, models)
        if not np.array_equal(proposal.compositions, pending.compositions):
            raise ArcloopError(
                f"{pending_path(state_dir)}: the batch does not follow from the checkpoint (another "
                "arcloop version, or an edited file); its results are kept in the file, nothing is measured"
            )
        cost = float(getattr(setup.observe, "cost_per_label", DEFAULT_COST_PER_LABEL))
        labels = pending.labels(cost)
        state, metrics = steps.measure(setup, state, models, proposal, labels, 1)
        checkpoint(state_dir, state, models)
        tracking.log_metrics(campaign.tracking.uri, state.mlflow_run_id, metrics, pending.iteration)
        write_logged_step(state_dir, pending.iteration)
        steps.journal_oracle_call(state_dir, pending.iteration, 1, len(pending.ids), "ok", labels.seconds)
        pending_path(state_dir).unlink()
        done = _finished(campaign, setup, state, models) if state.iteration >= campaign.iterations else None
        return Observed(
            pending.iteration,
            campaign.iterations,
            recorded,
            repeats,
            pending.missing,
            {key: value for key, value in metrics.items() if not math.isnan(value)},
            done,
        )
