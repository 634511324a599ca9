"""``arcloop campaign`` and ``arcloop resume``: run one active-learning campaign."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from arcloop.errors import ArcloopError


def _figures(metrics: dict[str, float]) -> str:
    """The progress bar's readings, named as in MLflow (the part after the group)."""
    from arcloop.metrics.registry import progress_metrics

    parts = []
    for spec in progress_metrics():
        value = metrics.get(spec.name)
        if value is not None and math.isfinite(value):
            parts.append(f"{spec.short} {spec.fmt.format(value)}")
    return "  ".join(parts)


def run_with_progress(config: Any, resume: bool, show_progress: bool) -> dict[str, Any]:
    """Run the campaign flow with a rich progress bar on stderr (none with --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arcloop.flows.campaign import add_progress_listener, run_campaign
    from arcloop.interrupt import CampaignInterrupted, stop_on_signals
    from arcloop.tasks.settings import drain_events

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[figures]}"),
        console=Console(stderr=True),
        disable=not show_progress,
    )
    bar = progress.add_task("campaign", total=config.iterations, figures="starting Prefect…")

    def on_iteration(event: dict[str, Any]) -> None:
        progress.update(bar, completed=event["iteration"] + 1, figures=_figures(event["metrics"]))

    remove = add_progress_listener(on_iteration)
    try:
        with stop_on_signals(), progress:
            return run_campaign(config, resume=resume)
    except CampaignInterrupted as stop:
        if stop.advised:
            raise
        raise CampaignInterrupted(
            f"{stop}; resume with: arcloop resume {config.state_dir}", stop.signum, advised=True
        ) from None
    finally:
        remove()
        drain_events()


def _print_summary(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, default=float))
        return
    typer.echo(
        f"MLflow run {result['mlflow_run_id']}: {result['iterations']} iterations, "
        f"{result['labels_paid']} labels paid, {result['oracle_calls']} oracle calls"
    )
    for key, value in result.items():
        if "/" in key:
            typer.echo(f"  {key:34s} {value:.4g}")
    typer.echo(f"state: {result['state_dir']}   (resume with: arcloop resume {result['state_dir']})")


def campaign(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML CampaignConfig", exists=False),
    policy: str | None = typer.Option(None, help="policy name (arcloop policies list)"),
    oracle: str | None = typer.Option(None, help="oracle name (arcloop oracles list)"),
    source: str | None = typer.Option(None, help="candidate source: latent or pool"),
    iterations: int | None = typer.Option(None, help="number of iterations"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="labels per iteration"),
    seed: int | None = typer.Option(None, help="campaign seed"),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI"),
    experiment: str | None = typer.Option(None, help="MLflow experiment name"),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="checkpoint folder"),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        help="a packaged dataset (arcloop data list) or a CSV/Parquet file: a screening campaign",
    ),
    resume: bool = typer.Option(False, "--resume", help="continue the campaign in --state-dir"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object at the end"),
) -> None:
    """Run an active-learning campaign: train, propose, label, measure, checkpoint, log.

    With a dataset (--dataset or dataset: in the config) it is a screening campaign over that
    dataset's inputs, for its property and target (arcloop.screening)."""
    from arcloop.config import load_campaign_config, read_yaml

    base = read_yaml(config) if config else {}
    if dataset is not None or "dataset" in base:
        if oracle is not None or source is not None:
            raise ArcloopError(
                "--oracle and --source belong to alloy campaigns; a dataset campaign's oracle is its data"
            )
        overrides = {
            "dataset": dataset,
            "iterations": iterations,
            "batch_size": batch_size,
            "seed": seed,
            "tracking.uri": tracking_uri,
            "tracking.experiment": experiment,
            "state_dir": str(state_dir) if state_dir else None,
        }
        if policy is not None and (base.get("policy") or {}).get("name") != policy:
            overrides["policy"] = {"name": policy}
        _print_screening(_run_screening(base, overrides, resume), as_json)
        return
    overrides: dict[str, Any] = {
        "candidates.source": source,
        "iterations": iterations,
        "batch_size": batch_size,
        "seed": seed,
        "tracking.uri": tracking_uri,
        "tracking.experiment": experiment,
        "state_dir": str(state_dir) if state_dir else None,
    }
    # A different policy or oracle on the command line replaces the file's one with its defaults.
    for key, name in (("policy", policy), ("oracle", oracle)):
        if name is not None and (base.get(key) or {}).get("name") != name:
            overrides[key] = {"name": name}
    campaign_config = load_campaign_config(base, overrides).resolved()
    if not resume:
        from arcloop.campaign.state import record_config
        from arcloop.config import dump_yaml

        record_config(campaign_config.state_dir, dump_yaml(campaign_config))
    _print_summary(run_with_progress(campaign_config, resume, show_progress=not as_json), as_json)


def _run_screening(base: dict[str, Any], overrides: dict[str, Any], resume: bool) -> dict[str, Any]:
    from arcloop.config import load_config
    from arcloop.flows.screening import run_screening_flow
    from arcloop.screening import ScreeningConfig

    return run_screening_flow(load_config(ScreeningConfig, base, overrides), resume=resume)


def _print_screening(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, default=float))
        return
    typer.echo(
        f"{result['dataset']}: {result['target']}; {result['experiments']} experiments, "
        f"{result['targets_found']} of {result['n_targets']} targets found "
        f"(MLflow run {result['mlflow_run_id']})"
    )
    for key, value in result.items():
        if key.startswith(("top_after", "experiments_to", "af_", "ef_after")):
            typer.echo(f"  {key:22s} {value:.4g}")
    typer.echo(f"state: {result['state_dir']}   (history.csv, summary.json, top_fraction.png)")


def resume_campaign(
    state_dir: Path = typer.Argument(..., help="the campaign's --state-dir"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object at the end"),
) -> None:
    """Continue a stopped or crashed campaign from its last checkpoint, in the same MLflow run
    (stopped before its first checkpoint: from its saved config)."""
    from arcloop.campaign.state import config_path
    from arcloop.config import load_campaign_config

    if not config_path(state_dir).is_file():
        raise ArcloopError(
            f"state dir {state_dir}: no config.yaml; is this a campaign's --state-dir? (a campaign stopped "
            "before it read its config wrote nothing: run its command again)"
        )
    from arcloop.config import read_yaml

    saved = read_yaml(config_path(state_dir))
    if "dataset" in saved:
        _print_screening(_run_screening(saved, {"state_dir": str(state_dir)}, True), as_json)
        return
    campaign_config = load_campaign_config(config_path(state_dir), {"state_dir": str(state_dir)})
    _print_summary(run_with_progress(campaign_config, True, show_progress=not as_json), as_json)


def register(root: typer.Typer) -> None:
    root.command("campaign")(campaign)
    root.command("resume")(resume_campaign)
