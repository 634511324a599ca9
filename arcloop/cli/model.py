"""``arcloop model``: evaluate the SSVAE with the paper's split protocol; train and save one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from arcloop.errors import ArcloopError

model_app = typer.Typer(help="The semi-supervised VAE: evaluation and training.", no_args_is_help=True)

MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` → [0, 1, 2, 3, 4]; ``"0,3,7"`` → [0, 3, 7]; ranges and lists may be mixed (``"0-2,9"``)."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ArcloopError(f"--seeds: cannot read {part!r}; use a range like 0-4 or a list like 0,3,7")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ArcloopError(f"--seeds: range {part!r} is empty; write the smaller seed first, e.g. 0-4")
        seeds.extend(range(low, high + 1))
    if len(seeds) > MAX_SEEDS:
        raise ArcloopError(f"--seeds: {len(seeds)} seeds; give at most {MAX_SEEDS}")
    return list(dict.fromkeys(seeds))


def _mean_std(summary: dict, key: str) -> str:
    return f"{summary[f'{key}_mean']:.3f} ± {summary[f'{key}_std']:.3f}"


@model_app.command("evaluate")
def evaluate_command(
    seeds: str = typer.Option("0-4", "--seeds", help="Split seeds: a range (0-4) or a list (0,3,7)."),
    labelled: int = typer.Option(
        864, "--labelled", help="Labelled alloys (≤ 864); the rest join the unlabelled pool."
    ),
    max_epochs: int | None = typer.Option(None, "--max-epochs", help="Override the epoch limit of each fit."),
    supervised: bool = typer.Option(
        True, "--supervised/--no-supervised", help="Also fit the supervised-only head."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Accuracy and ROC AUC (train/validation/test) per seed and mean ± std; also the supervised-only head."""
    from arcloop.models.evaluation import evaluate

    kwargs = {} if max_epochs is None else {"max_epochs": max_epochs}
    summary = evaluate(parse_seeds(seeds), n_labelled=labelled, model_kwargs=kwargs, supervised=supervised)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    first = summary["per_seed"][0]
    typer.echo(
        f"split: {first['n_labelled']} labelled, {first['n_unlabelled']} unlabelled, "
        f"{first['n_validation']} validation, {first['n_test']} test"
    )
    prefixes = [("SSVAE", "")] + ([("supervised", "supervised_")] if supervised else [])
    header = f"{'model':<11}{'seed':>5}" + "".join(
        f"{f'{s}_acc':>11}{f'{s}_auc':>10}" for s in ("train", "val", "test")
    )
    typer.echo(header + f"{'seconds':>9}")
    for name, prefix in prefixes:
        for row in summary["per_seed"]:
            cells = "".join(
                f"{row[f'{prefix}{s}_accuracy']:>11.3f}{row[f'{prefix}{s}_auc']:>10.3f}"
                for s in ("train", "validation", "test")
            )
            typer.echo(f"{name:<11}{int(row['seed']):>5}{cells}{row[f'{prefix}seconds']:>9.1f}")
    for name, prefix in prefixes:
        parts = [
            f"{s} acc {_mean_std(summary, f'{prefix}{s}_accuracy')}, "
            f"auc {_mean_std(summary, f'{prefix}{s}_auc')}"
            for s in ("train", "validation", "test")
        ]
        typer.echo(f"{name} mean ± std: " + "; ".join(parts))
        typer.echo(f"{name} seconds per fit (median): {summary[f'{prefix}seconds_per_fit_median']:.1f}")


@model_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the model file (weights and config).")],
    seed: int = typer.Option(0, "--seed", help="Split seed and model seed."),
    labelled: int = typer.Option(864, "--labelled", help="Labelled alloys (≤ 864)."),
    max_epochs: int | None = typer.Option(None, "--max-epochs", help="Override the epoch limit."),
    retrain: bool = typer.Option(
        False, "--retrain", help="Fit anew even if the cache ($ARCLOOP_CACHE_DIR) holds this model."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Train the SSVAE on one split of the paper's protocol and save it (for ``arcloop design --model``).

    The fit is cached by settings, data and seed: the same command again copies the cached model.
    """
    from arcloop.models.evaluation import train_on_split

    kwargs = {} if max_epochs is None else {"max_epochs": max_epochs}
    fitted: list[bool] = []
    model, scores = train_on_split(
        seed,
        n_labelled=labelled,
        model_kwargs=kwargs,
        cached=True,
        retrain=retrain,
        on_fit=lambda: fitted.append(True),
    )
    if not fitted and not as_json:
        typer.echo("model taken from the cache (--retrain to fit it anew)", err=True)
    model.save(out)
    result = {"path": str(out), "from_cache": not fitted, **scores}
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"saved {out}: test accuracy {scores['test_accuracy']:.3f}, test auc {scores['test_auc']:.3f}")


def register(root: typer.Typer) -> None:
    root.add_typer(model_app, name="model")
