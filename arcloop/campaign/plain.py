"""The whole loop as plain function calls, with no orchestration or tracking: the overhead baseline
of the flow and the reference its history is compared with bit for bit."""

from __future__ import annotations

import time
from typing import Any

from arcloop.campaign import steps
from arcloop.campaign.setup import initial_state, prepare
from arcloop.campaign.state import CampaignState
from arcloop.config import CampaignConfig
from arcloop.cores import one_core


def run_plain(config: CampaignConfig, timings: dict[str, list[float]] | None = None) -> CampaignState:
    """The whole loop as plain function calls: no Prefect, no MLflow, no checkpoint.

    ``timings`` (optional) collects seconds per step name, for the benchmark. One thread per
    numerical library, as :func:`arcloop.campaign.run.drive` (:func:`arcloop.cores.one_core`).
    """
    with one_core():
        return _run_plain(config, {} if timings is None else timings)


def _run_plain(config: CampaignConfig, clock: dict[str, list[float]]) -> CampaignState:
    # steps.<name> looked up at every call, as the executors do (a test may substitute one)
    def timed(name: str, function: Any, *args: Any) -> Any:
        start = time.perf_counter()
        result = function(*args)
        clock.setdefault(name, []).append(time.perf_counter() - start)
        return result

    setup = timed("prepare", prepare, config)
    state = initial_state(setup)
    models: steps.Models | None = None
    for _ in range(config.iterations):
        models = timed("train", steps.train, setup, state, models)
        proposal = timed("propose", steps.propose, setup, state, models)
        labels = timed("label", steps.label, setup, proposal, state.iteration, 1)
        state, _metrics = timed("measure", steps.measure, setup, state, models, proposal, labels, 1)
    return state
