"""``arcloop study``: run (or resume) a study's arms and write its committed results."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def study(
    config: Path = typer.Option(..., "--config", "-c", help="the study file (studies/*/study.yaml)"),
    quick: bool = typer.Option(False, "--quick", help="the small grid of the file's `quick` section"),
    work_dir: Path | None = typer.Option(
        None,
        "--work-dir",
        help="campaign states and MLflow store (default arcloop-output/study-NAME[-quick])",
    ),
    results: Path | None = typer.Option(
        None, "--results", help="where the results go (default: the file's results_dir beside it)"
    ),
    runner: str | None = typer.Option(None, help="processes (default) | dask | threads"),
    max_workers: int | None = typer.Option(None, "--max-workers", help="campaigns at once"),
    report_only: bool = typer.Option(
        False, "--report-only", help="rewrite report.md and effects.csv from the results folder's tables"
    ),
) -> None:
    """Run a study; the same command again resumes it where it stopped."""
    from arcloop.study.config import load_study_config

    spec = load_study_config(config)
    folder = config.resolve().parent
    results_dir = results or folder / (spec.quick_results_dir if quick else spec.results_dir)
    if report_only:
        from arcloop.study.report import refresh_report

        for path in refresh_report(spec, results_dir, quick):
            typer.echo(str(path))
        return
    from arcloop.flows.study import run_study

    work = work_dir or Path("arcloop-output") / f"study-{spec.name}{'-quick' if quick else ''}"
    outcome = run_study(
        spec, quick, work, results_dir, ["arcloop", *sys.argv[1:]], runner=runner, max_workers=max_workers
    )
    typer.echo((results_dir / "report.md").read_text())
    typer.echo(f"results: {results_dir}   work folder: {work.resolve()}   arms: {outcome['folders']}")


def register(root: typer.Typer) -> None:
    root.command("study")(study)
