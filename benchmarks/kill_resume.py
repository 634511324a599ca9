"""SIGKILL at random moments, then resume: does every killed campaign end as the uninterrupted one?

Two uninterrupted ``arcloop campaign`` runs first (the second, reading the model cache the first
filled, gives the wall time T; both the history digest). Then ``--kills``
times: the same command in its own process group, SIGKILL to the group at a moment drawn uniformly
from [0, T], then ``arcloop resume DIR`` (or, when the kill came before ``config.yaml`` existed, the
original command again: nothing was recorded, as the README says). Each ends compared with the
uninterrupted campaign: the history digest, and one MLflow run for the campaign, FINISHED.

Task: the test suite's fast config (latent source, rules oracle, 3 iterations of 8, a 150-epoch
SSVAE), each kill in a fresh folder and store.

    python benchmarks/kill_resume.py --kills 20 --seed 0
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
CLI = [sys.executable, "-c", "from arcloop.cli import run; run()"]


def prepared(folder: Path) -> Path:
    folder.mkdir(parents=True)
    config = {**CONFIG, "tracking": {**CONFIG["tracking"], "uri": f"sqlite:///{folder / 'mlruns.db'}"}}
    config["state_dir"] = str(folder / "state")
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def finish(args: list[str], folder: Path) -> dict:
    done = subprocess.run([*CLI, *args, "--json"], cwd=folder, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{args}: status {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def runs_of(folder: Path) -> list[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("kills")
    return [run.info.status for run in client.search_runs([experiment.experiment_id])] if experiment else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="arcloop-kills-"))
    os.environ["PREFECT_HOME"] = str(root / "prefect")
    os.environ["ARCLOOP_CACHE_DIR"] = str(root / "cache")

    # The first run fills the model cache; the second, as every killed run will, reads it: its wall
    # time is the window the kills are drawn from.
    reference = finish(["campaign", "--config", str(prepared(root / "cold"))], root / "cold")
    config = prepared(root / "reference")
    started = time.perf_counter()
    warm = finish(["campaign", "--config", str(config)], root / "reference")
    wall = time.perf_counter() - started
    assert warm["history_sha256"] == reference["history_sha256"]

    cases = []
    for index in range(args.kills):
        folder = root / f"kill-{index:02d}"
        config = prepared(folder)
        at = draw.uniform(0, wall)
        child = subprocess.Popen(
            [*CLI, "campaign", "--config", str(config), "--json"],
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
        state = folder / "state"
        had_config = (state / "config.yaml").is_file()
        had_checkpoint = (state / "LATEST").is_file()
        if had_config:
            result = finish(["resume", str(state)], folder)
        else:  # killed before anything was recorded: the command again
            result = finish(["campaign", "--config", str(config)], folder)
        statuses = runs_of(folder)
        cases.append(
            {
                "kill_at_s": round(at, 2),
                "finished_before_kill": finished_first,
                "had_config": had_config,
                "had_checkpoint": had_checkpoint,
                "identical": result["history_sha256"] == reference["history_sha256"],
                "mlflow_runs": statuses,
            }
        )
        print(json.dumps(cases[-1]), file=sys.stderr)
    summary = {
        "kills": len(cases),
        "identical": sum(case["identical"] for case in cases),
        "one_finished_run": sum(case["mlflow_runs"] == ["FINISHED"] for case in cases),
        "before_config_yaml": sum(not case["had_config"] for case in cases),
        "before_first_checkpoint": sum(case["had_config"] and not case["had_checkpoint"] for case in cases),
        "finished_before_kill": sum(case["finished_before_kill"] for case in cases),
    }
    report = {"machine": machine_info(), "uninterrupted_s": round(wall, 1), "summary": summary}
    report["cases"] = cases
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
