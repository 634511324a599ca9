"""``arcloop design``: inverse design with the SSVAE (the iterative flip loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

design_app = typer.Typer(help="Inverse design with the SSVAE.", no_args_is_help=True)


@design_app.command("flip")
def flip_command(
    formula: str = typer.Argument(..., help="Start composition, e.g. Fe14Ni16Cr22Co14Al22Cu8."),
    cutoff: float = typer.Option(0.6, "--cutoff", help="Stop once p(single phase) ≥ cutoff."),
    max_steps: int = typer.Option(10, "--max-steps", help="Give up after this many steps."),
    target: int = typer.Option(1, "--target", help="1: towards single phase; 0: towards multiple phases."),
    model_path: Annotated[
        Path | None,
        typer.Option("--model", help="A model file from `arcloop model train`; without it, train one here."),
    ] = None,
    seed: int = typer.Option(0, "--seed", help="Split and model seed when training a model here."),
    retrain: bool = typer.Option(
        False,
        "--retrain",
        help="Fit the model anew instead of taking it from the cache ($ARCLOOP_CACHE_DIR).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Encode as the current phase, decode as the target phase, re-check with the head; repeat."""
    from arcloop.materials import parse_formula
    from arcloop.models import SSVAE
    from arcloop.models.design import flip
    from arcloop.models.evaluation import train_on_split

    parse_formula(formula)  # a bad formula fails before any training
    if model_path is not None:
        model = SSVAE.load(model_path)
    else:
        model, _ = train_on_split(
            seed,
            cached=True,
            retrain=retrain,
            on_fit=lambda: typer.echo(
                f"training the SSVAE on split seed {seed} (kept in the cache)", err=True
            ),
        )
    trajectory = flip(model, formula, cutoff=cutoff, max_steps=max_steps, target=target)
    last = trajectory[-1].p_single
    reached = last >= cutoff if target == 1 else last <= 1.0 - cutoff
    if as_json:
        result = {"start": formula, "cutoff": cutoff, "target": target, "reached": reached}
        typer.echo(json.dumps({**result, "trajectory": [step.as_dict() for step in trajectory]}))
        return
    typer.echo(f"{'step':>4}  {'p_single':>8}  {'z':<20}  formula")
    for step in trajectory:
        z = "(" + ", ".join(f"{v:+.2f}" for v in step.z) + ")"
        typer.echo(f"{step.step:>4}  {step.p_single:>8.3f}  {z:<20}  {step.formula}")
    verdict = "reached" if reached else "not reached"
    typer.echo(f"cutoff {cutoff} {verdict} after {len(trajectory) - 1} step(s)")


def register(root: typer.Typer) -> None:
    root.add_typer(design_app, name="design")
