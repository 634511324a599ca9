"""``iteration_metrics``: every name, values equal to their building blocks, degenerate iterations, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arcloop.data import alloy_fractions
from arcloop.errors import ArcloopError
from arcloop.materials import families
from arcloop.metrics import (
    METRIC_NAMES,
    accuracy,
    bald,
    campaign_bandwidth,
    direction_bin_index,
    direction_entropy,
    effective_rank,
    expected_calibration_error,
    family_distribution,
    family_evenness,
    isoscore,
    iteration_metrics,
    js_divergence,
    knn_novelty,
    mean_pairwise_distance,
    mean_resultant_length,
    mutual_information,
    orientation_erank,
    predictive_entropy,
    roc_auc,
    step_directions,
    top_eigen_share,
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
        "proposal_compositions": pool[rng.choice(len(pool), 100, replace=False)],
        "family": "3d",
        "observed": np.where(rng.random(100) < 0.8, rng.integers(0, 2, 100), -1),
        "true_labels": rng.integers(0, 2, 100),
    }


def test_every_name_is_present_as_a_plain_float(scenario: dict[str, object]) -> None:
    metrics = iteration_metrics(**scenario)
    assert set(METRIC_NAMES) <= set(metrics)
    assert all(type(value) is float for value in metrics.values())
    assert all(
        name.split("/")[0]
        in {"discovery", "bias", "diversity", "model", "acquisition", "surrogate", "belief"}
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
    # The new readings against plain loops over the rows.
    shares = families(scenario["proposal_compositions"])
    outside = [int(np.argmax(shares[i])) != 0 for i in range(100) if found[i]]  # family 0 is 3d
    assert metrics["discovery/outside_family_share"] == pytest.approx(sum(outside) / len(outside))
    observed, true, paid = scenario["observed"], scenario["true_labels"], scenario["paid"]
    told = [observed[i] for i in range(100) if observed[i] >= 0]
    real = [true[i] for i in range(100) if paid[i] and true[i] >= 0]
    gap = sum(v == 1 for v in told) / len(told) - sum(v == 1 for v in real) / len(real)
    assert metrics["belief/reported_positive_gap"] == pytest.approx(gap)
    p, y = scenario["holdout_p"], scenario["holdout_y"]
    assert metrics["belief/holdout_optimism"] == pytest.approx(sum(p) / len(p) - sum(y) / len(y))
    assert metrics["discovery/labels_paid"] == 98
    assert metrics["discovery/yield"] == pytest.approx(found.sum() / 98)
    assert metrics["discovery/redundancy"] == 0.25
    assert metrics["discovery/fraction_found"] == 0.25
    everything = np.vstack([scenario["explored_z"], scenario["batch_z"]])
    assert metrics["bias/isoscore"] == isoscore(everything)
    assert metrics["bias/top_eigen_share"] == top_eigen_share(everything)
    assert metrics["bias/effective_rank"] == effective_rank(everything)
    steps = step_directions(scenario["batch_z"], scenario["explored_z"])
    assert metrics["bias/direction_entropy"] == direction_entropy(steps)
    assert metrics["bias/mean_resultant_length"] == mean_resultant_length(steps)
    assert metrics["bias/orientation_erank"] == orientation_erank(steps)
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
    assert metrics["diversity/mean_pairwise_distance"] == mean_pairwise_distance(scenario["batch_z"])
    p, y = scenario["holdout_p"], scenario["holdout_y"]
    assert metrics["model/accuracy"] == accuracy(p, y)
    assert metrics["model/roc_auc"] == roc_auc(p, y)
    assert metrics["model/ece"] == expected_calibration_error(p, y)
    # model/mutual_information is 0 here (mi_y is noise): its building block is checked with the seed below.
    assert metrics["model/elbo"] == -12.5 and metrics["model/active_units"] == 2.0
    assert metrics["model/kl_dim_0"] == 0.7
    assert metrics["surrogate/lengthscale_0"] == 0.5 and metrics["bias/lengthscale_anisotropy"] == 4.0
    # acquisition/*_ratio: batch mean over candidates mean (the batch is the 16 highest-BALD candidates).
    samples, batch = scenario["candidate_p_samples"], scenario["batch_index"]
    for name, per_candidate in (
        ("bald_ratio", bald(samples)),
        ("entropy_ratio", predictive_entropy(samples)),
    ):
        assert metrics[f"acquisition/{name}"] == pytest.approx(
            per_candidate[batch].mean() / per_candidate.mean(), rel=1e-12
        )


DIRECTIONAL = ("bias/mean_resultant_length", "bias/orientation_erank", "bias/direction_entropy")


def test_a_batch_displaced_along_one_axis_shows_directional_bias(scenario: dict[str, object]) -> None:
    """Direction: the batch to the right of the explored cloud (its steps all in the two sectors around
    +z₁) reads as biased; the same batch moved onto the cloud reads as spread. Stays put: a 90° rotation
    of the whole frame (which maps the 8 sectors onto each other) and other groups' inputs change nothing."""
    displaced = iteration_metrics(**scenario)
    cells = direction_bin_index(step_directions(scenario["batch_z"], scenario["explored_z"]))
    assert set(cells.tolist()) <= {3, 4}  # the sectors [−π/4, 0) and [0, π/4)
    centred = iteration_metrics(**{**scenario, "batch_z": scenario["batch_z"] - np.array([5.0, 0.0])})
    # Measured: R̄ 0.99 vs 0.15, orientation erank 0.54 vs 0.86, entropy 0.11 vs 0.87.
    assert displaced["bias/mean_resultant_length"] > 0.95 > 0.3 > centred["bias/mean_resultant_length"]
    assert displaced["bias/orientation_erank"] < 0.6 < 0.8 < centred["bias/orientation_erank"]
    assert displaced["bias/direction_entropy"] < 0.2 < 0.8 < centred["bias/direction_entropy"]
    quarter_turn = np.array([[0.0, -1.0], [1.0, 0.0]])
    rotated = iteration_metrics(
        **{
            **scenario,
            **{key: scenario[key] @ quarter_turn.T for key in ("explored_z", "batch_z", "mi_z")},
            "hits": np.zeros(100, dtype=bool),
            "discoveries": np.zeros(100, dtype=bool),
            "holdout_p": 1.0 - scenario["holdout_p"],
        }
    )
    for name in DIRECTIONAL:
        assert rotated[name] == pytest.approx(displaced[name], rel=1e-12), name


