"""One campaign, independent of the orchestrator: preflight, start or resume, the loop, finish.

The loop calls its steps through a :class:`StepExecutor`. The campaign flow passes one whose steps
are Prefect tasks (retries, UI timeline); a benchmark runs whole campaigns inside single tasks and
passes :class:`DirectExecutor`, whose oracle retries are a plain loop with the same semantics.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from arcloop import __version__, interrupt, registry, tracking
from arcloop.campaign import steps
from arcloop.campaign.setup import CampaignSetup, Proposal, initial_state, prepare
from arcloop.campaign.state import (
    CampaignState,
    config_path,
    latest_checkpoint,
    load_checkpoint,
    reading,
    record_config,
    save_checkpoint,
    write_atomically,
)
from arcloop.config import CampaignConfig, dump_yaml, read_yaml, validated
from arcloop.cores import one_core
from arcloop.errors import ArcloopError
from arcloop.interrupt import CampaignInterrupted
from arcloop.materials import parse_formula
from arcloop.oracles import LabelBatch, OracleError, OracleTimeout
from arcloop.report.campaign_figures import latent_map, metric_trajectories

LOGGED_FILE = "logged_step"
LOGGED_SENTINEL = "discovery/labels_paid"  # defined (finite) at every step, so logged with every step
RUN_FILE = "run.json"  # token, fingerprint, MLflow run id, Prefect flow run id of the campaign
TOKEN_TAG = "arcloop.campaign_token"
SUMMARY_GROUPS = ("discovery/", "bias/", "diversity/")
Notify = Callable[[dict[str, Any]], None]
T = TypeVar("T")


class StepExecutor(Protocol):
    """How the loop's steps are run: ``executor(step, *args, iteration=i)`` returns ``step(*args)``,
    called directly or as a Prefect task named after the step and the iteration. The steps, and their
    signatures, are the functions themselves (``steps.train``, ``steps.propose``,
    :func:`label_with_retries`, ``steps.measure``, :func:`checkpoint`, ``tracking.log_metrics``)."""

    def __call__(self, step: Callable[..., T], *args: Any, iteration: int) -> T: ...


def checkpoint(state_dir: Path, state: CampaignState, models: steps.Models | None) -> Path:
    """Checkpoint the state and, once there are any, the models (see :mod:`arcloop.campaign.state`)."""
    return save_checkpoint(state_dir, state, save_model=models.save if models is not None else None)


def timed_call(call: Callable[[], T], timeout_seconds: float, what: str) -> T:
    """``call()`` in a worker thread, waited for at most ``timeout_seconds``: OracleTimeout otherwise.

    Python cannot interrupt a thread: a call that overruns is abandoned (a daemon thread, its result
    discarded), as a laboratory abandons an instrument that stopped answering. Used for every oracle
    call of every executor, so a timeout means the same on the main thread, in a worker thread, in a
    process pool and on Dask (Prefect's own task timeout only marks a worker-thread task)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except BaseException as error:  # re-raised in the caller's thread
            result["error"] = error

    worker = threading.Thread(target=run, name=f"arcloop-{what}", daemon=True)
    worker.start()
    worker.join(timeout_seconds)
    if worker.is_alive():
        raise OracleTimeout(f"{what}: no answer after {timeout_seconds} s (oracle_calls.timeout_seconds)")
    if "error" in result:
        raise result["error"]
    return result["value"]


def label_once(
    setup: CampaignSetup,
    proposal: Proposal,
    iteration: int,
    attempt: int,
    state_dir: Path,
    timeout_seconds: float | None = None,
) -> LabelBatch:
    """One journalled oracle call: every call leaves a line in ``oracle_calls.jsonl`` before it is
    made and one with its outcome after (failed, timed out or not; none when a kill interrupts it).
    With ``timeout_seconds`` the call is timed (:func:`timed_call`)."""
    steps.journal_oracle_call(state_dir, iteration, attempt, len(proposal.batch), steps.ASKED)
    start = time.perf_counter()
    try:
        if timeout_seconds is None:
            labels = steps.label(setup, proposal, iteration, attempt)
        else:
            labels = timed_call(
                lambda: steps.label(setup, proposal, iteration, attempt),
                timeout_seconds,
                f"oracle call {iteration}.{attempt}",
            )
    except Exception as error:  # an OracleError, or a fault in the oracle's code: on record either way
        outcome, seconds = type(error).__name__, time.perf_counter() - start
        steps.journal_oracle_call(state_dir, iteration, attempt, len(proposal.batch), outcome, seconds)
        raise
    seconds = time.perf_counter() - start
    steps.journal_oracle_call(state_dir, iteration, attempt, len(proposal.batch), "ok", seconds)
    return labels


def label_with_retries(
    setup: CampaignSetup,
    proposal: Proposal,
    iteration: int,
    state_dir: Path,
    retries: int,
    timeout_seconds: float,
) -> tuple[LabelBatch, int]:
    """The oracle call of one iteration, as every executor makes it: each attempt timed and
    journalled, an instrument fault (OracleFailure, OracleTimeout) retried up to ``retries`` times
    with a fresh random draw (the attempt number is part of the draw's seed). Returns the labels
    and the number of attempts; the last fault is raised when every attempt failed."""
    for attempt in range(1, retries + 2):
        try:
            return label_once(setup, proposal, iteration, attempt, state_dir, timeout_seconds), attempt
        except OracleError:
            if attempt > retries:
                raise
    raise AssertionError("unreachable")


class DirectExecutor:
    """Steps as plain calls (a benchmark runs whole campaigns inside one task each)."""

    def __call__(self, step: Callable[..., T], *args: Any, iteration: int) -> T:
        return step(*args)


def checked_config(config: dict[str, Any] | CampaignConfig, asks_and_tells: bool = False) -> CampaignConfig:
    """The config validated and resolved, its oracle fit for the way the campaign is driven (see
    :func:`preflight`): the checks that read neither a state folder nor a store."""
    campaign = (
        config if isinstance(config, CampaignConfig) else validated(CampaignConfig, config)
    ).resolved()
    later = getattr(registry.factory("oracles", campaign.oracle.name), "answers_later", False)
    if later and not asks_and_tells:
        raise ArcloopError(
            f"oracle {campaign.oracle.name!r}: its results come from your experiments; run the campaign "
            f"with arcloop propose --state-dir {campaign.state_dir} and arcloop observe"
        )
    return campaign


def fit_first_model(config: dict[str, Any] | CampaignConfig) -> None:
    """Fit the campaign's iteration-0 SSVAE into the model cache, or find it there
    (:func:`arcloop.campaign.steps.first_fit`): a benchmark does this once for the campaigns that
    share it, before they start."""
    setup = prepare(checked_config(config, asks_and_tells=True))
    steps.first_fit(setup, initial_state(setup))


def preflight(
    config: dict[str, Any] | CampaignConfig, resume: bool, asks_and_tells: bool = False
) -> tuple[CampaignConfig, CampaignSetup]:
    """Every check that can fail on a user mistake, before the first oracle call (one-line errors).

    ``asks_and_tells``: the campaign is driven by ``propose`` / ``observe``
    (:mod:`arcloop.campaign.asktell`); only such a campaign may have an oracle that answers later."""
    campaign = checked_config(config, asks_and_tells)
    has_checkpoint = latest_checkpoint(campaign.state_dir) is not None
    if not resume and not has_checkpoint:
        record_config(campaign.state_dir, dump_yaml(campaign))  # the CLI has, unless called from code
    tracking.check_reachable(campaign.tracking.uri)
    setup = prepare(campaign)
    if resume and not has_checkpoint and not config_path(campaign.state_dir).is_file():
        raise ArcloopError(f"state dir {campaign.state_dir}: no campaign to resume; drop --resume to start")
    if not resume and has_checkpoint:
        raise ArcloopError(
            f"state dir {campaign.state_dir} already holds a campaign; "
            "add --resume to continue it or choose another --state-dir"
        )
    if resume and has_checkpoint:
        _check_checkpoint(campaign)
    return campaign, setup


def _check_checkpoint(config: CampaignConfig) -> None:
    """Read the checkpoint a resume will continue from, so that a damaged file or another config is
    one line before anything is started (the flow reads it again: a few small files)."""
    state, model_path = load_checkpoint(config.state_dir)
    _check_fingerprint(config, state)
    read_run_record(config.state_dir)
    _read_logged_step(config.state_dir)
    if model_path is not None:
        steps.Models.load(model_path)


def _check_fingerprint(config: CampaignConfig, state: CampaignState) -> None:
    if state.fingerprint != config.fingerprint():
        raise ArcloopError(
            f"state dir {config.state_dir}: its checkpoint was made with a different config"
            f"{_why_configs_differ(Path(config.state_dir), config)}; resume with the same config "
            "(arcloop resume STATE_DIR) or start again in a new --state-dir"
        )


def run_tags(config: CampaignConfig) -> dict[str, str]:
    selection_biased = any(wrapper.name == "selection_biased" for wrapper in config.oracle.wrappers)
    return {
        "policy": config.policy.name,
        "oracle": config.oracle.name,
        "source": config.candidates.source,
        "scenario": config.scenario.kind + ("+selection_bias" if selection_biased else ""),
        "seed": str(config.seed),
        "arcloop_version": __version__,
    }


def _read_logged_step(state_dir: Path) -> int:
    path = Path(state_dir) / LOGGED_FILE
    if not path.is_file():
        return -1
    with reading(path):
        return int(path.read_text())


def write_logged_step(state_dir: Path, step: int) -> None:
    write_atomically(Path(state_dir) / LOGGED_FILE, str(step))


def read_run_record(state_dir: Path) -> dict[str, Any]:
    """What ``run.json`` says about the campaign's runs (empty before the campaign started)."""
    path = Path(state_dir) / RUN_FILE
    if not path.is_file():
        return {}
    with reading(path):
        record = json.loads(path.read_text())
        if not isinstance(record, dict):
            raise ValueError("not a mapping")
        return record


def update_run_record(state_dir: Path, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into ``run.json`` (replaced atomically); returns the new record."""
    record = {**read_run_record(state_dir), **changes}
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    write_atomically(Path(state_dir) / RUN_FILE, json.dumps(record))
    return record


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


def _run_before_first_checkpoint(config: CampaignConfig, adopt: bool) -> str | None:
    """The MLflow run a campaign killed before its first checkpoint had created, if any.

    ``adopt``: return it (still in the store, same config) for the restart to continue in;
    otherwise end it as KILLED, so that no run stays RUNNING with nothing behind it.
    """
    uri, record = config.tracking.uri, read_run_record(config.state_dir)
    if "token" not in record:
        return None
    run_id = record.get("mlflow_run_id") or tracking.find_run(
        uri, config.tracking.experiment, TOKEN_TAG, record["token"]
    )
    if run_id is None or tracking.run_status(uri, run_id) is None:
        return None
    if adopt and record.get("fingerprint") == config.fingerprint():
        _say(f"continuing MLflow run {run_id}, created before the campaign was stopped")
        return run_id
    if tracking.run_status(uri, run_id) in tracking.store.ACTIVE_STATUSES:
        tracking.end_run(uri, run_id, status="KILLED")
        _say(f"MLflow run {run_id} of the campaign stopped before its first checkpoint: ended as KILLED")
    return None


def _start(
    config: CampaignConfig,
    setup: CampaignSetup,
    adopt: bool,
    parent_run_id: str | None,
    extra_tags: dict[str, str] | None,
) -> CampaignState:
    """A fresh campaign: config.yaml, the MLflow run (adopted or new), checkpoint 0."""
    state_dir, uri = Path(config.state_dir), config.tracking.uri
    state_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(config_path(state_dir), dump_yaml(config))
    run_id = _run_before_first_checkpoint(config, adopt)
    tags = {**run_tags(config), **(extra_tags or {})}
    if run_id is not None:
        token = read_run_record(state_dir)["token"]
        tracking.mark_running(uri, run_id)
        # Tags and params again: the kill may have cut their logging short (same values: no-ops).
        tracking.set_run_data(uri, run_id, {**tags, TOKEN_TAG: token}, config.flat(), parent_run_id)
    else:
        # The token reaches the store before the run id reaches run.json: a kill in between still
        # leaves a way to find the run.
        token = uuid.uuid4().hex
        update_run_record(state_dir, token=token, fingerprint=config.fingerprint(), mlflow_run_id=None)
        run_id = tracking.start_run(
            uri,
            config.tracking.experiment,
            config.run_name,
            tags={**tags, TOKEN_TAG: token},
            params=config.flat(),
            parent_run_id=parent_run_id,
        )
    update_run_record(state_dir, mlflow_run_id=run_id)
    tracking.log_artifacts(uri, run_id, [config_path(state_dir)])
    state = replace(initial_state(setup), mlflow_run_id=run_id)
    save_checkpoint(state_dir, state)
    return state


def _why_configs_differ(state_dir: Path, config: CampaignConfig) -> str:
    """ " (…)" naming what differs from the folder's config.yaml, when that file says; else ""."""
    try:
        saved = read_yaml(config_path(state_dir))
    except ArcloopError:
        return ""
    why = config.differences_from(saved)
    return f" ({why})" if why else " (config.yaml was edited since, or another arcloop version wrote it)"


def start_or_resume(
    config: CampaignConfig,
    setup: CampaignSetup,
    resume: bool,
    parent_run_id: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> tuple[CampaignState, steps.Models | None]:
    """The state to continue from: a fresh campaign (new MLflow run, checkpoint 0) or the last checkpoint.

    ``resume`` with no checkpoint yet (stopped before checkpoint 0) starts from the saved config,
    in the MLflow run the stopped campaign had created, if it had.
    """
    state_dir = Path(config.state_dir)
    uri = config.tracking.uri
    if not resume or latest_checkpoint(state_dir) is None:
        return _start(config, setup, resume, parent_run_id, extra_tags), None
    state, model_path = load_checkpoint(state_dir)
    _check_fingerprint(config, state)
    if not state.mlflow_run_id or not tracking.run_exists(uri, state.mlflow_run_id):
        raise ArcloopError(
            f"tracking uri {uri!r} does not hold run {state.mlflow_run_id}; "
            "resume with the store the campaign used"
        )
    tracking.mark_running(uri, state.mlflow_run_id)
    # Metrics of finished iterations whose logging the crash cut off. A kill between the log call and
    # the logged_step file leaves a step logged but not noted: MLflow itself says which steps it holds
    # (one log_batch per step, so one always-defined reading stands for the step).
    pending = range(_read_logged_step(state_dir) + 1, state.iteration)
    held = tracking.logged_steps(uri, state.mlflow_run_id, LOGGED_SENTINEL) if pending else set()
    for step in pending:
        if step not in held:
            tracking.log_metrics(uri, state.mlflow_run_id, state.metrics[step], step)
        write_logged_step(state_dir, step)
    return state, steps.Models.load(model_path) if model_path else None


def finish(config: CampaignConfig, setup: CampaignSetup, state: CampaignState, models: steps.Models) -> None:
    """Artifacts of a finished campaign: history table, latent map, trajectories, final model."""
    model = models.ssvae
    uri, run_id = config.tracking.uri, state.mlflow_run_id
    assert run_id is not None
    with tempfile.TemporaryDirectory(prefix="arcloop-artifacts-") as folder:
        out = Path(folder)
        history = pd.DataFrame(state.history)
        history.to_csv(out / "history.csv", index=False)
        pool_z = model.encode(setup.pool_X[setup.loop_rows])
        # Proposals in the final model's latent space, from their 1 at.% formulas.
        proposal_z = (
            model.encode(np.stack([parse_formula(formula) for formula in history["formula"]]))
            if len(history)
            else pool_z[:0]
        )
        latent_map(
            out / "latent_map.png",
            pool_z,
            proposal_z,
            history["iteration"].to_numpy() if len(history) else np.zeros(0),
            history["observed_label"].to_numpy() if len(history) else np.zeros(0),
            title=f"{config.run_name}: final latent space",
        )
        metric_trajectories(out / "metric_trajectories.png", state.metrics)
        (out / "final_metrics.json").write_text(json.dumps(state.metrics[-1] if state.metrics else {}))
        model.save(out / "model.pt")
        tracking.log_artifacts(uri, run_id, [out / "history.csv", out / "final_metrics.json"])
        tracking.log_artifacts(
            uri, run_id, [out / "latent_map.png", out / "metric_trajectories.png"], "figures"
        )
        tracking.log_artifacts(uri, run_id, [out / "model.pt"], "model")


def summary(config: CampaignConfig, state: CampaignState) -> dict[str, Any]:
    final = state.metrics[-1] if state.metrics else {}
    return {
        "mlflow_run_id": state.mlflow_run_id,
        "state_dir": str(Path(config.state_dir).resolve()),
        "iterations": state.iteration,
        "labels_paid": int(state.paid.sum()),
        "oracle_calls": state.oracle_calls,
        "history_sha256": steps.history_digest(state),
        **{key: value for key, value in final.items() if key.startswith(SUMMARY_GROUPS)},
    }


def drive(
    campaign: CampaignConfig,
    setup: CampaignSetup,
    executor: StepExecutor,
    resume: bool = False,
    parent_run_id: str | None = None,
    notify: Notify | None = None,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The loop of docs/design.md, checkpointed after every labelled batch, tracked in one MLflow run.

    A stop request (:mod:`arcloop.interrupt`) is honoured between steps: the MLflow run ends as
    KILLED and :class:`CampaignInterrupted` says how to resume. The loop runs its numerical libraries
    on one thread each (:func:`arcloop.cores.one_core`).
    """
    with one_core():
        return _drive(campaign, setup, executor, resume, parent_run_id, notify, extra_tags)


def _drive(
    campaign: CampaignConfig,
    setup: CampaignSetup,
    executor: StepExecutor,
    resume: bool,
    parent_run_id: str | None,
    notify: Notify | None,
    extra_tags: dict[str, str] | None,
) -> dict[str, Any]:
    uri = campaign.tracking.uri
    state_dir = Path(campaign.state_dir)
    oracle_calls = (campaign.oracle_calls.retries, campaign.oracle_calls.timeout_seconds)
    state, models = start_or_resume(campaign, setup, resume, parent_run_id, extra_tags)
    run_id = state.mlflow_run_id
    assert run_id is not None
    try:
        while state.iteration < campaign.iterations:
            iteration = state.iteration
            interrupt.check()
            models = executor(steps.train, setup, state, models, iteration=iteration)
            interrupt.check()
            proposal = executor(steps.propose, setup, state, models, iteration=iteration)
            interrupt.check()
            labels, attempts = executor(
                label_with_retries, setup, proposal, iteration, state_dir, *oracle_calls, iteration=iteration
            )
            state, metrics = executor(
                steps.measure, setup, state, models, proposal, labels, attempts, iteration=iteration
            )
            executor(checkpoint, state_dir, state, models, iteration=iteration)
            executor(tracking.log_metrics, uri, run_id, metrics, iteration, iteration=iteration)
            write_logged_step(state_dir, iteration)
            if notify is not None:
                notify({"iteration": iteration, "iterations": campaign.iterations, "metrics": metrics})
        if models is None:
            models = executor(steps.train, setup, state, None, iteration=state.iteration)
        finish(campaign, setup, state, models)
    except (CampaignInterrupted, KeyboardInterrupt) as stop:
        tracking.end_run(uri, run_id, status="KILLED")
        signum = getattr(stop, "signum", interrupt.requested() or 2)
        raise CampaignInterrupted(
            f"campaign stopped at iteration {state.iteration} of {campaign.iterations}; "
            f"MLflow run {run_id} ended as KILLED; resume with: arcloop resume {state_dir}",
            signum,
            advised=True,
        ) from None
    except BaseException:
        tracking.end_run(uri, run_id, status="FAILED")
        raise
    tracking.end_run(uri, run_id, status="FINISHED")
    return summary(campaign, state)
