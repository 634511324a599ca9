"""Serve the deployments declared in ``prefect.yaml`` (schedules and parameters included).

``prefect deploy --all`` + a work pool + ``prefect worker start`` is the production path;
``arcloop serve`` is the one-process path: it reads the same file and serves every deployment
from this process, so a laptop or a single VM runs the nightly benchmark with nothing else.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from arcloop.config import read_yaml
from arcloop.errors import ArcloopError


def load_deployments(prefect_file: Path) -> list[dict[str, Any]]:
    path = Path(prefect_file)
    if not path.is_file():
        raise ArcloopError(f"--prefect-file {path}: no such file; run from the repository or pass its path")
    data = read_yaml(path)
    deployments = data.get("deployments") or []
    if not deployments:
        raise ArcloopError(f"{path}: declares no deployments")
    return deployments


def _flow_of(entrypoint: str) -> Any:
    """``arcloop.flows.benchmark:benchmark_flow`` (or ``arcloop/flows/benchmark.py:...``) → the flow
    object, imported as a module of the package."""
    module_path, _, name = entrypoint.partition(":")
    module = module_path.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module), name)


def _absolute_paths(parameters: dict[str, Any], base: Path) -> dict[str, Any]:
    """A ``config`` given as a relative YAML path is resolved against the prefect.yaml folder."""
    resolved = dict(parameters)
    config = resolved.get("config")
    if isinstance(config, str) and not Path(config).is_absolute():
        resolved["config"] = str((base / config).resolve())
    return resolved


def runner_deployments(prefect_file: Path) -> list[Any]:
    base = Path(prefect_file).resolve().parent
    built = []
    for spec in load_deployments(prefect_file):
        schedules = spec.get("schedules") or []
        crons = [item["cron"] for item in schedules if "cron" in item]
        built.append(
            _flow_of(spec["entrypoint"]).to_deployment(
                name=spec["name"],
                cron=crons[0] if crons else None,
                parameters=_absolute_paths(spec.get("parameters") or {}, base),
                description=spec.get("description"),
                tags=spec.get("tags"),
            )
        )
    return built


def serve_deployments(prefect_file: Path) -> None:
    from prefect import serve

    serve(*runner_deployments(prefect_file))