def test_the_seed_reaches_the_subsampled_metrics_and_nothing_else(scenario: dict[str, object]) -> None:
    """With fewer Vendi landmarks and MI points than there are points, the seed picks the subsamples: the
    same seed gives the same figures bit for bit, another seed changes diversity/vendi_explored and
    model/mutual_information (each equal to its building block with that seed) and no other metric."""
    mi_y = (scenario["mi_z"][:, 0] > np.median(scenario["mi_z"][:, 0])).astype(np.int64)
    mi_y[::7] = -1  # some rows truth abstains on
    small = {**scenario, "mi_y": mi_y, "vendi_landmarks": 50, "mi_max_points": 60}
    everything = np.vstack([scenario["explored_z"], scenario["batch_z"]])
    known = mi_y >= 0
    runs = {seed: iteration_metrics(**small, seed=seed) for seed in (0, 1)}
    again = iteration_metrics(**small, seed=0)
    assert again.keys() == runs[0].keys()
    assert all(again[k] == runs[0][k] or (math.isnan(again[k]) and math.isnan(runs[0][k])) for k in again)
    for seed, metrics in runs.items():
        h = scenario["vendi_bandwidth"]
        assert metrics["diversity/vendi_explored"] == vendi_score(everything, h, landmarks=50, seed=seed)
        expected = mutual_information(scenario["mi_z"][known], mi_y[known], max_points=60, seed=seed)
        assert metrics["model/mutual_information"] == expected > 0.3
    changed = {k for k in runs[0] if runs[0][k] != runs[1][k] and not math.isnan(runs[0][k])}
    assert changed == {"diversity/vendi_explored", "model/mutual_information"}


def test_acquisition_ratios_on_three_candidates_by_hand() -> None:
    """Two draws for each of three candidates: [½, ½] (agree, uncertain), [0, 1] (disagree), [0.2, 0.2].

    BALD = H(p̄) − mean H(p_t) = 0, ln 2, 0 (mean ln 2 / 3); predictive entropy H(p̄) = ln 2, ln 2, H(0.2)
    with H(0.2) = −0.2 ln 0.2 − 0.8 ln 0.8. A ratio is the batch's mean over all candidates' mean."""
    samples = np.array([[0.5, 0.0, 0.2], [0.5, 1.0, 0.2]])
    h02 = -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    ln2 = math.log(2.0)
    rng = np.random.default_rng(1)
    common = {
        "explored_z": rng.normal(size=(30, 2)),
        "batch_z": rng.normal(size=(2, 2)),
        "vendi_bandwidth": 1.0,
        "hits": np.zeros(2, dtype=bool),
        "discoveries": np.zeros(2, dtype=bool),
        "paid": np.ones(2, dtype=bool),
        "redundant": np.zeros(2, dtype=bool),
        "candidate_p_samples": samples,
    }
    for batch, bald_ratio, entropy_ratio in (
        ([1], 3.0, 3 * ln2 / (2 * ln2 + h02)),
        ([0], 0.0, 3 * ln2 / (2 * ln2 + h02)),
        ([1, 2], 1.5, 1.5 * (ln2 + h02) / (2 * ln2 + h02)),
        ([2], 0.0, 3 * h02 / (2 * ln2 + h02)),
    ):
        metrics = iteration_metrics(**common, batch_index=np.array(batch))
        assert metrics["acquisition/bald_ratio"] == pytest.approx(bald_ratio, rel=1e-12, abs=1e-15), batch
        assert metrics["acquisition/entropy_ratio"] == pytest.approx(entropy_ratio, rel=1e-12), batch
    # Both draws equal to the first (p̄ = ½, 0, 0.2): no candidate has an epistemic part, so the BALD
    # ratio is undefined; the entropy ratio is not (ln 2 over (ln 2 + 0 + H(0.2)) / 3).
    agreeing = iteration_metrics(
        **common | {"candidate_p_samples": samples[[0, 0]]}, batch_index=np.array([0])
    )
    assert math.isnan(agreeing["acquisition/bald_ratio"])
    assert agreeing["acquisition/entropy_ratio"] == pytest.approx(3 * ln2 / (ln2 + h02), rel=1e-12)


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
    # The explored-set readings describe explored ∪ batch even without the optional inputs.
    rng = np.random.default_rng(1)
    everything = np.vstack([rng.normal(size=(30, 3)), rng.normal(size=(4, 3))])
    assert metrics["bias/isoscore"] == isoscore(everything)
    assert metrics["diversity/vendi_explored"] == vendi_score(everything, 1.0)


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
