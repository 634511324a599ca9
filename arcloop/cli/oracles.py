"""``arcloop oracles``: list the oracles (built-ins and plugins) and wrappers; describe one."""

from __future__ import annotations

import json
import math
from typing import Any

import typer

from arcloop.cli.plugins import add_list_command, param_text
from arcloop.errors import ArcloopError

oracles_app = typer.Typer(
    help="Simulated laboratories: built-in and plugin oracles, and the wrappers around them.",
    no_args_is_help=True,
)


add_list_command(oracles_app, "oracles")


def _parse_assignments(assignments: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for text in assignments:
        key, sep, raw = text.partition("=")
        if not sep or not key:
            raise ArcloopError(
                f"--param: expected key=value (value in JSON, e.g. vec_rule=true), got {text!r}"
            )
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw  # a bare word is a string, e.g. model=random_forest
    return params


def _number(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}"
    return json.dumps(value)


def _diagnostics_text(diagnostics: dict[str, Any]) -> list[str]:
    lines = []
    agree = diagnostics.get("agreement_with_real_labels")
    if agree:
        (tn, fp), (fn, tp) = agree["confusion"]
        lines.append(
            f"agreement with the {agree['n']:,} real labels: accuracy {agree['accuracy']:.3f}, "
            f"balanced accuracy {agree['balanced_accuracy']:.3f}, precision {agree['precision']:.3f}, "
            f"recall {agree['recall']:.3f} (tn {tn}, fp {fp}, fn {fn}, tp {tp})"
        )
    cv = diagnostics.get("cross_validation")
    if cv:
        lines.append(
            f"{cv['folds']}-fold cross-validation: "
            f"accuracy {cv['accuracy_mean']:.3f} ± {cv['accuracy_std']:.3f}, "
            f"ROC AUC {cv['roc_auc_mean']:.3f} ± {cv['roc_auc_std']:.3f}"
        )
    for key, value in diagnostics.items():
        if key not in ("agreement_with_real_labels", "cross_validation"):
            shown = ", ".join(_number(v) for v in value) if isinstance(value, list) else _number(value)
            lines.append(f"{key}: {shown}")
    return lines


@oracles_app.command("describe")
def describe_command(
    name: str = typer.Argument(..., help="Oracle or wrapper name (see `arcloop oracles list`)."),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Parameter as key=value (JSON value), repeatable; oracles only."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Parameters of an oracle or wrapper and, for oracles, how well it agrees with the real labels."""
    from arcloop import registry

    kind = "wrappers" if name in registry.available("wrappers") else "oracles"
    info = registry.describe(kind, name)
    params = _parse_assignments(param)
    if info["kind"] == "oracle":
        oracle = registry.get("oracles", name, **params)
        diagnostics = oracle.diagnostics() if hasattr(oracle, "diagnostics") else {}
        info = {**info, "values": getattr(oracle, "params", params), "diagnostics": diagnostics}
    elif params:
        raise ArcloopError(
            f"--param: {name!r} is a wrapper; describe shows its parameters, it takes no values"
        )
    if as_json:
        typer.echo(json.dumps(info))
        return
    typer.echo(f"{info['name']} ({info['kind']}, {info['source']}): {info['summary']}")
    typer.echo("parameters:")
    for key, spec in info["params"].items():
        typer.echo(f"  {param_text(key, spec)}")
    for line in _diagnostics_text(info.get("diagnostics", {})):
        typer.echo(line)


def register(root: typer.Typer) -> None:
    root.add_typer(oracles_app, name="oracles")
