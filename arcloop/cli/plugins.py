"""``arcloop policies|surrogates|oracles list``: every pluggable thing, from :mod:`arcloop.registry`."""

from __future__ import annotations

import json
from typing import Any

import typer

# command -> the registry kinds it lists, in order
LISTED: dict[str, tuple[str, ...]] = {
    "policies": ("policies", "builders"),
    "surrogates": ("surrogates",),
    "oracles": ("oracles", "wrappers"),
    "acquisitions": ("acquisitions",),
    "regressors": ("regressors",),
}


def param_text(name: str, spec: dict[str, Any]) -> str:
    """``name: type (default 1.0, >= 0)  doc``."""
    default = "required" if spec["required"] else f"default {json.dumps(spec['default'])}"
    bounds = f", {spec['bounds']}" if spec["bounds"] else ""
    doc = f"  {spec['doc']}" if spec.get("doc") else ""
    return f"{name}: {spec['type']} ({default}{bounds}){doc}"


def print_entries(entries: list[dict[str, Any]]) -> None:
    kind = None
    for entry in entries:
        if entry["kind"] != kind:
            kind = entry["kind"]
            typer.echo(f"{kind}s:" if not kind.endswith("y") else f"{kind[:-1]}ies:")
        typer.echo(f"  {entry['name']}  [{entry['source']}]  {entry.get('summary', '')}".rstrip())
        if "error" in entry:
            typer.echo(f"      error: {entry['error']}")
        for name, spec in entry["params"].items():
            typer.echo(f"      {param_text(name, spec)}")


def add_list_command(app: typer.Typer, command: str) -> None:
    """Add ``list [--json]`` for ``arcloop <command>`` to ``app``."""
    kinds = LISTED[command]

    @app.command("list")
    def list_command(
        as_json: bool = typer.Option(False, "--json", help="Print one JSON list."),
    ) -> None:
        """Built-ins and plugins with their parameters (type, default, bounds, meaning) and source; a
        plugin that fails to load is listed last with its error."""
        from arcloop import registry

        listed = registry.listing(*kinds)
        if as_json:
            typer.echo(json.dumps(listed))
            return
        print_entries(listed)


policies_app = typer.Typer(
    help="Steering policies and batch builders (built in and plugins).", no_args_is_help=True
)
surrogates_app = typer.Typer(help="Surrogates: P(single phase) with posterior draws.", no_args_is_help=True)
acquisitions_app = typer.Typer(
    help="Acquisitions of screening campaigns (arcloop campaign --dataset): EI, PI, LCB, ...",
    no_args_is_help=True,
)
regressors_app = typer.Typer(
    help="Surrogates of a property for screening campaigns: forest and GP regressors.", no_args_is_help=True
)
add_list_command(policies_app, "policies")
add_list_command(surrogates_app, "surrogates")
add_list_command(acquisitions_app, "acquisitions")
add_list_command(regressors_app, "regressors")


def register(root: typer.Typer) -> None:
    root.add_typer(policies_app, name="policies")
    root.add_typer(surrogates_app, name="surrogates")
    root.add_typer(acquisitions_app, name="acquisitions")
    root.add_typer(regressors_app, name="regressors")
