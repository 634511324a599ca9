"""The surrogate inside the loop: what policies read, what is logged, what a checkpoint keeps.

Real SSVAE and GP fits on the packaged alloys, at small sizes (a few seconds each)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from arcloop.campaign import steps
from arcloop.campaign.plain import run_plain
from arcloop.campaign.setup import CampaignSetup, initial_state, prepare
from arcloop.campaign.state import CampaignState
from arcloop.config import CampaignConfig, validated
from arcloop.errors import ArcloopError
from arcloop.models.cache import cache_dir

SMALL_GP = {"name": "gp", "params": {"n_inducing": 16, "n_steps": 60, "warm_steps": 20, "n_draws": 16}}


def config(tmp: Path, **overrides: object) -> CampaignConfig:
    data: dict[str, object] = {
        "seed": 5,
        "iterations": 3,
        "batch_size": 6,
        "model": {"max_epochs": 40, "warm_max_epochs": 3},
        "candidates": {"source": "pool"},
        "policy": {"name": "greedy"},
        "oracle": {"name": "lookup"},
        "scenario": {"kind": "random", "n_initial": 40},
        "target": {"min_elements": 5},
        "state_dir": str(tmp / "state"),
    }
    data.update(overrides)
    return validated(CampaignConfig, data)


def iterate(setup: CampaignSetup, state: CampaignState, models: steps.Models | None, n: int):
    for _ in range(n):
        models = steps.train(setup, state, models)
        proposal = steps.propose(setup, state, models)
        labels = steps.label(setup, proposal, state.iteration, 1)
        state, _ = steps.measure(setup, state, models, proposal, labels, 1)
    return state, models


def test_policies_read_the_configured_surrogate(tmp_path: Path) -> None:
    """The draws a policy sees are the surrogate's: all 200 trees of the default forest (their mean is
    the forest's probability), the GP's S joint draws, the SSVAE's K heads."""
    for surrogate, draws in ((None, 200), (SMALL_GP, 16), ({"name": "ssvae"}, 5)):
        extra = {} if surrogate is None else {"surrogate": surrogate}
        setup = prepare(config(tmp_path, **extra))
        state = initial_state(setup)
        models = steps.train(setup, state, None)
        proposal = steps.propose(setup, state, models)
        assert proposal.candidates.n_samples == draws
        p_mean, raw = steps.SurrogateScorer(models).predict(proposal.candidates.compositions)
        possible = steps.discovery_possible(setup, state, proposal.candidates.compositions)
        np.testing.assert_allclose(proposal.candidates.p_samples, raw * possible[None, :], rtol=1e-6)
        if surrogate is None:  # the forest's draws are all its trees: their mean is p_mean
            np.testing.assert_allclose(raw.mean(axis=0), p_mean, atol=1e-6)


def test_gp_lengthscales_are_logged_and_forest_has_none(tmp_path: Path) -> None:
    state = run_plain(config(tmp_path, iterations=2, surrogate=SMALL_GP))
    for metrics in state.metrics:
        scales = [metrics[f"surrogate/lengthscale_{j}"] for j in range(2)]
        assert all(s > 0 for s in scales)
        assert metrics["bias/lengthscale_anisotropy"] == pytest.approx(max(scales) / min(scales))
    forest = run_plain(config(tmp_path, iterations=1))
    assert math.isnan(forest.metrics[0]["bias/lengthscale_anisotropy"])
    assert not any(key.startswith("surrogate/lengthscale") for key in forest.metrics[0])


def test_a_checkpoint_keeps_the_surrogate_so_a_resumed_gp_campaign_is_bit_identical(tmp_path: Path) -> None:
    """The GP warm-starts its kernel from the last fit: a resume that rebuilt it cold would diverge."""
    campaign = config(tmp_path, surrogate=SMALL_GP)
    whole = run_plain(campaign)
    setup = prepare(campaign)
    state, models = iterate(setup, initial_state(setup), None, 2)
    assert models is not None
    models.save(tmp_path / "model.pt")
    loaded = steps.Models.load(tmp_path / "model.pt")
    resumed, _ = iterate(setup, state, loaded, 1)
    assert steps.history_digest(resumed) == steps.history_digest(whole)
    # and the check can fail: without the saved surrogate state, the third fit starts cold
    (tmp_path / steps.SURROGATE_FILE).unlink()
    cold, _ = iterate(setup, state, steps.Models.load(tmp_path / "model.pt"), 1)
    assert cold.metrics[-1]["surrogate/loss"] != resumed.metrics[-1]["surrogate/loss"]


