"""The one call the campaign flow makes per iteration: every metric of docs/design.md as ``{name: float}``.

Which set each metric describes:

- *explored set* (``bias/isoscore``, ``bias/top_eigen_share``, ``bias/effective_rank``, ``bias/family_*``,
  ``diversity/vendi_explored``): everything explored up to and including this batch, ``explored_z ∪ batch_z``,
  so that, like ``discovery/discoveries``, the value at step t describes the state after iteration t;
- *steps* (``bias/mean_resultant_length``, ``bias/orientation_erank``, ``bias/direction_entropy``) and
  ``diversity/novelty``: the batch relative to what was labelled before it (``explored_z``);
- *batch* (``diversity/vendi_batch``, ``diversity/mean_pairwise_distance``).

Every point is in the current model's latent frame: the encoding of a composition by this iteration's
model. Every name in :data:`METRIC_NAMES` (declared once, in :mod:`arcloop.metrics.registry`), and every
reading added there with :func:`arcloop.metrics.registry.register`, is always present; a value that is
undefined for this iteration (empty batch, no held-out set, unknown target count, …) is NaN. Extra
``model_stats`` entries are passed through as ``model/<key>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError
from arcloop.materials import validate_compositions
from arcloop.metrics._arrays import as_bool_vector, as_points, as_probabilities, positive_int
from arcloop.metrics.belief import holdout_optimism, reported_positive_gap
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
from arcloop.metrics.discovery import outside_family_share
from arcloop.metrics.diversity import DEFAULT_LANDMARKS, knn_novelty, mean_pairwise_distance, vendi_score
from arcloop.metrics.model import (
    accuracy,
    bald,
    expected_calibration_error,
    mutual_information,
    predictive_entropy,
    roc_auc,
)
from arcloop.metrics.registry import METRIC_NAMES, MetricInputs, registered


def _compositions(X: ArrayLike | None, name: str, rows: int) -> np.ndarray | None:
    if X is None:
        return None
    array = validate_compositions(X, name=name)
    if array.shape[0] != rows:
        raise ArcloopError(f"{name}: expected {rows} rows (one per latent point), got {array.shape[0]}")
    return array


def _discovery(
    hits: ArrayLike,
    discoveries: ArrayLike,
    paid: ArrayLike,
    redundant: ArrayLike,
    fraction_found: float,
) -> dict[str, float]:
    """Discovery readings from per-proposal flags over the whole campaign, this batch last.

    ``hits``, ``discoveries``, ``paid``: (P,) bool over every proposal so far (P ≥ k); ``redundant``: (k,)
    bool over this batch, whose proposals are the last k of the P.
    """
    hit = as_bool_vector(hits, "hits")
    found = as_bool_vector(discoveries, "discoveries")
    was_paid = as_bool_vector(paid, "paid")
    batch_redundant = as_bool_vector(redundant, "redundant")
    k = batch_redundant.size
    if not (hit.size == found.size == was_paid.size) or k > hit.size:
        raise ArcloopError(
            f"hits, discoveries, paid: expected one flag per proposal (same length >= the batch's {k}), "
            f"got {hit.size}, {found.size}, {was_paid.size}"
        )
    if (found & ~hit).any():
        raise ArcloopError("discoveries: a discovery must be a hit; compute them with discovery_mask")
    labels_paid = int(was_paid.sum())
    batch = slice(hit.size - k, hit.size)
    return {
        "discovery/hits_batch": float(hit[batch].sum()),
        "discovery/hits": float(hit.sum()),
        "discovery/discoveries_batch": float(found[batch].sum()),
        "discovery/discoveries": float(found.sum()),
        "discovery/labels_paid": float(labels_paid),
        "discovery/yield": float(found.sum()) / labels_paid if labels_paid else math.nan,
        "discovery/redundancy": float(batch_redundant.mean()) if k else math.nan,
        "discovery/fraction_found": float(fraction_found),
    }


def _model(
    holdout_p: ArrayLike | None,
    holdout_y: ArrayLike | None,
    mi_z: ArrayLike | None,
    mi_y: ArrayLike | None,
    model_stats: Mapping[str, float] | None,
    mi_max_points: int,
    seed: int,
) -> dict[str, float]:
    names = [name for name in METRIC_NAMES if name.startswith("model/")]
    values = dict.fromkeys(names, math.nan)
    if (holdout_p is None) != (holdout_y is None):
        raise ArcloopError(
            "holdout_p, holdout_y: pass both (the held-out probabilities and labels) or neither"
        )
    if holdout_p is not None:
        values["model/accuracy"] = accuracy(holdout_p, holdout_y)
        values["model/roc_auc"] = roc_auc(holdout_p, holdout_y)
        values["model/ece"] = expected_calibration_error(holdout_p, holdout_y)
    if (mi_z is None) != (mi_y is None):
        raise ArcloopError("mi_z, mi_y: pass both (latent points and their labels) or neither")
    if mi_z is not None:
        z = as_points(mi_z, "mi_z")
        y = np.asarray(mi_y)
        if y.ndim != 1 or y.size != z.shape[0]:
            raise ArcloopError(f"mi_y: expected {z.shape[0]} labels (one per row of mi_z), got {y.shape}")
        known = y >= 0  # rows truth abstains on carry no class
        values["model/mutual_information"] = mutual_information(  # the joint k-NN estimator
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


def _belief(
    proposal_compositions: ArrayLike | None,
    family: str | None,
    discoveries: ArrayLike,
    observed: ArrayLike | None,
    true_labels: ArrayLike | None,
    paid: ArrayLike,
    holdout_p: ArrayLike | None,
    holdout_y: ArrayLike | None,
) -> dict[str, float]:
    values = {
        "discovery/outside_family_share": math.nan,
        "belief/reported_positive_gap": math.nan,
        "belief/holdout_optimism": math.nan,
    }
    if proposal_compositions is not None and family is not None:
        values["discovery/outside_family_share"] = outside_family_share(
            proposal_compositions, discoveries, family
        )
    if (observed is None) != (true_labels is None):
        raise ArcloopError(
            "observed, true_labels: pass both (each proposal's observed and true label) or neither"
        )
    if observed is not None and true_labels is not None:
        values["belief/reported_positive_gap"] = reported_positive_gap(observed, true_labels, paid)
    if holdout_p is not None and holdout_y is not None:
        values["belief/holdout_optimism"] = holdout_optimism(holdout_p, holdout_y)
    return values


def _surrogate(stats: Mapping[str, float] | None) -> dict[str, float]:
    values = {"bias/lengthscale_anisotropy": math.nan}
    for key, value in (stats or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ArcloopError(f"surrogate_stats[{key!r}]: expected a number, got {value!r}") from None
        if key == "lengthscale_anisotropy":
            values["bias/lengthscale_anisotropy"] = number
        else:
            values[f"surrogate/{key}"] = number
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
    hits: ArrayLike,
    discoveries: ArrayLike,
    paid: ArrayLike,
    redundant: ArrayLike,
    fraction_found: float = math.nan,
    explored_compositions: ArrayLike | None = None,
    batch_compositions: ArrayLike | None = None,
    pool_compositions: ArrayLike | None = None,
    candidate_p_samples: ArrayLike | None = None,
    batch_index: ArrayLike | None = None,
    holdout_p: ArrayLike | None = None,
    holdout_y: ArrayLike | None = None,
    mi_z: ArrayLike | None = None,
    mi_y: ArrayLike | None = None,
    model_stats: Mapping[str, float] | None = None,
    surrogate_stats: Mapping[str, float] | None = None,
    proposal_compositions: ArrayLike | None = None,
    family: str | None = None,
    observed: ArrayLike | None = None,
    true_labels: ArrayLike | None = None,
    direction_bins: int | None = None,
    novelty_k: int = 5,
    vendi_landmarks: int = DEFAULT_LANDMARKS,
    mi_max_points: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """All per-iteration metrics as ``{"group/name": float}``: :data:`METRIC_NAMES`, NaN where undefined.

    Args:
        explored_z: (m, d) current-frame encodings of everything explored before this batch (the initial set
            and every earlier proposal, whatever its status).
        batch_z: (k, d) current-frame encodings of this batch's compositions.
        vendi_bandwidth: the campaign's fixed RBF bandwidth, from :func:`campaign_bandwidth` of the pool.
        hits, discoveries, paid: (P,) bool, one per proposal of the campaign so far in order, this batch
            last: truth hit, new discovery (:func:`arcloop.metrics.discovery_mask`), label paid for.
        redundant: (k,) bool, :func:`arcloop.metrics.redundancy_mask` of the batch.
        fraction_found: pool source: share of the pool's distinct targets found; NaN otherwise.
        explored_compositions, batch_compositions: (m, 30) and (k, 30) compositions of those points (family
            metrics are NaN without them); pool_compositions: (N, 30) the reference distribution (all alloys).
        candidate_p_samples: (S, n) the surrogate's draws for this iteration's candidates;
            batch_index: (k,) indices of the batch into them. ``acquisition/*_ratio`` = batch mean /
            candidates mean of BALD and of predictive entropy.
        holdout_p, holdout_y: (h,) probabilities and TRUE 0/1 labels on a fixed held-out set, or None.
        mi_z, mi_y: encodings that do not read the classifier and their true labels (labels < 0 are left
            out) for ``model/mutual_information``, the joint I(z; y) (≤ ``mi_max_points`` points, seeded).
        model_stats: e.g. ``{"elbo": …, "active_units": …}``, passed through as ``model/<key>``.
        surrogate_stats: the surrogate's ``diagnostics()`` (e.g. the GP's length-scales), passed through
            as ``surrogate/<key>``; its ``lengthscale_anisotropy`` (latent GP only) is
            ``bias/lengthscale_anisotropy``.
        proposal_compositions: (P, 30) every proposal so far, in the order of ``hits``; with ``family``
            (the scenario's element family) gives ``discovery/outside_family_share``.
        observed, true_labels: (P,) each proposal's observed label and truth's (-1: none), for
            ``belief/reported_positive_gap`` (with ``paid``); ``belief/holdout_optimism`` reads
            ``holdout_p`` and ``holdout_y``.
        direction_bins: bins of :func:`direction_entropy` (d = 2 only; None → its default).
        novelty_k: neighbours of :func:`knn_novelty`.
        vendi_landmarks, seed: Nyström size and seed of :func:`vendi_score` for the explored set.
    """
    explored = as_points(explored_z, "explored_z")
    batch = as_points(batch_z, "batch_z", dim=explored.shape[1])
    everything = np.vstack([explored, batch])
    steps = step_directions(batch, explored)
    metrics = _discovery(hits, discoveries, paid, redundant, fraction_found)
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
    metrics |= _model(holdout_p, holdout_y, mi_z, mi_y, model_stats, mi_max_points, seed)
    metrics |= _belief(
        proposal_compositions, family, discoveries, observed, true_labels, paid, holdout_p, holdout_y
    )
    metrics |= _acquisition(candidate_p_samples, batch_index)
    metrics |= _surrogate(surrogate_stats)
    added = registered()
    if added:
        inputs = MetricInputs(
            explored_z=explored,
            batch_z=batch,
            hits=as_bool_vector(hits, "hits"),
            discoveries=as_bool_vector(discoveries, "discoveries"),
            paid=as_bool_vector(paid, "paid"),
            explored_compositions=explored_x,
            batch_compositions=batch_x,
            holdout_p=None if holdout_p is None else np.asarray(holdout_p, dtype=np.float64),
            holdout_y=None if holdout_y is None else np.asarray(holdout_y),
        )
        for spec in added:
            assert spec.compute is not None  # register() requires it
            metrics[spec.name] = spec.compute(inputs)
    return {name: float(value) for name, value in metrics.items()}
