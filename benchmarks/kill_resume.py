"""SIGKILL at random moments, then resume: does every killed campaign or benchmark end as if never killed?

Two uninterrupted runs first (the second, reading the model cache the first filled, gives the wall
time T; both the result). Then ``--kills`` times: the same command in its own process group (the
CLI, its Prefect server, a benchmark's workers), SIGKILL to the group at a moment drawn uniformly
from [0, T], then the resume:

- ``--command campaign``: ``arcloop campaign`` (latent source, rules oracle, 3 iterations of 8, a
  150-epoch SSVAE), resumed with ``arcloop resume DIR`` (or, when the kill came before
  ``config.yaml`` existed, the original command again: nothing was recorded, as the README says).
  Compared: the history digest; one MLflow run, FINISHED.
- ``--command benchmark``: ``arcloop benchmark`` (greedy, uncertainty and random × 2 seeds × 3
  iterations of 8 on the processes runner, 2 workers: 6 campaigns), resumed with
  ``--resume OUTPUT_DIR/NAME`` (the newest unfinished run of the benchmark, else the finished one,
  read back, else a start: a kill before the parent run existed recorded nothing). Compared: the summary table
  without its wall-clock columns; one parent run, FINISHED; one FINISHED child run per campaign,
  each iteration logged once.

Each kill in a fresh folder and store.

    python benchmarks/kill_resume.py --kills 20 --seed 0
    python benchmarks/kill_resume.py --command benchmark --kills 20 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _machine import machine_info

CONFIG = {
    "seed": 3,
    "iterations": 3,
    "batch_size": 8,
    "model": {"max_epochs": 150, "warm_max_epochs": 20},
    "candidates": {"source": "latent", "n_candidates": 400, "n_samples": 8},
    "policy": {"name": "uncertainty"},
    "oracle": {"name": "rules"},
    "scenario": {"kind": "random", "n_initial": 48},
    "tracking": {"experiment": "kills"},
}
BENCHMARK = {
    "name": "kills",
    "campaign": {key: CONFIG[key] for key in ("iterations", "batch_size", "model", "candidates")},
    "policies": [{"name": "greedy"}, {"name": "uncertainty"}],
    "oracles": [{"name": "rules"}],
    "scenarios": [{"name": "random", "scenario": {"kind": "random", "n_initial": 48}}],
    "seeds": [0, 1],
    "runner": "processes",
    "max_workers": 2,
    "tracking": {"experiment": "kills"},
}
CLI = [sys.executable, "-c", "from arcloop.cli import run; run()"]


def prepared(folder: Path, command: str) -> Path:
    """The config of ``command`` in ``folder``, with its own store (and state or output folder)."""
    folder.mkdir(parents=True)
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    if command == "campaign":
        config = {
            **CONFIG,
            "tracking": {**CONFIG["tracking"], "uri": uri},
            "state_dir": str(folder / "state"),
        }
    else:
        config = {
            **BENCHMARK,
            "tracking": {**BENCHMARK["tracking"], "uri": uri},
            "output_dir": str(folder / "out"),
        }
    path = folder / f"{command}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--json"], cwd=folder, capture_output=True, text=True, timeout=1800)


def finish(args: list[str], folder: Path) -> Any:
    done = run_cli(args, folder)
    if done.returncode != 0:
        raise SystemExit(f"{args}: status {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def result_of(command: str, output: Any) -> str:
    """What must equal the uninterrupted run's: the campaign's history digest; the benchmark's
    summary table without wall-clock columns (and NaN as None, so equal tables compare equal)."""
    if command == "campaign":
        return str(output["history_sha256"])
    rows = [
        {
            key: (None if value != value else value)
            for key, value in row.items()
            if "wall" not in key and "seconds" not in key
        }
        for row in output
    ]
    return json.dumps(rows, sort_keys=True)


def runs_of(folder: Path) -> dict[str, Any]:
    """The store's runs: statuses of the top-level runs; for a benchmark's children, their
    statuses and whether each logged every iteration exactly once."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("kills")
    if experiment is None:
        return {"top": [], "children": [], "each_step_once": True}
    runs = client.search_runs([experiment.experiment_id])
    top = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    steps = [
        [point.step for point in client.get_metric_history(run.info.run_id, "discovery/hits")]
        for run in children
    ]
    return {
        "top": [run.info.status for run in top],
        "children": sorted(run.info.status for run in children),
        "each_step_once": all(sorted(s) == list(range(CONFIG["iterations"])) for s in steps),
    }


