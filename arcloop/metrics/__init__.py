"""Metrics of a closed loop: bias, diversity, discovery and model health. Pure functions, numpy in, float out.

The campaign flow calls :func:`iteration_metrics` once per iteration (with a bandwidth fixed once per campaign
by :func:`campaign_bandwidth`); every other function is usable on its own.
"""

from arcloop.metrics.bias import (
    DEFAULT_ANGLE_BINS,
    centred_singular_values,
    direction_bin_index,
    direction_entropy,
    effective_rank,
    family_distribution,
    family_evenness,
    isoscore,
    js_divergence,
    mean_resultant_length,
    n_direction_bins,
    orientation_erank,
    spectral_effective_rank,
    step_directions,
    top_eigen_share,
)
from arcloop.metrics.discovery import (
    acceleration_factor,
    cumulative_hits,
    draws_to_reach,
    enhancement_factor,
    fraction_found,
    hits,
    random_expected_curve,
    random_expected_draws,
    random_expected_hits,
)
from arcloop.metrics.diversity import (
    DEFAULT_LANDMARKS,
    campaign_bandwidth,
    knn_novelty,
    mean_pairwise_distance,
    rbf_kernel,
    vendi_score,
)
from arcloop.metrics.iteration import METRIC_NAMES, iteration_metrics
from arcloop.metrics.model import (
    accuracy,
    bald,
    binary_entropy,
    expected_calibration_error,
    mutual_information,
    predictive_entropy,
    roc_auc,
)

__all__ = [
    "DEFAULT_ANGLE_BINS",
    "DEFAULT_LANDMARKS",
    "METRIC_NAMES",
    "acceleration_factor",
    "accuracy",
    "bald",
    "binary_entropy",
    "campaign_bandwidth",
    "centred_singular_values",
    "cumulative_hits",
    "direction_bin_index",
    "direction_entropy",
    "draws_to_reach",
    "effective_rank",
    "enhancement_factor",
    "expected_calibration_error",
    "family_distribution",
    "family_evenness",
    "fraction_found",
    "hits",
    "isoscore",
    "iteration_metrics",
    "js_divergence",
    "knn_novelty",
    "mean_pairwise_distance",
    "mean_resultant_length",
    "mutual_information",
    "n_direction_bins",
    "orientation_erank",
    "predictive_entropy",
    "random_expected_curve",
    "random_expected_draws",
    "random_expected_hits",
    "rbf_kernel",
    "roc_auc",
    "spectral_effective_rank",
    "step_directions",
    "top_eigen_share",
    "vendi_score",
]
