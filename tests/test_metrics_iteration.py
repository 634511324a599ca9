"""``iteration_metrics``: every name, values equal to their building blocks, degenerate iterations, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arcloop.data import alloy_fractions
from arcloop.errors import ArcloopError
from arcloop.metrics import (
    METRIC_NAMES,
    bald,
    campaign_bandwidth,
    direction_entropy,
    family_distribution,
    family_evenness,
    isoscore,
    iteration_metrics,
    js_divergence,
    knn_novelty,
    step_directions,
    vendi_score,
)


@pytest.fixture(scope="module")
def scenario() -> dict[str, object]:
    """A pool campaign after a few iterations: 120 labelled points, a batch of 16, d = 2."""
    rng = np.random.default_rng(0)
    pool = alloy_fractions()
    explored_rows = rng.choice(len(pool), 120, replace=False)
    batch_rows = rng.choice(len(pool), 16, replace=False)
    explored_z = rng.normal(size=(120, 2)) * np.array([1.0, 0.5])
    batch_z = 0.3 * rng.normal(size=(16, 2)) + np.array([5.0, 0.0])  # to the right of the explored cloud
    hits = rng.random(100) < 0.4
    discoveries = hits & (rng.random(100) < 0.5)
    paid = np.ones(100, dtype=bool)
    paid[-2:] = False  # the last two proposals of the batch were abstained: free
    p_samples = rng.beta(2.0, 2.0, size=(8, 400))
    return {
        "explored_z": explored_z,
        "batch_z": batch_z,
        "explored_compositions": pool[explored_rows],
        "batch_compositions": pool[batch_rows],
        "pool_compositions": pool,
        "vendi_bandwidth": campaign_bandwidth(rng.normal(size=(500, 2))),
        "hits": hits,
        "discoveries": discoveries,
        "paid": paid,
        "redundant": np.arange(16) % 4 == 0,
        "fraction_found": 0.25,
        "candidate_p_samples": p_samples,
        "batch_index": np.argsort(-bald(p_samples))[:16],
        "holdout_p": rng.random(50),
        "holdout_y": rng.integers(0, 2, 50),
        "mi_z": np.vstack([explored_z, batch_z]),
        "mi_y": rng.integers(-1, 2, 136),
        "model_stats": {
            "elbo": -12.5,
            "active_units": 2,
            "kl_dim_0": 0.7,
            "roundtrip_error": 0.3,
            "frame_drift": 0.01,
        },
        "surrogate_stats": {"lengthscale_0": 0.5, "lengthscale_1": 2.0, "lengthscale_anisotropy": 4.0},
    }


def test_every_name_is_present_as_a_plain_float(scenario: dict[str, object]) -> None:
    metrics = iteration_metrics(**scenario)
    assert set(METRIC_NAMES) <= set(metrics)
    assert all(type(value) is float for value in metrics.values())
    assert all(
        name.split("/")[0] in {"discovery", "bias", "diversity", "model", "acquisition", "surrogate"}
        for name in metrics
    )
    undefined = [name for name in METRIC_NAMES if math.isnan(metrics[name])]
    assert undefined == []


def test_values_equal_their_building_blocks(scenario: dict[str, object]) -> None:
    metrics = iteration_metrics(**scenario)
    hits, found = scenario["hits"], scenario["discoveries"]
    assert metrics["discovery/hits"] == hits.sum()
    assert metrics["discovery/hits_batch"] == hits[-16:].sum()
    assert metrics["discovery/discoveries"] == found.sum()
    assert metrics["discovery/discoveries_batch"] == found[-16:].sum()
    assert metrics["discovery/labels_paid"] == 98
    assert metrics["discovery/yield"] == pytest.approx(found.sum() / 98)
    assert metrics["discovery/redundancy"] == 0.25
    assert metrics["discovery/fraction_found"] == 0.25
    everything = np.vstack([scenario["explored_z"], scenario["batch_z"]])
    assert metrics["bias/isoscore"] == isoscore(everything)
    steps = step_directions(scenario["batch_z"], scenario["explored_z"])
    assert metrics["bias/direction_entropy"] == direction_entropy(steps)
    shares = family_distribution(
        np.vstack([scenario["explored_compositions"], scenario["batch_compositions"]])
    )
    assert metrics["bias/family_evenness"] == family_evenness(shares)
    pool_shares = family_distribution(scenario["pool_compositions"])
    assert metrics["bias/family_js_divergence"] == js_divergence(shares, pool_shares)
    h = scenario["vendi_bandwidth"]
    assert metrics["diversity/vendi_batch"] == vendi_score(scenario["batch_z"], h)
    assert metrics["diversity/vendi_explored"] == vendi_score(everything, h)
    assert metrics["diversity/novelty"] == knn_novelty(scenario["batch_z"], scenario["explored_z"], k=5)
    assert metrics["model/elbo"] == -12.5 and metrics["model/active_units"] == 2.0
    assert metrics["model/kl_dim_0"] == 0.7
    assert metrics["acquisition/bald_ratio"] > 1.0  # the batch is the 16 highest-BALD candidates


def test_a_batch_displaced_along_one_axis_shows_directional_bias(scenario: dict[str, object]) -> None:
    metrics = iteration_metrics(**scenario)
    # The batch sits to the right of the explored cloud: steps point mostly along +z₁.
    assert metrics["bias/mean_resultant_length"] > 0.5
    assert metrics["bias/direction_entropy"] < 0.8


def test_same_inputs_give_bit_identical_outputs(scenario: dict[str, object]) -> None:
    first = iteration_metrics(**scenario)
    second = iteration_metrics(**scenario)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name] or (math.isnan(first[name]) and math.isnan(second[name]))


def test_candidates_mean_ratio_is_one_when_the_batch_is_every_candidate(scenario: dict[str, object]) -> None:
    everyone = {**scenario, "batch_index": np.arange(400)}
    metrics = iteration_metrics(**everyone)
    assert metrics["acquisition/bald_ratio"] == pytest.approx(1.0)
    assert metrics["acquisition/entropy_ratio"] == pytest.approx(1.0)


def test_minimal_call_leaves_optional_groups_nan() -> None:
    rng = np.random.default_rng(1)
    metrics = iteration_metrics(
        explored_z=rng.normal(size=(30, 3)),
        batch_z=rng.normal(size=(4, 3)),
        vendi_bandwidth=1.0,
        hits=np.array([True, False, True, True]),
        discoveries=np.array([True, False, False, True]),
        paid=np.ones(4, dtype=bool),
        redundant=np.zeros(4, dtype=bool),
    )
    assert set(METRIC_NAMES) == set(metrics)
    for name in (
        "discovery/fraction_found",
        "bias/family_evenness",
        "bias/family_js_divergence",
        "model/accuracy",
        "model/roc_auc",
        "model/ece",
        "model/mutual_information",
        "model/elbo",
        "model/active_units",
        "model/roundtrip_error",
        "model/frame_drift",
        "acquisition/bald_ratio",
        "acquisition/entropy_ratio",
    ):
        assert math.isnan(metrics[name]), name
    assert metrics["discovery/hits"] == 3.0 and metrics["discovery/discoveries"] == 2.0
    assert metrics["discovery/yield"] == 0.5
    assert 0.0 <= metrics["bias/isoscore"] <= 1.0


def test_empty_batch_and_empty_explored_set_do_not_crash() -> None:
    pool = alloy_fractions()
    empty = iteration_metrics(
        explored_z=np.zeros((0, 2)),
        batch_z=np.zeros((0, 2)),
        explored_compositions=np.zeros((0, 30)),
        batch_compositions=np.zeros((0, 30)),
        pool_compositions=pool,
        vendi_bandwidth=1.0,
        hits=np.zeros(0, dtype=bool),
        discoveries=np.zeros(0, dtype=bool),
        paid=np.zeros(0, dtype=bool),
        redundant=np.zeros(0, dtype=bool),
        fraction_found=0.0,
        candidate_p_samples=np.full((4, 5), 0.5),
        batch_index=np.zeros(0, dtype=np.int64),
        mi_z=np.zeros((0, 2)),
        mi_y=np.zeros(0, dtype=np.int64),
    )
    counts = ("hits", "hits_batch", "discoveries", "discoveries_batch", "labels_paid", "fraction_found")
    assert all(empty[f"discovery/{name}"] == 0.0 for name in counts)
    for name in METRIC_NAMES:
        if name.removeprefix("discovery/") not in counts:
            assert math.isnan(empty[name]), name
    one = iteration_metrics(
        explored_z=np.zeros((1, 2)),
        batch_z=np.zeros((1, 2)),  # the proposal repeats the only labelled point: no step direction
        vendi_bandwidth=1.0,
        hits=[False],
        discoveries=[False],
        paid=[True],
        redundant=[False],
    )
    assert one["diversity/vendi_batch"] == 1.0 and one["diversity/vendi_explored"] == pytest.approx(1.0)
    assert one["diversity/novelty"] == 0.0
    assert math.isnan(one["bias/isoscore"]) and math.isnan(one["bias/mean_resultant_length"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"batch_z": np.zeros((4, 3))}, "batch_z"),
        ({"batch_compositions": np.zeros((16, 30))}, "batch_compositions"),
        ({"explored_compositions": alloy_fractions()[:5]}, "explored_compositions"),
        ({"discoveries": np.zeros(200, dtype=bool)}, "discoveries"),
        ({"discoveries": np.ones(100, dtype=bool)}, "discoveries"),
        ({"holdout_y": None}, "holdout_p"),
        ({"mi_y": np.zeros(3, dtype=int)}, "mi_y"),
        ({"batch_index": np.array([400])}, "batch_index"),
        ({"model_stats": {"elbo": "high"}}, "model_stats"),
        ({"vendi_bandwidth": -1.0}, "bandwidth"),
    ],
)
def test_mistakes_raise_one_line_errors_naming_the_argument(
    scenario: dict[str, object], change: dict[str, object], field: str
) -> None:
    with pytest.raises(ArcloopError) as info:
        iteration_metrics(**{**scenario, **change})
    message = str(info.value)
    assert field in message and "\n" not in message
