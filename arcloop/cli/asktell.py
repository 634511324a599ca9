"""``arcloop propose`` and ``arcloop observe``: a campaign whose results come from your laboratory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from arcloop.errors import ArcloopError


def _say_pending(outcome: Any, state_dir: Path) -> None:
    pending = outcome.pending
    verb = "to make" if outcome.new else "still waiting for results"
    typer.echo(
        f"iteration {pending.iteration + 1} of {outcome.iterations}: {len(pending.ids)} alloys {verb}, "
        f"{len(pending.missing)} results out: {outcome.batch_file}"
    )
    typer.echo(
        "fill in single_phase (1 or 0), or status failed, for the items that came back; then: "
        f"arcloop observe --state-dir {state_dir} {outcome.batch_file}"
    )


def propose(
    state_dir: Path = typer.Option(..., "--state-dir", help="the campaign's folder (created if new)"),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML CampaignConfig of a new campaign"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Write the next batch to make (or the one still waiting) as a CSV, and record it as pending."""
    from arcloop.campaign.asktell import open_campaign, propose_batch

    outcome = propose_batch(*open_campaign(config, state_dir))
    if as_json:
        pending = outcome.pending
        typer.echo(
            json.dumps(
                {
                    "iteration": pending.iteration if pending else None,
                    "iterations": outcome.iterations,
                    "batch_file": str(outcome.batch_file) if outcome.batch_file else None,
                    "new": outcome.new,
                    "ids": list(pending.ids) if pending else [],
                    "missing": pending.missing if pending else [],
                    "summary": outcome.summary,
                },
                default=float,
            )
        )
    elif outcome.pending is None:
        summary = outcome.summary or {}
        typer.echo(
            f"campaign finished: {summary.get('iterations')} iterations, "
            f"{summary.get('discovery/discoveries', 0):.0f} discoveries "
            f"(MLflow run {summary.get('mlflow_run_id')})"
        )
    else:
        _say_pending(outcome, state_dir)


def observe(
    results: Path | None = typer.Argument(None, help="CSV of results: id, single_phase (1/0), status"),
    state_dir: Path = typer.Option(..., "--state-dir", help="the campaign's folder"),
    close: bool = typer.Option(
        False, "--close", help="the results still out will never come: count them as lost (dropped)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Record results of the pending batch; once every item has one (or --close), measure the
    iteration, checkpoint it and log it to MLflow."""
    from arcloop.campaign.asktell import observe_results, open_campaign, read_results
    from arcloop.campaign.state import config_path

    if not config_path(state_dir).is_file():
        raise ArcloopError(f"state dir {state_dir}: no campaign here; start one with arcloop propose")
    if results is None and not close:
        raise ArcloopError("results: give the CSV of results (or --close to count the missing ones as lost)")
    rows = read_results(results) if results is not None else []
    outcome = observe_results(*open_campaign(None, state_dir), rows, close=close)
    resumed = _resume_waiting_flow(state_dir)
    if as_json:
        typer.echo(json.dumps({**outcome.__dict__, "resumed_flow_run": resumed}, default=float))
        return
    repeats = f" ({outcome.repeats} already recorded)" if outcome.repeats else ""
    typer.echo(f"iteration {outcome.iteration + 1}: {outcome.recorded} results recorded{repeats}")
    if outcome.metrics is None:
        typer.echo(
            f"waiting for {len(outcome.missing)}: {', '.join(outcome.missing)} "
            "(arcloop observe --close counts them as lost)"
        )
        return
    found = outcome.metrics
    typer.echo(
        f"measured: {found.get('discovery/hits', 0):.0f} hits, {found.get('discovery/discoveries', 0):.0f} "
        f"discoveries so far; logged to MLflow (step {outcome.iteration})"
    )
    if outcome.summary is not None:
        typer.echo(f"campaign finished (MLflow run {outcome.summary['mlflow_run_id']})")
    else:
        typer.echo(f"next batch: arcloop propose --state-dir {state_dir}")
    if resumed:
        typer.echo(f"resumed the waiting Prefect flow run {resumed}")


def _resume_waiting_flow(state_dir: Path) -> str | None:
    """A lab flow run waiting on this campaign (:mod:`arcloop.flows.lab`) is resumed: its state
    folder now holds what it waited for."""
    from arcloop.campaign.run import read_run_record

    waiting = read_run_record(state_dir).get("waiting_flow_run_id")
    if not waiting:
        return None
    from arcloop.flows.lab import resume_waiting

    return waiting if resume_waiting(waiting) else None


lab_app = typer.Typer(help="A simulated laboratory, to rehearse an ask/tell campaign.", no_args_is_help=True)


@lab_app.command("simulate")
def simulate(
    state_dir: Path = typer.Option(..., "--state-dir", help="the campaign's folder, with a batch waiting"),
    out: Path = typer.Option(..., "--out", help="CSV to write the results to (for arcloop observe)"),
    oracle: str | None = typer.Option(
        None, help="oracle the lab labels with (default: the campaign's; required for a lab campaign)"
    ),
    day: float = typer.Option(1e9, help="write the results that have arrived by this day"),
    since: float = typer.Option(-1.0, help="…and not by this one (results already written)"),
    mean_delay_days: float = typer.Option(3.0, "--mean-delay-days", help="mean delay of a result"),
    lost_fraction: float = typer.Option(0.0, "--lost-fraction", help="share of samples never returned"),
    seed: int = typer.Option(0, help="seed of the delays and losses"),
) -> None:
    """Answer the waiting batch as a laboratory would: each result late, some never, out of order.

    The labels are those the oracle gives a synchronous campaign of the same seed."""
    from arcloop.campaign.asktell import batch_compositions, batch_path, open_campaign, read_pending
    from arcloop.campaign.setup import rng_for
    from arcloop.campaign.state import load_checkpoint
    from arcloop.oracles import build_oracle
    from arcloop.oracles.lab import SimulatedLab, answers_later

    campaign, setup = open_campaign(None, state_dir)
    pending = read_pending(state_dir, load_checkpoint(state_dir)[0].iteration)
    if pending is None:
        raise ArcloopError(f"state dir {state_dir}: no batch is waiting; run arcloop propose first")
    labeller = build_oracle(oracle) if oracle is not None else setup.observe
    if answers_later(labeller):
        raise ArcloopError("--oracle: the campaign's oracle is your lab; name one to simulate (e.g. rules)")
    ids, X = batch_compositions(batch_path(state_dir, pending.iteration))
    lab = SimulatedLab(labeller, mean_delay_days, lost_fraction, seed)
    results = lab.run(ids, X, pending.iteration, rng_for(campaign.seed, pending.iteration, "oracle", 1))
    arrived = SimulatedLab.arrived(results, day, since)
    arrived.to_csv(out, index=False)
    typer.echo(f"{len(arrived)} results written to {out}; {len(ids) - len(arrived)} of {len(ids)} not in it")


def register(root: typer.Typer) -> None:
    root.command("propose")(propose)
    root.command("observe")(observe)
    root.add_typer(lab_app, name="lab")