def resumed(command: str, config: Path, folder: Path) -> tuple[Any, str]:
    """The resume a user would type after the kill, and which one it was."""
    if command == "campaign":
        if (folder / "state" / "config.yaml").is_file():
            return finish(["resume", str(folder / "state")], folder), "resume"
        return finish(["campaign", "--config", str(config)], folder), "again"  # nothing was recorded
    # The newest unfinished run, else the finished one (read back), else a start: one command.
    resume = ["benchmark", "--config", str(config), "--resume", str(folder / "out" / "kills")]
    return finish(resume, folder), "resume"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", choices=["campaign", "benchmark"], default="campaign")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = args.command
    draw = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="arcloop-kills-"))
    os.environ["PREFECT_HOME"] = str(root / "prefect")
    os.environ["ARCLOOP_CACHE_DIR"] = str(root / "cache")

    # The first run fills the model cache; the second, as every killed run will, reads it: its wall
    # time is the window the kills are drawn from.
    reference = result_of(
        command, finish([command, "--config", str(prepared(root / "cold", command))], root / "cold")
    )
    config = prepared(root / "reference", command)
    started = time.perf_counter()
    warm = result_of(command, finish([command, "--config", str(config)], root / "reference"))
    wall = time.perf_counter() - started
    assert warm == reference

    cases = []
    for index in range(args.kills):
        folder = root / f"kill-{index:02d}"
        config = prepared(folder, command)
        at = draw.uniform(0, wall)
        child = subprocess.Popen(
            [*CLI, command, "--config", str(config), "--json"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(at)
        finished_first = child.poll() is not None
        if not finished_first:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        had_record = (folder / "state" / "config.yaml").is_file() or any(folder.glob("out/kills/*/campaigns"))
        finished_campaigns = len(list(folder.glob("out/kills/*/campaigns/*/outcome.json")))
        had_checkpoint = (folder / "state" / "LATEST").is_file()
        output, how = resumed(command, config, folder)
        runs = runs_of(folder)
        one_finished = runs["top"] == ["FINISHED"] and (
            command == "campaign" or (runs["children"] == ["FINISHED"] * 6 and runs["each_step_once"])
        )
        cases.append(
            {
                "kill_at_s": round(at, 2),
                "finished_before_kill": finished_first,
                "had_record": had_record,
                "had_checkpoint": had_checkpoint,
                "campaigns_finished_before_kill": finished_campaigns,
                "continued_with": how,
                "identical": result_of(command, output) == reference,
                "runs_as_uninterrupted": one_finished,
                "mlflow_runs": runs,
            }
        )
        print(json.dumps(cases[-1]), file=sys.stderr)
    summary = {
        "kills": len(cases),
        "identical": sum(case["identical"] for case in cases),
        "runs_as_uninterrupted": sum(case["runs_as_uninterrupted"] for case in cases),
        "before_any_record": sum(not case["had_record"] for case in cases),
        "resumed": sum(case["continued_with"] == "resume" for case in cases),
        "finished_before_kill": sum(case["finished_before_kill"] for case in cases),
    }
    if command == "campaign":
        summary["before_first_checkpoint"] = sum(
            case["had_record"] and not case["had_checkpoint"] for case in cases
        )
    else:
        summary["no_campaign_finished_before_kill"] = sum(
            case["campaigns_finished_before_kill"] == 0 for case in cases
        )
    report = {
        "machine": machine_info(),
        "command": command,
        "uninterrupted_s": round(wall, 1),
        "summary": summary,
    }
    report["cases"] = cases
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