def test_the_first_fit_is_shared_through_the_cache_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two policies of one seed and scenario store one first fit; a cold cache and a warm one give the
    same campaign bit for bit."""
    monkeypatch.setenv("ARCLOOP_CACHE_DIR", str(tmp_path / "cache-a"))
    greedy = run_plain(config(tmp_path, iterations=2))
    run_plain(config(tmp_path, iterations=2, policy={"name": "uncertainty"}))
    assert len([p for p in cache_dir().iterdir() if not p.name.startswith(".")]) == 1
    again = run_plain(config(tmp_path, iterations=2))  # read from the cache this time
    monkeypatch.setenv("ARCLOOP_CACHE_DIR", str(tmp_path / "cache-b"))
    fresh = run_plain(config(tmp_path, iterations=2))  # fitted again in an empty cache
    assert steps.history_digest(greedy) == steps.history_digest(again) == steps.history_digest(fresh)
    other_seed = run_plain(config(tmp_path, iterations=1, seed=6))
    assert other_seed.history != greedy.history[: len(other_seed.history)]


@pytest.mark.parametrize(
    ("overrides", "refits"),
    [
        ({}, False),  # pool + forest: nothing the loop reads learns through the SSVAE
        ({"surrogate": {"name": "ssvae"}}, True),  # its draws are the SSVAE's heads
        ({"surrogate": {"name": "gp", "params": {"space": "latent"}}}, True),  # reads the latent frame
        ({"candidates": {"source": "latent"}}, True),  # the decoder makes the candidates
        ({"model": {"refit": "every_iteration"}}, True),
        ({"model": {"refit": "never"}, "surrogate": {"name": "ssvae"}}, False),
    ],
)
def test_model_refit_auto_refits_only_when_the_loop_reads_through_the_ssvae(
    tmp_path: Path, overrides: dict[str, object], refits: bool
) -> None:
    assert prepare(config(tmp_path, **overrides)).refits_model is refits


def test_a_pool_campaign_that_does_not_refit_keeps_one_latent_frame(tmp_path: Path) -> None:
    """``refit: auto`` on a pool + forest campaign: the frame drift reading is exactly 0 and the model
    readings stay put; ``every_iteration`` moves the frame (drift > 0) on the same campaign."""
    fixed = run_plain(config(tmp_path))
    moving = run_plain(
        config(tmp_path, model={"max_epochs": 40, "warm_max_epochs": 3, "refit": "every_iteration"})
    )
    assert [m["model/frame_drift"] for m in fixed.metrics[1:]] == [0.0, 0.0]
    assert all(m["model/frame_drift"] > 1e-6 for m in moving.metrics[1:])
    assert len({m["model/elbo"] for m in fixed.metrics}) == 1
    assert len({m["model/elbo"] for m in moving.metrics}) == 3
    # the first iteration (before any refit) is the same campaign either way
    assert fixed.metrics[0]["model/elbo"] == moving.metrics[0]["model/elbo"]


def test_a_checkpoint_holds_no_code_and_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    """The surrogate's warm state is plain arrays read with allow_pickle=False: a pickle planted as the
    old ``surrogate.pkl`` is ignored, one planted as ``surrogate.npz`` is refused in one line, and in
    neither case does its code run."""
    campaign = config(tmp_path, surrogate=SMALL_GP)
    setup = prepare(campaign)
    state, models = iterate(setup, initial_state(setup), None, 1)
    assert models is not None
    models.save(tmp_path / "model.pt")
    with np.load(tmp_path / steps.SURROGATE_FILE, allow_pickle=False) as arrays:
        assert set(arrays.files) == {"lengthscales", "variance", "n_fits"}
    marker = tmp_path / "planted-code-ran"

    class Planted:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    (tmp_path / "surrogate.pkl").write_bytes(pickle.dumps(Planted()))
    iterate(setup, state, steps.Models.load(tmp_path / "model.pt"), 1)
    with (tmp_path / steps.SURROGATE_FILE).open("wb") as handle:
        np.savez(handle, lengthscales=np.array([Planted()], dtype=object))
    with pytest.raises(ArcloopError, match="damaged surrogate state"):
        steps.Models.load(tmp_path / "model.pt")
    (tmp_path / steps.SURROGATE_FILE).write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(ArcloopError, match="damaged surrogate state"):
        steps.Models.load(tmp_path / "model.pt")
    assert not marker.exists()
