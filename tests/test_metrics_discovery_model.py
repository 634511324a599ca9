"""Discovery and model-quality metrics: analytic baselines, self-comparison, scikit-learn agreement."""

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
    random_expected_curve,
    random_expected_draws,
    random_expected_hits,
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


@pytest.mark.parametrize(("n_pool", "n_targets"), [(20, 3), (1375, 600), (50, 0), (7, 7)])
def test_random_expectation_is_the_hypergeometric_mean(n_pool: int, n_targets: int) -> None:
    draws = np.arange(0, n_pool + 1)
    expected = np.asarray(random_expected_hits(n_pool, n_targets, draws))
    with np.errstate(divide="ignore", invalid="ignore"):  # scipy's higher moments at n = 0 or n = N
        reference = hypergeom.mean(n_pool, n_targets, draws)
    np.testing.assert_allclose(expected, reference, atol=1e-9)
    np.testing.assert_allclose(random_expected_curve(n_pool, n_targets, 5), expected[1:6])


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
    expected = random_expected_curve(n_pool, n_targets, budget)
    np.testing.assert_allclose(curves.mean(axis=0), expected, atol=0.1)
    assert np.nanmean(enhancement_factor(curves.mean(axis=0), expected)) == pytest.approx(1.0, abs=0.02)


def test_enhancement_and_acceleration_of_a_curve_against_itself_are_one() -> None:
    curve = cumulative_hits(np.array([0, 0, 1, 0, 1, 1, 0, 1], dtype=bool))
    ef = enhancement_factor(curve, curve)
    assert np.isnan(ef[:2]).all()  # nothing found yet by the baseline: undefined
    np.testing.assert_array_equal(ef[2:], 1.0)
    for level in (1, 2, 3, 4):
        assert acceleration_factor(curve, curve, level) == 1.0


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
    rng = np.random.default_rng(4)
    samples = rng.beta(0.5, 0.5, size=(32, 200))
    assert (bald(samples) >= 0).all() and (bald(samples) <= predictive_entropy(samples) + 1e-12).all()
    with pytest.raises(ArcloopError, match="p_samples"):
        bald(np.full(3, 0.5))
