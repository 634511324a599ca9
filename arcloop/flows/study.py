"""Run a study: each arm as a benchmark flow (resumed where a previous run stopped), then the report.

The arms' benchmark folders, MLflow store and campaign states live under the work folder
(``WORK/arms/ARM/PARENT_RUN_ID``, ``WORK/mlruns.db``); the study's results (tables, report, figures,
``RUN.md``) go to the results folder. Running the same command again after a stop or a crash
resumes the unfinished arm under its MLflow parent run and reads the finished ones back.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arcloop import __version__
from arcloop.config import BenchmarkConfig
from arcloop.errors import ArcloopError
from arcloop.flows.benchmark import run_benchmark
from arcloop.study.config import StudyConfig
from arcloop.study.report import study_tables, write_report


def arm_folder(bench: BenchmarkConfig) -> tuple[Path | None, bool]:
    """The arm's earlier benchmark folder under its output folder, if any, and whether it finished
    (its report is written only after the last campaign). Several earlier folders are an error."""
    root = Path(bench.output_dir) / bench.name
    started = sorted(p for p in root.glob("*") if (p / "campaigns").is_dir()) if root.is_dir() else []
    if len(started) > 1:
        raise ArcloopError(
            f"arm {bench.name}: {len(started)} benchmark runs under {root}; keep the one to resume and "
            "remove the others"
        )
    if not started:
        return None, False
    return started[0], (started[0] / "report" / "campaigns.csv").is_file()


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """What the study ran on (recorded in ``RUN.md``, which is not part of the regenerated results)."""
    import numpy
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "arcloop": __version__,
        "commit": _git_commit(),
    }


def run_study(
    study: StudyConfig,
    quick: bool,
    work_dir: Path,
    results_dir: Path,
    command: Sequence[str],
    runner: str | None = None,
    max_workers: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) every arm, then write the results; returns the arms' folders and wall times."""
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    walls_file = work_dir / "walls.jsonl"
    folders: dict[str, Path] = {}
    for arm in study.arms:
        bench = study.arm_config(arm, quick, work_dir)
        earlier, finished = arm_folder(bench)
        if finished and earlier is not None:
            folders[arm.name] = earlier
            continue
        started = time.time()
        result: dict[str, Any] = {}
        try:
            result = run_benchmark(bench, runner=runner, max_workers=max_workers, resume_dir=earlier)
        finally:  # a stopped segment's wall counts too (a SIGKILL's is lost)
            record = {
                "arm": arm.name,
                "started": started,
                "seconds": time.time() - started,
                "resumed": earlier is not None,
                "campaigns": result.get("n_campaigns", "stopped"),
                "failed": result.get("n_failed", "–"),
            }
            with open(walls_file, "a") as log:
                log.write(json.dumps(record) + "\n")
        folders[arm.name] = Path(result["output_dir"])
    campaigns, trajectories = study_tables({name: folder / "report" for name, folder in folders.items()})
    files = write_report(study, campaigns, trajectories, results_dir, quick)
    segments = wall_segments(walls_file)
    (results_dir / "RUN.md").write_text(run_record(command, segments, quick))
    return {
        "folders": {k: str(v) for k, v in folders.items()},
        "files": [str(f) for f in files],
        "segments": segments,
    }


SEGMENT_KEYS = {"arm", "started", "seconds", "resumed", "campaigns", "failed"}


def wall_segments(walls_file: Path) -> list[dict[str, Any]]:
    """The run segments recorded in ``walls.jsonl``. A line that is not one (torn by a kill while it
    was appended, or edited) is left out and said: the record is of wall times, not of results."""
    if not walls_file.exists():
        return []
    segments = []
    for number, line in enumerate(walls_file.read_text(errors="replace").splitlines(), start=1):
        try:
            segment = json.loads(line)
            if not isinstance(segment, dict) or not segment.keys() >= SEGMENT_KEYS:
                raise ValueError("not a run segment")
            if not all(isinstance(segment[key], (int, float)) for key in ("started", "seconds")):
                raise ValueError("times are not numbers")
        except ValueError as error:
            sys.stderr.write(f"{walls_file}:{number}: damaged ({type(error).__name__}); left out of RUN.md\n")
            continue
        segments.append(segment)
    return segments


def run_record(command: Sequence[str], segments: list[dict[str, Any]], quick: bool) -> str:
    """``RUN.md``: the command, the machine, and the wall time of every run segment of every arm."""
    lines = [
        "# How these results were produced",
        "",
        "```bash",
        " ".join(command),
        "```",
        "",
        f"Variant: {'--quick (a pipeline check, not the science)' if quick else 'full'}.",
        "",
        "| key | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine().items()],
        "",
        "| arm | started (UTC) | wall | resumed | campaigns | failed |",
        "|---|---|---|---|---|---|",
    ]
    total = 0.0
    for segment in segments:
        total += segment["seconds"]
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(segment["started"]))
        lines.append(
            f"| {segment['arm']} | {when} | {segment['seconds'] / 60:.1f} min | {segment['resumed']} | "
            f"{segment['campaigns']} | {segment['failed']} |"
        )
    lines += ["", f"Total wall: {total / 60:.1f} min.", ""]
    return "\n".join(lines)
