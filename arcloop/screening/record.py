"""What a screening campaign leaves behind: MLflow readings (through :mod:`arcloop.tracking`), the
history table, the summary and a figure, in the state folder and as run artifacts."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from arcloop import __version__, tracking
from arcloop.screening.config import ScreeningConfig
from arcloop.screening.loop import Logger, ScreeningSetup, ScreeningState, history_frame, summary
from arcloop.screening.readings import random_expected_found, top_fraction_curve

FLUSH_SECONDS = 2.0  # readings reach MLflow in batches at most this far apart (and at the end)


def run_tags(config: ScreeningConfig) -> dict[str, str]:
    return {
        "kind": "screening",
        "dataset": config.dataset.name or str(config.dataset.path),
        "policy": config.policy.label(),
        "surrogate": config.surrogate.label(),
        "seed": str(config.seed),
        "arcloop_version": __version__,
    }


def write_outputs(setup: ScreeningSetup, state: ScreeningState) -> list[Path]:
    """history.csv, summary.json and top_fraction.png in the state folder; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(setup.config.state_dir)
    history = out / "history.csv"
    history_frame(setup, state).to_csv(history, index=False)
    result = summary(setup, state)
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(result, indent=1, default=float))
    curve = top_fraction_curve(setup.is_target, np.asarray(state.picked), setup.n_targets)
    n = np.arange(1, curve.size + 1)
    figure, axis = plt.subplots(figsize=(6, 3.6), dpi=110)
    axis.plot(n, curve, label=setup.config.policy.label(), color="C0")
    axis.plot(
        n,
        random_expected_found(setup.n_pool, setup.n_targets, n) / setup.n_targets,
        "--",
        color="0.4",
        label="random (exact expectation)",
    )
    axis.set_xlabel("experiments")
    axis.set_ylabel(f"Top %: share of the {setup.n_targets} targets found")
    axis.set_title(f"{setup.dataset.name}: {setup.target.describe()}", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure_path = out / "top_fraction.png"
    figure.savefig(figure_path)
    plt.close(figure)
    return [history, summary_path, figure_path]


def mlflow_logger(config: ScreeningConfig) -> Logger:
    """A logger for :func:`arcloop.screening.loop.run_screening`: starts the run on first call,
    sends pending readings every :data:`FLUSH_SECONDS` and at the end, where it also logs the
    outputs and ends the run."""
    assert config.tracking is not None
    uri, experiment = config.tracking.uri, config.tracking.experiment
    last = {"flush": 0.0}

    def log(state: ScreeningState, final: bool) -> ScreeningState:
        if state.mlflow_run_id is None or not tracking.run_exists(uri, state.mlflow_run_id):
            state.mlflow_run_id = tracking.start_run(
                uri, experiment, config.run_name, run_tags(config), config.flat()
            )
            state.logged = 0
        elif state.logged == 0 or state.iteration == 0:
            tracking.mark_running(uri, state.mlflow_run_id)
        if final or time.monotonic() - last["flush"] >= FLUSH_SECONDS:
            pending = [
                (int(m["step"]), {k: v for k, v in m.items() if k != "step"})
                for m in state.metrics[state.logged :]
            ]
            tracking.log_metric_steps(uri, state.mlflow_run_id, pending)
            state.logged = len(state.metrics)
            last["flush"] = time.monotonic()
        return state

    return log


def finish_run(config: ScreeningConfig, setup: ScreeningSetup, state: ScreeningState) -> dict[str, Any]:
    """Outputs written (and logged with the run's summary metrics); the run ended FINISHED."""
    paths = write_outputs(setup, state)
    result = summary(setup, state)
    if config.tracking is not None and state.mlflow_run_id:
        uri = config.tracking.uri
        finals = {
            f"summary/{k}": v for k, v in result.items() if isinstance(v, (int, float)) and math.isfinite(v)
        }
        tracking.log_metrics(uri, state.mlflow_run_id, finals, len(state.picked))
        tracking.log_artifacts(uri, state.mlflow_run_id, paths)
        tracking.end_run(uri, state.mlflow_run_id, "FINISHED")
    return {**result, "mlflow_run_id": state.mlflow_run_id, "state_dir": str(config.state_dir)}
