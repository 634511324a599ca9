"""A campaign's numerical libraries run on one thread each, alone as inside a benchmark worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from campaign_support import fast_config
from threadpoolctl import threadpool_info, threadpool_limits

from arcloop.campaign import steps
from arcloop.campaign.plain import run_plain
from arcloop.campaign.run import DirectExecutor, drive, preflight
from arcloop.config import CampaignConfig, validated
from arcloop.cores import one_core, torch_threads


def thread_counts() -> dict[str, int]:
    """torch's intra-op threads and the largest BLAS/OpenMP pool, as threadpoolctl reads them."""
    pools = [pool["num_threads"] for pool in threadpool_info()]
    assert pools, "threadpoolctl found no BLAS/OpenMP pool to check"
    return {"torch": torch.get_num_threads(), "pools": max(pools)}


@pytest.fixture
def two_threads() -> Any:
    """The caller's settings: two threads in every library (this machine has two cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    with threadpool_limits(limits=2):
        assert thread_counts() == {"torch": 2, "pools": 2}
        yield
    torch.set_num_threads(previous)


def test_one_core_limits_the_block_and_restores_the_caller(two_threads: None) -> None:
    with one_core():
        assert thread_counts() == {"torch": 1, "pools": 1}
    assert thread_counts() == {"torch": 2, "pools": 2}


def test_torch_threads_restores_after_an_error_and_none_leaves_the_count(two_threads: None) -> None:
    with pytest.raises(RuntimeError, match="inside"), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == 2
    with torch_threads(None):
        assert torch.get_num_threads() == 2
    assert thread_counts() == {"torch": 2, "pools": 2}


class RecordingExecutor(DirectExecutor):
    def __init__(self) -> None:
        self.seen: list[dict[str, int]] = []

    def __call__(self, step, *args, iteration):  # type: ignore[no-untyped-def]
        if step in (steps.train, steps.measure):
            self.seen.append(thread_counts())
        return super().__call__(step, *args, iteration=iteration)


def test_drive_runs_every_step_on_one_core(two_threads: None, workdir: Path, tracking_uri: str) -> None:
    campaign, setup = preflight(fast_config(workdir, tracking_uri, iterations=2), resume=False)
    executor = RecordingExecutor()
    drive(campaign, setup, executor)
    assert executor.seen == [{"torch": 1, "pools": 1}] * 4
    assert thread_counts() == {"torch": 2, "pools": 2}


def test_plain_loop_runs_on_one_core(
    two_threads: None, workdir: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, int]] = []
    train = steps.train

    def recording_train(*args: Any) -> Any:
        seen.append(thread_counts())
        return train(*args)

    monkeypatch.setattr(steps, "train", recording_train)
    run_plain(validated(CampaignConfig, fast_config(workdir, tracking_uri, iterations=2)))
    assert seen == [{"torch": 1, "pools": 1}] * 2
    assert thread_counts() == {"torch": 2, "pools": 2}
