"""The ``arcloop`` command. Each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from arcloop.errors import ArcloopError
from arcloop.interrupt import CampaignInterrupted, ignore_further_signals, stopped_early

# The progress bar is the command line's view of a run; Prefect's per-task INFO lines would bury
# it. Set before Prefect is imported; PREFECT_LOGGING_LEVEL=INFO brings them back.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # "Creating initial MLflow database tables..."

app = typer.Typer(
    name="arcloop",
    help="Closed-loop materials discovery: campaigns, policies, oracles, and the bias the loop builds up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Imported lazily by name so that `arcloop data info` does not pay for torch, Prefect or MLflow.
COMMAND_MODULES: tuple[str, ...] = (
    "arcloop.cli.data",
    "arcloop.cli.model",
    "arcloop.cli.design",
    "arcloop.cli.oracles",
    "arcloop.cli.plugins",
    "arcloop.cli.campaign",
    "arcloop.cli.asktell",
    "arcloop.cli.benchmark",
    "arcloop.cli.study",
)

for _module in COMMAND_MODULES:
    try:
        importlib.import_module(_module).register(app)
    except ModuleNotFoundError as error:
        if error.name != _module:
            raise


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes print one line to stderr and exit with status 2."""
    try:
        with stopped_early():
            app(args=argv, prog_name="arcloop", standalone_mode=True)
    except ArcloopError as error:
        typer.echo(f"error: {error}", err=True)
        return 2
    except CampaignInterrupted as stop:
        # The rest is the interpreter's exit (Prefect's server going down): not cut short.
        ignore_further_signals()
        typer.echo(f"stopped: {stop}", err=True)
        return stop.exit_code
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 1
    return 0


def run() -> None:
    sys.exit(main())
