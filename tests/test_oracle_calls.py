"""One implementation of oracle retries and timeouts, as the benchmark's DirectExecutor runs it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from campaign_support import fast_config

from arcloop.campaign.run import timed_call
from arcloop.campaign.state import load_checkpoint
from arcloop.grid import campaign_outcome
from arcloop.oracles import OracleTimeout


def journal(state_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (state_dir / "oracle_calls.jsonl").read_text().splitlines()]


def test_timed_call_returns_raises_and_times_out():
    assert timed_call(lambda: 7, 1.0, "quick") == 7
    with pytest.raises(ZeroDivisionError):
        timed_call(lambda: 1 / 0, 1.0, "broken")
    started = time.perf_counter()
    with pytest.raises(OracleTimeout, match=r"0\.2 s"):
        timed_call(lambda: time.sleep(3), 0.2, "hung")
    assert time.perf_counter() - started < 1.5  # abandoned, not waited for


def small(workdir: Path, tracking_uri: str, oracle: dict, retries: int, timeout: float) -> dict:
    return fast_config(
        workdir,
        tracking_uri,
        iterations=1,
        batch_size=4,
        oracle=oracle,
        oracle_calls={"retries": retries, "timeout_seconds": timeout},
    )


LABELS = {"policy": "greedy", "surrogate": "forest", "oracle": "rules", "scenario": "random", "seed": "3"}


def test_direct_executor_times_out_a_slow_oracle_and_journals_every_attempt(workdir, tracking_uri):
    slow = {"name": "rules", "wrappers": [{"name": "slow", "seconds": 2.0}]}
    outcome = campaign_outcome(small(workdir, tracking_uri, slow, retries=1, timeout=0.3), LABELS, None)
    assert outcome["status"] == "failed" and outcome["error"].startswith("OracleTimeout")
    calls = journal(workdir / "state")
    assert [(c["attempt"], c["outcome"]) for c in calls] == [(1, "OracleTimeout"), (2, "OracleTimeout")]
    assert all(0.3 <= c["seconds"] < 1.5 for c in calls)


def test_direct_executor_retries_a_flaky_oracle_with_fresh_draws(workdir, tracking_uri):
    flaky = {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 0.9}]}
    outcome = campaign_outcome(small(workdir, tracking_uri, flaky, retries=100, timeout=30), LABELS, None)
    assert outcome["status"] == "ok", outcome["error"]
    calls = journal(workdir / "state")
    state, _ = load_checkpoint(workdir / "state")
    attempts = state.history[0]["attempts"]
    assert attempts > 1  # this seed fails at least once, so the retry path ran
    assert [c["attempt"] for c in calls] == list(range(1, attempts + 1))
    assert [c["outcome"] for c in calls] == ["OracleFailure"] * (attempts - 1) + ["ok"]
