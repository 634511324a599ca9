"""``arcloop oracles``: list the oracles (built-ins and plugins) and wrappers; describe one."""

from __future__ import annotations

import json
import math
from typing import Any

import typer

from arcloop.errors import ArcloopError

oracles_app = typer.Typer(
    help="Simulated laboratories: built-in and plugin oracles, and the wrappers around them.",
    no_args_is_help=True,
)


def _param_text(name: str, spec: dict[str, Any]) -> str:
    default = "required" if spec["required"] else f"default {json.dumps(spec['default'])}"
    bounds = f", {spec['bounds']}" if spec["bounds"] else ""
    return f"{name}: {spec['type']} ({default}{bounds})"


def _print_entries(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        typer.echo(f"  {entry['name']}  [{entry['source']}]  {entry.get('summary', '')}".rstrip())
        if "error" in entry:
            typer.echo(f"      error: {entry['error']}")
        for name, spec in entry["params"].items():
            typer.echo(f"      {_param_text(name, spec)}")


@oracles_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of the oracles."),
) -> None:
    """Built-in and plugin oracles with their parameters, then the wrappers."""
    from arcloop.oracles import list_oracles, list_wrappers

    oracles = list_oracles()
    if as_json:
        typer.echo(json.dumps(oracles))
        return
    typer.echo("oracles:")
    _print_entries(oracles)
    typer.echo("wrappers (put them around any oracle in its config's 'wrappers' list):")
    _print_entries(list_wrappers())


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
    from arcloop.oracles import describe, get

    info = describe(name)
    params = _parse_assignments(param)
    if info["kind"] == "oracle":
        oracle = get(name, **params)
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
        typer.echo(f"  {_param_text(key, spec)}")
    for line in _diagnostics_text(info.get("diagnostics", {})):
        typer.echo(line)


def register(root: typer.Typer) -> None:
    root.add_typer(oracles_app, name="oracles")
