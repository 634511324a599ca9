"""What counts as a discovery: hand-built cases whose answers are known, and a tiny campaign's books."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arcloop.campaign import steps
from arcloop.campaign.setup import CampaignSetup, Proposal, explored_compositions, initial_state, prepare
from arcloop.config import CampaignConfig, validated
from arcloop.data import alloy_fractions
from arcloop.materials import parse_formula
from arcloop.metrics import composition_distance, discovery_mask, nearest_distance, redundancy_mask
from arcloop.oracles import LabelBatch, RulesOracle
from arcloop.policies import Candidates

# New single-phase alloys by the rules oracle, each > 30 at.% from every dataset alloy (checked below).
A = "Cr19Hf31Mo20Zr30"
A_NEAR = "Cr21Hf29Mo20Zr30"  # 2 at.% from A
A_NEAR_3 = "Cr19Hf28Mo23Zr30"  # 3 at.% from A
B = "V23Mo33W15Co29"
C = "Mo27Ni14W35Co24"
KNOWN = "Fe20Ni20Cr40Co20"  # a dataset alloy, single phase by the rules
NEGATIVE = "Zr21Mo32Ni17W30"  # multi-phase by the rules, far from the dataset


def x(*formulas: str) -> np.ndarray:
    return np.stack([parse_formula(f) for f in formulas])


def test_composition_distance_is_half_the_l1_distance_in_atomic_percent() -> None:
    assert composition_distance(x(A), x(A_NEAR))[0, 0] == pytest.approx(2.0)
    assert composition_distance(x("Fe50Ni50"), x("Co50Cr50"))[0, 0] == pytest.approx(100.0)
    rng = np.random.default_rng(0)
    left, right = rng.dirichlet(np.ones(30), 7), rng.dirichlet(np.ones(30), 5)
    brute = [[50.0 * sum(abs(a - b) for a, b in zip(p, q, strict=True)) for q in right] for p in left]
    np.testing.assert_allclose(composition_distance(left, right), brute, rtol=1e-12)
    # The blocked nearest search agrees with a brute-force loop over the dataset.
    data = alloy_fractions()
    expected = [min(50.0 * np.abs(row - other).sum() for other in data) for row in x(A, KNOWN)]
    np.testing.assert_allclose(nearest_distance(x(A, KNOWN), data), expected)
    assert nearest_distance(x(KNOWN), data)[0] == 0.0


def test_near_duplicates_count_once_and_known_alloys_never() -> None:
    batch = x(A, A_NEAR, KNOWN, B)
    hits = np.array([True, True, True, True])
    found = discovery_mask(batch, hits, alloy_fractions(), np.zeros((0, 30)), radius=5.0)
    assert found.tolist() == [True, False, False, True]
    # An earlier discovery of the campaign blocks its neighbours in a later batch.
    later = discovery_mask(x(A_NEAR_3, C), [True, True], alloy_fractions(), x(A, B), radius=5.0)
    assert later.tolist() == [False, True]
    # Radius 0: only the very same composition is not new.
    assert discovery_mask(
        x(A, A, A_NEAR), [True] * 3, np.zeros((0, 30)), np.zeros((0, 30)), 0.0
    ).tolist() == [
        True,
        False,
        True,
    ]
    # Misses are never discoveries, however new.
    assert not discovery_mask(x(B), [False], np.zeros((0, 30)), np.zeros((0, 30)), 5.0).any()


def test_redundancy_counts_repeats_of_earlier_proposals_and_of_earlier_batch_members() -> None:
    redundant = redundancy_mask(x(A, A_NEAR, B, C), earlier=x(C), radius=5.0)
    assert redundant.tolist() == [False, True, False, True]
    assert redundancy_mask(x(A, A_NEAR), earlier=np.zeros((0, 30)), radius=1.0).tolist() == [False, False]


@pytest.fixture(scope="module")
def tiny() -> tuple[CampaignSetup, object]:
    config = validated(
        CampaignConfig,
        {
            "seed": 0,
            "batch_size": 5,
            "model": {"max_epochs": 5, "warm_max_epochs": 2},
            "oracle": {"name": "rules"},
            "scenario": {"n_initial": 32},
            "target": {"min_elements": 4, "novelty": 5.0},
        },
    )
    setup = prepare(config)
    state = initial_state(setup)
    models = steps.train(setup, state, None)
    return setup, models


def proposal(models: steps.Models, formulas: tuple[str, ...], explored_z: np.ndarray) -> Proposal:
    compositions = x(*formulas)
    candidates = Candidates(
        z=models.ssvae.encode(compositions),
        compositions=compositions,
        p_samples=steps.SurrogateScorer(models).predict(compositions)[1],
        pool_index=np.full(len(formulas), -1),
    )
    return Proposal(candidates=candidates, batch=np.arange(len(formulas)), explored_z=explored_z)


def test_a_tiny_campaign_books_hits_discoveries_and_paid_labels_by_hand(tiny) -> None:
    setup, model = tiny
    rules = RulesOracle()
    data = alloy_fractions()
    # Preconditions of the hand-built case, checked against the rules and the data themselves.
    assert rules.predict(x(A, A_NEAR, A_NEAR_3, B, C, KNOWN)).tolist() == [1] * 6
    assert rules.predict(x(NEGATIVE)).tolist() == [0]
    assert (nearest_distance(x(A, B, C, NEGATIVE), data) > 30).all()

    state = initial_state(setup)
    explored = model.ssvae.encode(explored_compositions(setup, state))
    first = proposal(model, (A, A_NEAR, KNOWN, C, NEGATIVE), explored)
    # What the laboratory reported: C, a true target, went unreported (dropped) but was paid for.
    observed = LabelBatch(labels=[1, 1, 1, -1, 0], status=["ok", "ok", "ok", "dropped", "ok"], cost=[1.0] * 5)
    state, metrics = steps.measure(setup, state, model, first, observed, attempts=1)
    assert state.proposed_true.tolist() == [1, 1, 1, 1, 0]  # truth knows C is a target
    assert state.proposed_hit.tolist() == [True, True, True, False, False]
    assert state.proposed_discovery.tolist() == [True, False, False, False, False]
    assert metrics["discovery/hits"] == 3 and metrics["discovery/discoveries"] == 1
    assert metrics["discovery/labels_paid"] == 5
    assert metrics["discovery/yield"] == pytest.approx(1 / 5)
    assert metrics["discovery/redundancy"] == pytest.approx(1 / 5)  # A_NEAR repeats A
    # Only the ok observations join the training set, with what the lab said.
    assert len(state.labelled_y) == 32 + 4 and state.labelled_y[-4:].tolist() == [1, 1, 1, 0]

    explored = model.ssvae.encode(explored_compositions(setup, state))
    second = proposal(model, (B, A_NEAR_3), explored)
    observed = LabelBatch(labels=[1, 1], status=["ok", "ok"], cost=[1.0, 1.0])
    state, metrics = steps.measure(setup, state, model, second, observed, attempts=1)
    assert state.proposed_discovery[-2:].tolist() == [True, False]  # A_NEAR_3 is 3 at.% from A
    assert metrics["discovery/discoveries"] == 2 and metrics["discovery/discoveries_batch"] == 1
    assert metrics["discovery/hits"] == 5 and metrics["discovery/labels_paid"] == 7
    assert metrics["discovery/yield"] == pytest.approx(2 / 7)
    assert metrics["discovery/redundancy"] == pytest.approx(1 / 2)
    assert math.isnan(metrics["discovery/fraction_found"])  # generated candidates: no finite pool
    history = state.history
    assert [row["discovery"] for row in history] == state.proposed_discovery.tolist()
    assert [row["hit"] for row in history] == state.proposed_hit.tolist()
    assert [row["status"] for row in history][3] == "dropped"
    assert history[3]["true_label"] == 1 and history[3]["observed_label"] == -1


def test_the_reference_set_is_configurable(tiny) -> None:
    setup, _ = tiny
    assert len(setup.reference_X) == len(alloy_fractions())
    config = setup.config
    initial_only = prepare(
        config.model_copy(update={"target": config.target.model_copy(update={"reference": "initial"})})
    )
    np.testing.assert_array_equal(initial_only.reference_X, setup.pool_X[setup.initial])
    nothing = prepare(
        config.model_copy(update={"target": config.target.model_copy(update={"reference": "none"})})
    )
    assert nothing.reference_X.shape == (0, 30)
    # A known dataset alloy is new against nothing, and not against the dataset.
    assert discovery_mask(x(KNOWN), [True], nothing.reference_X, np.zeros((0, 30)), 5.0).tolist() == [True]
    assert discovery_mask(x(KNOWN), [True], setup.reference_X, np.zeros((0, 30)), 5.0).tolist() == [False]
