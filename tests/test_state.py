"""Checkpoints: every field round-trips bit for bit; logs are appended to, never rewritten."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from arcloop.campaign.state import (
    LOGS,
    CampaignState,
    latest_checkpoint,
    load_checkpoint,
    no_proposals,
    save_checkpoint,
)


def _state(iteration: int, rng: np.random.Generator) -> CampaignState:
    m = 5 + iteration
    return CampaignState(
        fingerprint="abc",
        iteration=iteration,
        labelled_X=rng.dirichlet(np.ones(30), size=m),
        labelled_y=rng.integers(0, 2, size=m),
        labelled_origin=np.arange(m, dtype=np.int64) - 1,
        labelled_pool_index=rng.integers(-1, 100, size=m),
        previous_pool_z=rng.normal(size=(7, 2)),
        **{
            **no_proposals(),
            "proposed_X": rng.dirichlet(np.ones(30), size=iteration),
            "proposed_status": np.array(["ok", "dropped", "abstained"] * iteration, dtype="<U9")[:iteration],
            "proposed_hit": rng.random(iteration) < 0.5,
        },
        history=[
            {"iteration": i, "z0": float(rng.normal()), "hit": bool(i % 2), "formula": "Fe50Ni50"}
            for i in range(iteration)
        ],
        metrics=[
            {"a": float(rng.normal()), "b": float("nan") if i == 0 else 1.0 / 3.0} for i in range(iteration)
        ],
        vendi_bandwidth=0.1 + 0.2,
        mlflow_run_id="run",
        oracle_calls=iteration,
    )


def _same(a: CampaignState, b: CampaignState) -> None:
    assert type(a) is type(b)
    for item in fields(a):
        left, right = getattr(a, item.name), getattr(b, item.name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype and left.shape == right.shape, item.name
            assert left.tobytes() == right.tobytes(), item.name
        else:
            # repr: NaN equals NaN, and floats compare by their exact digits
            assert repr(left) == repr(right), item.name


def test_every_field_round_trips_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = _state(0, rng)
    for _ in range(4):
        state = _grow(state, rng)
        save_checkpoint(tmp_path, state)
        loaded, model = load_checkpoint(tmp_path)
        _same(state, loaded)
        assert model is None


def _grow(state: CampaignState, rng: np.random.Generator) -> CampaignState:
    """The next iteration's state: arrays grow, one history row and one metrics row appended."""
    return replace(
        state,
        iteration=state.iteration + 1,
        labelled_X=np.concatenate([state.labelled_X, rng.dirichlet(np.ones(30), size=2)]),
        proposed_hit=np.concatenate([state.proposed_hit, [True]]),
        history=[*state.history, {"iteration": state.iteration, "z0": float(rng.normal())}],
        metrics=[*state.metrics, {"a": float(rng.normal())}],
    )


@dataclass(frozen=True)
class _Extended(CampaignState):
    """A later CampaignState with one more array and one more record list."""

    pool_z: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    statuses: list[dict[str, str]] = field(default_factory=list)


def test_a_new_array_field_round_trips_with_no_change_to_state_py(tmp_path: Path) -> None:
    base = _state(3, np.random.default_rng(1))
    state = _Extended(
        **{f.name: getattr(base, f.name) for f in fields(base)},
        pool_z=np.random.default_rng(2).normal(size=(7, 2)).astype(np.float32),
        statuses=[{"s": "ok"}, {"s": "failed"}],
    )
    save_checkpoint(tmp_path, state)
    loaded, _ = load_checkpoint(tmp_path, state_type=_Extended)
    _same(state, loaded)
    assert (tmp_path / LOGS / "statuses.jsonl").is_file()


def test_logs_are_appended_and_a_torn_tail_is_cut_off(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    state = _state(2, rng)
    save_checkpoint(tmp_path, state)
    history = tmp_path / LOGS / "history.jsonl"
    first = history.read_bytes()
    assert len(first.splitlines()) == 2
    # A crash after appending but before the pointer moved: a half-written line.
    with open(history, "ab") as handle:
        handle.write(b'{"iteration": 99, "z0"')
    loaded, _ = load_checkpoint(tmp_path)
    _same(state, loaded)
    nxt = _grow(state, rng)
    save_checkpoint(tmp_path, nxt)
    after = history.read_bytes()
    assert after.startswith(first)  # the earlier rows are not rewritten
    assert len(after.splitlines()) == 3 and b"99" not in after
    _same(nxt, load_checkpoint(tmp_path)[0])
    assert latest_checkpoint(tmp_path).name == "iter-00003"


def test_a_fresh_campaign_in_the_folder_starts_the_logs_over(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    save_checkpoint(tmp_path, _state(3, rng))
    restart = _state(1, rng)  # fewer rows than the checkpointed log: not an extension
    save_checkpoint(tmp_path, restart)
    _same(restart, load_checkpoint(tmp_path)[0])
    assert len((tmp_path / LOGS / "history.jsonl").read_bytes().splitlines()) == 1
