"""The one call the campaign flow makes per iteration: every metric of DESIGN.md as a flat ``{name: float}``.

Which set each metric describes:

- *explored set* (``bias/isoscore``, ``bias/top_eigen_share``, ``bias/effective_rank``, ``bias/family_*``,
  ``diversity/vendi_explored``): everything explored up to and including this batch, ``explored_z ∪ batch_z``,
  so that, like ``discovery/hits_cumulative``, the value at step t describes the state after iteration t;
- *steps* (``bias/mean_resultant_length``, ``bias/orientation_erank``, ``bias/direction_entropy``) and
  ``diversity/novelty``: the batch relative to what was labelled before it (``explored_z``);
- *batch* (``diversity/vendi_batch``, ``diversity/mean_pairwise_distance``).

Every name in :data:`METRIC_NAMES` is always present; a value that is undefined for this iteration (empty
batch, no held-out set, unknown target count, …) is NaN. Extra ``model_stats`` entries are passed through as
``model/<key>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError
from arcloop.materials import validate_compositions
from arcloop.metrics._arrays import as_bool_vector, as_points, as_probabilities, positive_int
from arcloop.metrics.bias import (
    direction_entropy,
    effective_rank,
    family_distribution,
    family_evenness,
    isoscore,
    js_divergence,
    mean_resultant_length,
    orientation_erank,
    step_directions,
    top_eigen_share,
)
from arcloop.metrics.discovery import fraction_found
from arcloop.metrics.diversity import DEFAULT_LANDMARKS, knn_novelty, mean_pairwise_distance, vendi_score
from arcloop.metrics.model import (
    accuracy,
    bald,
    expected_calibration_error,
    mutual_information,
    predictive_entropy,
    roc_auc,
)

METRIC_NAMES: tuple[str, ...] = (
    "discovery/hits_batch",
    "discovery/hits_cumulative",
    "discovery/hit_rate",
    "discovery/fraction_found",
    "discovery/enhancement_factor",
    "discovery/n_labels",
    "bias/isoscore",
    "bias/top_eigen_share",
    "bias/effective_rank",
    "bias/mean_resultant_length",
    "bias/orientation_erank",
    "bias/direction_entropy",
    "bias/family_evenness",
    "bias/family_js_divergence",
    "diversity/vendi_batch",
    "diversity/vendi_explored",
    "diversity/mean_pairwise_distance",
    "diversity/novelty",
    "model/accuracy",
    "model/roc_auc",
    "model/ece",
    "model/mutual_information",
    "model/elbo",
    "model/active_units",
    "acquisition/bald_ratio",
    "acquisition/entropy_ratio",
)
"""Names :func:`iteration_metrics` always returns (model_stats may add more ``model/…`` names)."""


def _compositions(X: ArrayLike | None, name: str, rows: int) -> np.ndarray | None:
    if X is None:
        return None
    array = validate_compositions(X, name=name)
    if array.shape[0] != rows:
        raise ArcloopError(f"{name}: expected {rows} rows (one per latent point), got {array.shape[0]}")
    return array


def _discovery(
    hit_sequence: ArrayLike, batch_hits: ArrayLike, n_targets: int | None, base_rate: float | None
) -> dict[str, float]:
    sequence = as_bool_vector(hit_sequence, "hit_sequence")
    batch = as_bool_vector(batch_hits, "batch_hits")
    if batch.size > sequence.size:
        raise ArcloopError(
            f"batch_hits: has {batch.size} entries but hit_sequence only {sequence.size}; "
            "hit_sequence must include this batch's labels"
        )
    if base_rate is not None and not (0.0 <= base_rate <= 1.0):
        raise ArcloopError(f"base_rate: must be a probability in [0, 1], got {base_rate!r}")
    cumulative = int(sequence.sum())
    random_expectation = sequence.size * base_rate if base_rate is not None else 0.0
    return {
        "discovery/hits_batch": float(batch.sum()),
        "discovery/hits_cumulative": float(cumulative),
        "discovery/hit_rate": float(batch.mean()) if batch.size else math.nan,
        "discovery/fraction_found": float(fraction_found(cumulative, n_targets)),
        "discovery/enhancement_factor": cumulative / random_expectation
        if random_expectation > 0
        else math.nan,
        "discovery/n_labels": float(sequence.size),
    }


def _model(
    holdout_p: ArrayLike | None,
    holdout_y: ArrayLike | None,
    labelled_z: ArrayLike | None,
    labelled_y: ArrayLike | None,
    model_stats: Mapping[str, float] | None,
    mi_max_points: int,
    seed: int,
) -> dict[str, float]:
    values = dict.fromkeys(
        (
            "model/accuracy",
            "model/roc_auc",
            "model/ece",
            "model/mutual_information",
            "model/elbo",
            "model/active_units",
        ),
        math.nan,
    )
    if (holdout_p is None) != (holdout_y is None):
        raise ArcloopError(
            "holdout_p, holdout_y: pass both (the held-out probabilities and labels) or neither"
        )
    if holdout_p is not None:
        values["model/accuracy"] = accuracy(holdout_p, holdout_y)
        values["model/roc_auc"] = roc_auc(holdout_p, holdout_y)
        values["model/ece"] = expected_calibration_error(holdout_p, holdout_y)
    if (labelled_z is None) != (labelled_y is None):
        raise ArcloopError("labelled_z, labelled_y: pass both (latent points and their labels) or neither")
    if labelled_z is not None:
        z = as_points(labelled_z, "labelled_z")
        y = np.asarray(labelled_y)
        if y.ndim != 1 or y.size != z.shape[0]:
            raise ArcloopError(
                f"labelled_y: expected {z.shape[0]} labels (one per row of labelled_z), got {y.shape}"
            )
        known = y >= 0  # failed / dropped labels (−1) carry no class
        values["model/mutual_information"] = mutual_information(
            z[known], y[known], max_points=mi_max_points, seed=seed
        )
    for key, value in (model_stats or {}).items():
        if not isinstance(key, str) or not key:
            raise ArcloopError(f"model_stats: keys must be non-empty strings, got {key!r}")
        try:
            values[f"model/{key}"] = float(value)
        except (TypeError, ValueError):
            raise ArcloopError(f"model_stats[{key!r}]: expected a number, got {value!r}") from None
    return values


def _acquisition(candidate_p_samples: ArrayLike | None, batch_index: ArrayLike | None) -> dict[str, float]:
    values = {"acquisition/bald_ratio": math.nan, "acquisition/entropy_ratio": math.nan}
    if candidate_p_samples is None or batch_index is None:
        return values
    samples = as_probabilities(candidate_p_samples, "candidate_p_samples")
    if samples.ndim != 2:
        raise ArcloopError(
            f"candidate_p_samples: expected shape (T samples, n candidates), got {samples.shape}"
        )
    index = np.asarray(batch_index)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ArcloopError(
            f"batch_index: expected a 1-D array of integer candidate indices, got {index.shape}"
        )
    if index.size and (index.min() < 0 or index.max() >= samples.shape[1]):
        raise ArcloopError(f"batch_index: indices must lie in [0, {samples.shape[1] - 1}] (the candidates)")
    if index.size == 0 or samples.shape[0] == 0:
        return values
    for name, per_candidate in (
        ("bald_ratio", bald(samples)),
        ("entropy_ratio", predictive_entropy(samples)),
    ):
        reference = float(per_candidate.mean())
        values[f"acquisition/{name}"] = (
            float(per_candidate[index].mean()) / reference if reference > 0 else math.nan
        )
    return values


def iteration_metrics(
    *,
    explored_z: ArrayLike,
    batch_z: ArrayLike,
    vendi_bandwidth: float,
    hit_sequence: ArrayLike,
    batch_hits: ArrayLike,
    explored_compositions: ArrayLike | None = None,
    batch_compositions: ArrayLike | None = None,
    pool_compositions: ArrayLike | None = None,
    n_targets: int | None = None,
    base_rate: float | None = None,
    candidate_p_samples: ArrayLike | None = None,
    batch_index: ArrayLike | None = None,
    holdout_p: ArrayLike | None = None,
    holdout_y: ArrayLike | None = None,
    labelled_z: ArrayLike | None = None,
    labelled_y: ArrayLike | None = None,
    model_stats: Mapping[str, float] | None = None,
    direction_bins: int | None = None,
    novelty_k: int = 5,
    vendi_landmarks: int = DEFAULT_LANDMARKS,
    mi_max_points: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """All per-iteration metrics as ``{"group/name": float}``: :data:`METRIC_NAMES`, NaN where undefined.

    Args:
        explored_z: (m, d) latent points labelled before this batch (initial set + earlier batches), in the
            current model's latent space.
        batch_z: (k, d) latent points of this batch.
        vendi_bandwidth: the campaign's fixed RBF bandwidth, from :func:`campaign_bandwidth` of the pool.
        hit_sequence: (L,) bool, one per label obtained by the loop so far in order, this batch last.
        batch_hits: (k',) bool, this batch's hits (k' ≤ k: dropped or failed labels are left out).
        explored_compositions, batch_compositions: (m, 30) and (k, 30) compositions of those points (family
            metrics are NaN without them); pool_compositions: (N, 30) the reference distribution (all alloys).
        n_targets: targets available at the start (pool source); None for generated candidates → fraction NaN.
        base_rate: probability that a random draw is a target; ``discovery/enhancement_factor`` = cumulative
            hits / (L · base_rate).
        candidate_p_samples: (T, n) the model's probability samples for this iteration's candidates;
            batch_index: (k,) indices of the batch into them. ``acquisition/*_ratio`` = batch mean /
            candidates mean of BALD and of predictive entropy.
        holdout_p, holdout_y: (h,) probabilities and 0/1 labels on a fixed held-out set, or None.
        labelled_z, labelled_y: latent points and labels of the labelled set (labels < 0, failed, are left
            out) for ``model/mutual_information`` (max over coordinates, ≤ ``mi_max_points`` points, seeded).
        model_stats: e.g. ``{"elbo": …, "active_units": …}``, passed through as ``model/<key>``.
        direction_bins: bins of :func:`direction_entropy` (d = 2 only; None → its default).
        novelty_k: neighbours of :func:`knn_novelty`.
        vendi_landmarks, seed: Nyström size and seed of :func:`vendi_score` for the explored set.
    """
    explored = as_points(explored_z, "explored_z")
    batch = as_points(batch_z, "batch_z", dim=explored.shape[1])
    everything = np.vstack([explored, batch])
    steps = step_directions(batch, explored)
    metrics = _discovery(hit_sequence, batch_hits, n_targets, base_rate)
    metrics |= {
        "bias/isoscore": isoscore(everything),
        "bias/top_eigen_share": top_eigen_share(everything),
        "bias/effective_rank": effective_rank(everything),
        "bias/mean_resultant_length": mean_resultant_length(steps),
        "bias/orientation_erank": orientation_erank(steps),
        "bias/direction_entropy": direction_entropy(steps, direction_bins),
        "bias/family_evenness": math.nan,
        "bias/family_js_divergence": math.nan,
    }
    explored_x = _compositions(explored_compositions, "explored_compositions", explored.shape[0])
    batch_x = _compositions(batch_compositions, "batch_compositions", batch.shape[0])
    if (explored_x is None) != (batch_x is None):
        raise ArcloopError("explored_compositions, batch_compositions: pass both or neither")
    if explored_x is not None and batch_x is not None and everything.shape[0] > 0:
        shares = family_distribution(np.vstack([explored_x, batch_x]))
        metrics["bias/family_evenness"] = family_evenness(shares)
        if pool_compositions is not None:
            pool = validate_compositions(pool_compositions, name="pool_compositions")
            metrics["bias/family_js_divergence"] = js_divergence(shares, family_distribution(pool))
    metrics |= {
        "diversity/vendi_batch": vendi_score(batch, vendi_bandwidth),
        "diversity/vendi_explored": vendi_score(
            everything, vendi_bandwidth, landmarks=vendi_landmarks, seed=seed
        ),
        "diversity/mean_pairwise_distance": mean_pairwise_distance(batch),
        "diversity/novelty": knn_novelty(batch, explored, k=positive_int(novelty_k, "novelty_k")),
    }
    metrics |= _model(holdout_p, holdout_y, labelled_z, labelled_y, model_stats, mi_max_points, seed)
    metrics |= _acquisition(candidate_p_samples, batch_index)
    return {name: float(value) for name, value in metrics.items()}
