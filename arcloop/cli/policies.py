"""``arcloop policies``: the registered steering policies and their parameters."""

from __future__ import annotations

import json

import typer

policies_app = typer.Typer(help="Steering policies (built in and plugins).", no_args_is_help=True)


def _json_default(value: object) -> object:
    return repr(value)


@policies_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print one JSON list.")) -> None:
    """Every policy with its parameters (default, type, meaning) and where it comes from."""
    from arcloop.policies import get_policy, list_policies

    listed = list_policies()
    if as_json:
        typer.echo(json.dumps(listed, default=_json_default))
        return
    for entry in listed:
        summary = getattr(get_policy(entry["name"]), "summary", "")
        typer.echo(f"{entry['name']} ({entry['source']})" + (f": {summary}" if summary else ""))
        for pname, spec in entry["params"].items():
            doc = f"  {spec['doc']}" if spec["doc"] else ""
            typer.echo(f"    {pname}: {spec['type']} = {spec['default']!r}{doc}")


def register(root: typer.Typer) -> None:
    root.add_typer(policies_app, name="policies")
