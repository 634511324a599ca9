"""One implementation of oracle retries and timeouts, as the benchmark's DirectExecutor runs it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from campaign_support import fast_config

from arcloop.campaign import steps
from arcloop.campaign.run import DirectExecutor, drive, preflight, timed_call
from arcloop.campaign.state import load_checkpoint
from arcloop.grid import campaign_outcome
from arcloop.oracles import OracleTimeout


def journal(state_dir: Path) -> list[dict]:
    """The completed calls (the journal's outcome lines; each follows its ``asked`` line)."""
    lines = [json.loads(line) for line in (state_dir / "oracle_calls.jsonl").read_text().splitlines()]
    assert [line["outcome"] == "asked" for line in lines] == [True, False] * (len(lines) // 2)
    return lines[1::2]


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


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs, no handler catches it."""


def test_a_call_a_kill_interrupts_is_on_record_and_asked_again_on_resume(workdir, tracking_uri, monkeypatch):
    """The journal's "asked" line is written before the oracle is called: a kill after the oracle
    answered (it was paid) and before the outcome line leaves the call on record; the resume asks
    again, so the journal shows both payments."""
    config = fast_config(workdir, tracking_uri, iterations=2, batch_size=4)
    real_label = steps.label

    def label_then_die(setup, proposal, iteration, attempt):
        labels = real_label(setup, proposal, iteration, attempt)
        if iteration == 1:
            raise Killed
        return labels

    monkeypatch.setattr(steps, "label", label_then_die)
    campaign, setup = preflight(config, resume=False)
    with pytest.raises(Killed):
        drive(campaign, setup, DirectExecutor())
    lines = [json.loads(line) for line in (workdir / "state" / "oracle_calls.jsonl").read_text().splitlines()]
    assert [(line["iteration"], line["outcome"]) for line in lines] == [(0, "asked"), (0, "ok"), (1, "asked")]
    monkeypatch.setattr(steps, "label", real_label)
    campaign, setup = preflight(config, resume=True)
    drive(campaign, setup, DirectExecutor(), resume=True)
    lines = [json.loads(line) for line in (workdir / "state" / "oracle_calls.jsonl").read_text().splitlines()]
    assert [(line["iteration"], line["outcome"]) for line in lines][3:] == [(1, "asked"), (1, "ok")]
