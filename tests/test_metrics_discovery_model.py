"""Discovery and model-quality metrics: analytic baselines, hand-computed cases, scikit-learn agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import hypergeom
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from arcloop.errors import ArcloopError
from arcloop.metrics import (
    acceleration_factor,
    accuracy,
    bald,
    binary_entropy,
    cumulative_hits,
    draws_to_reach,
    enhancement_factor,
    expected_calibration_error,
    fraction_found,
    hits,
    predictive_entropy,
    random_expected_draws,
    roc_auc,
)

# --------------------------------------------------------------------------- discovery


def test_hits_and_cumulative_curve_of_a_pool_campaign() -> None:
    target_mask = np.array([False, True, False, True, True, False])
    sequence = hits(np.array([0, 3, 5, 1]), target_mask)
    assert sequence.tolist() == [False, True, False, True]
    assert cumulative_hits(sequence).tolist() == [0, 1, 1, 2]
    assert cumulative_hits(np.zeros(0, dtype=bool)).size == 0
    with pytest.raises(ArcloopError, match="labelled"):
        hits(np.array([6]), target_mask)
    with pytest.raises(ArcloopError, match="labelled"):
        hits(np.array([0.5]), target_mask)


def test_fraction_found_is_nan_without_a_target_count() -> None:
    assert fraction_found(3, 12) == 0.25
    np.testing.assert_allclose(fraction_found(np.array([0, 2, 4]), 4), [0.0, 0.5, 1.0])
    assert math.isnan(fraction_found(3, None))
    assert math.isnan(fraction_found(0, 0))
    assert np.isnan(fraction_found(np.array([1, 2]), None)).all()


def test_expected_draws_to_the_jth_target_by_exact_enumeration() -> None:
    n_pool, n_targets = 30, 5
    for j in range(1, n_targets + 1):
        # P(j-th target at draw t) = C(t−1, j−1) C(N−t, M−j) / C(N, M)
        exact = sum(
            t * math.comb(t - 1, j - 1) * math.comb(n_pool - t, n_targets - j) for t in range(j, n_pool + 1)
        ) / math.comb(n_pool, n_targets)
        assert random_expected_draws(n_pool, n_targets, j) == pytest.approx(exact, rel=1e-12)
    assert math.isnan(random_expected_draws(n_pool, n_targets, n_targets + 1))
    with pytest.raises(ArcloopError, match="n_targets"):
        random_expected_draws(5, 6, 1)


def test_random_selection_matches_the_analytic_curve_on_average() -> None:
    rng = np.random.default_rng(0)
    n_pool, n_targets, budget = 200, 30, 60
    mask = np.zeros(n_pool, dtype=bool)
    mask[:n_targets] = True
    curves = np.array(
        [cumulative_hits(hits(rng.permutation(n_pool)[:budget], mask)) for _ in range(4000)], dtype=float
    )
    expected = hypergeom.mean(n_pool, n_targets, np.arange(1, budget + 1))  # n·M/N
    np.testing.assert_allclose(curves.mean(axis=0), expected, atol=0.1)


def test_draws_to_reach_of_random_campaigns_average_to_the_analytic_baseline() -> None:
    """The two sides of AF against random agree: draws_to_reach(curve, j) of simulated random campaigns
    averages to random_expected_draws(N, M, j) = j·(N + 1)/(M + 1). Each campaign labels the whole pool, so
    every level is reached; the tolerance is 4 standard errors of the simulated mean (an off-by-one
    draws_to_reach is off by 1 label, > 10 standard errors)."""
    rng = np.random.default_rng(1)
    n_pool, n_targets, runs = 200, 30, 4000
    mask = np.zeros(n_pool, dtype=bool)
    mask[:n_targets] = True
    curves = [cumulative_hits(hits(rng.permutation(n_pool), mask)) for _ in range(runs)]
    for j in (1, 2, 5):
        draws = np.array([draws_to_reach(curve, j) for curve in curves])
        tolerance = 4.0 * draws.std() / math.sqrt(runs)
        assert draws.mean() == pytest.approx(random_expected_draws(n_pool, n_targets, j), abs=tolerance)


def test_enhancement_and_acceleration_of_two_different_curves_by_hand() -> None:
    """Curves that are not proportional, so the EF of each budget and the AF of each level differ.

    method hits   1 0 1 1 0 0 1 0  → curve    1 1 2 3 3 3 4 4
    baseline hits 0 0 1 0 0 1 0 1  → baseline 0 0 1 1 1 2 2 3
    EF(n) = curve/baseline: –, –, 2/1, 3/1, 3/1, 3/2, 4/2, 4/3 (undefined while the baseline has 0).
    Labels to reach 1, 2, 3, 4 targets: method 1, 3, 4, 7; baseline 3, 6, 8, never →
    AF = 3/1, 6/3, 8/4, undefined.
    """
    method = cumulative_hits(np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=bool))
    baseline = cumulative_hits(np.array([0, 0, 1, 0, 0, 1, 0, 1], dtype=bool))
    ef = enhancement_factor(method, baseline)
    assert np.isnan(ef[:2]).all()
    np.testing.assert_allclose(ef[2:], [2.0, 3.0, 3.0, 1.5, 2.0, 4 / 3], rtol=1e-15)
    assert [draws_to_reach(method, level) for level in (1, 2, 3, 4)] == [1.0, 3.0, 4.0, 7.0]
    assert [acceleration_factor(method, baseline, level) for level in (1, 2, 3)] == [3.0, 2.0, 2.0]
    assert math.isnan(acceleration_factor(method, baseline, 4))  # the baseline never finds 4
    # Direction: the factors say "better" (> 1) for the method, "worse" (< 1) with the roles swapped.
    assert acceleration_factor(baseline, method, 2) == 0.5
    np.testing.assert_allclose(
        enhancement_factor(baseline, method), [0.0, 0.0, 0.5, 1 / 3, 1 / 3, 2 / 3, 0.5, 0.75]
    )
    # A level between counts is reached where the curve first passes it: 1.5 targets at 3 and 6 labels.
    assert acceleration_factor(method, baseline, 1.5) == 2.0
    # Units cancel: fraction-of-targets curves (M = 5) give the same EF, and AF at 2/5 is AF at 2 targets.
    np.testing.assert_allclose(enhancement_factor(method / 5, baseline / 5)[2:], ef[2:], rtol=1e-12)
    assert acceleration_factor(method / 5, baseline / 5, 2 / 5) == 2.0
    # The analytic random baseline of a pool N = 20, M = 5: the 2nd target after 2·21/6 = 7 labels.
    assert random_expected_draws(20, 5, 2) / draws_to_reach(method, 2) == pytest.approx(7 / 3)
    # Stays put: what the method does after it reached a level changes neither that AF nor earlier EFs.
    later = cumulative_hits(np.array([1, 0, 1, 1, 0, 0, 0, 0], dtype=bool))
    assert acceleration_factor(later, baseline, 3) == 2.0
    np.testing.assert_array_equal(enhancement_factor(later, baseline)[:6], ef[:6])


def test_enhancement_and_acceleration_known_values() -> None:
    baseline = np.array([0, 1, 1, 2, 2, 3, 3, 4], dtype=float)
    better = 2 * baseline
    np.testing.assert_allclose(enhancement_factor(better, baseline)[1:], 2.0)
    assert draws_to_reach(better, 4) == 4 and draws_to_reach(baseline, 4) == 8
    assert acceleration_factor(better, baseline, 4) == 2.0
    assert acceleration_factor(baseline, better, 4) == 0.5
    assert math.isnan(acceleration_factor(better, baseline, 5))  # the baseline never gets there
    assert math.isnan(draws_to_reach(baseline, 10))
    with pytest.raises(ArcloopError, match="level"):
        acceleration_factor(better, baseline, 0)
    with pytest.raises(ArcloopError, match="baseline_curve"):
        enhancement_factor(better, baseline[:-1])


# --------------------------------------------------------------------------- model quality


def test_ece_equals_calibration_curve_gaps_weighted_by_counts() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(2000)
    y = (rng.random(2000) < p**2).astype(int)  # over-confident model
    for bins in (5, 10, 15):
        prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
        counts = np.histogram(p, bins=np.linspace(0, 1, bins + 1))[0]
        expected = float((counts[counts > 0] / p.size * np.abs(prob_true - prob_pred)).sum())
        assert expected_calibration_error(p, y, bins) == pytest.approx(expected, rel=1e-9)
    assert expected_calibration_error(p, y) > 0.1


def test_ece_of_calibrated_and_of_confidently_wrong_models() -> None:
    p = np.array([0.25] * 4 + [0.75] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(p, y) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([1, 0])) == pytest.approx(1.0)
    assert math.isnan(expected_calibration_error(np.zeros(0), np.zeros(0, dtype=int)))


def test_roc_auc_and_accuracy() -> None:
    rng = np.random.default_rng(2)
    p, y = rng.random(300), rng.integers(0, 2, 300)
    assert roc_auc(p, y) == pytest.approx(roc_auc_score(y, p))
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([1, 1])))
    assert accuracy(np.array([0.1, 0.6, 0.5, 0.4]), np.array([0, 1, 0, 0])) == 0.75
    assert math.isnan(accuracy(np.zeros(0), np.zeros(0, dtype=int)))
    with pytest.raises(ArcloopError, match="p:"):
        accuracy(np.array([1.2]), np.array([1]))
    with pytest.raises(ArcloopError, match="y:"):
        roc_auc(np.array([0.2, 0.3]), np.array([0, -1]))
    with pytest.raises(ArcloopError, match="y:"):
        accuracy(np.array([0.2, 0.3]), np.array([0]))


def test_predictive_entropy_and_bald() -> None:
    assert binary_entropy(np.array([0.0, 0.5, 1.0])) == pytest.approx([0.0, math.log(2), 0.0])
    agreeing = np.full((16, 3), 0.5)
    disagreeing = np.tile([[0.0], [1.0]], (8, 3))  # half the samples say 0, half say 1
    np.testing.assert_allclose(predictive_entropy(agreeing), math.log(2))
    np.testing.assert_allclose(bald(agreeing), 0.0, atol=1e-15)
    np.testing.assert_allclose(predictive_entropy(disagreeing), math.log(2))
    np.testing.assert_allclose(bald(disagreeing), math.log(2))
    # Random draws against a plain loop over candidates and samples (0 ln 0 = 0).
    rng = np.random.default_rng(4)
    samples = rng.beta(0.5, 0.5, size=(32, 20))
    samples[:, 0] = 1.0  # a certain candidate: H = 0 and BALD = 0

    def h(q: float) -> float:
        return -sum(v * math.log(v) for v in (q, 1.0 - q) if v > 0.0)

    total = [h(sum(column) / len(column)) for column in samples.T]
    expected_bald = [
        t - sum(h(q) for q in column) / len(column) for t, column in zip(total, samples.T, strict=True)
    ]
    np.testing.assert_allclose(predictive_entropy(samples), total, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bald(samples), expected_bald, rtol=1e-10, atol=1e-15)
    assert min(expected_bald[1:]) > 0.05  # the draws disagree: a real epistemic part to compare
    with pytest.raises(ArcloopError, match="p_samples"):
        bald(np.full(3, 0.5))
