"""Model quality and latent health: held-out accuracy, ROC AUC, calibration, the joint mutual information
between a latent code and the label, and the per-candidate uncertainties (predictive entropy, BALD) the
acquisition metrics compare.

Probabilities are of the target class (single phase); labels are 0/1. Entropies are in nats.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, entr
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.neighbors import KDTree, NearestNeighbors

from arcloop.errors import ArcloopError
from arcloop.metrics._arrays import as_binary_labels, as_points, as_probabilities, positive_int


def _probabilities_and_labels(p: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    probabilities = as_probabilities(p, "p")
    if probabilities.ndim != 1:
        raise ArcloopError(f"p: expected a 1-D array of probabilities, got shape {probabilities.shape}")
    labels = as_binary_labels(y, "y")
    if labels.size != probabilities.size:
        raise ArcloopError(f"y: expected {probabilities.size} labels to match p, got {labels.size}")
    return probabilities, labels


def expected_calibration_error(p: ArrayLike, y: ArrayLike, bins: int = 10) -> float:
    """ECE = Σ_b (n_b / n) · |mean(y_b) − mean(p_b)| over ``bins`` equal-width bins of p on [0, 1].

    The binary, positive-class form (Naeini, Cooper & Hauskrecht 2015): it calibrates p itself, as
    ``sklearn.calibration.calibration_curve(strategy="uniform")`` does, with the same bin assignment (bins
    closed on the right, the first also containing 0), so ECE is that curve's gaps weighted by bin counts. 0
    for a perfectly calibrated model, at most 1. NaN for no predictions.
    """
    probabilities, labels = _probabilities_and_labels(p, y)
    count = positive_int(bins, "bins")
    if probabilities.size == 0:
        return math.nan
    edges = np.linspace(0.0, 1.0, count + 1)
    bin_of = np.searchsorted(edges[1:-1], probabilities)
    weight = np.bincount(bin_of, minlength=count)
    gap = np.abs(
        np.bincount(bin_of, weights=labels, minlength=count)
        - np.bincount(bin_of, weights=probabilities, minlength=count)
    )
    # Σ_b (n_b/n)·|Σy_b/n_b − Σp_b/n_b| = Σ_b |Σy_b − Σp_b| / n: empty bins contribute 0.
    return float(gap.sum() / weight.sum())


def roc_auc(p: ArrayLike, y: ArrayLike) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); NaN when y has fewer than two classes."""
    probabilities, labels = _probabilities_and_labels(p, y)
    if np.unique(labels).size < 2:
        return math.nan
    return float(roc_auc_score(labels, probabilities))


def accuracy(p: ArrayLike, y: ArrayLike, threshold: float = 0.5) -> float:
    """Share of labels predicted right by ``p ≥ threshold`` (sklearn ``accuracy_score``); NaN if none."""
    probabilities, labels = _probabilities_and_labels(p, y)
    if probabilities.size == 0:
        return math.nan
    return float(accuracy_score(labels, (probabilities >= threshold).astype(np.int64)))


def _points_and_classes(
    z: ArrayLike, y: ArrayLike, n_neighbors: int, max_points: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray, int, np.random.Generator]:
    """Validated (n, d) points, (n,) int64 classes, k, and the seeded generator (after any subsample)."""
    points = as_points(z, "z")
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size != points.shape[0]:
        raise ArcloopError(
            f"y: expected {points.shape[0]} labels (one per row of z), got shape {labels.shape}"
        )
    if labels.size and not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.bool_)):
        try:
            as_float = labels.astype(np.float64)
        except (TypeError, ValueError):
            as_float = np.array([np.nan])
        if not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
            raise ArcloopError("y: expected integer class labels (drop failed labels first)")
    k = positive_int(n_neighbors, "n_neighbors")
    generator = np.random.default_rng(seed)
    if max_points is not None and points.shape[0] > positive_int(max_points, "max_points", minimum=2):
        chosen = np.sort(generator.choice(points.shape[0], size=max_points, replace=False))
        points, labels = points[chosen], labels[chosen]
    return points, labels.astype(np.int64), k, generator


def _standardised_with_jitter(points: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Each coordinate divided by its standard deviation (1 if constant), plus a 1e-10-relative jitter.

    The same preparation as ``sklearn.feature_selection.mutual_info_classif`` (Kraskov et al. advise the
    jitter): it breaks ties between duplicated points, which would otherwise give zero k-NN radii, and moves
    no neighbour ranking between distinct points that differ by more than ~1e-9 standard deviations.
    """
    scale = points.std(axis=0)
    scaled = points / np.where(scale > 0.0, scale, 1.0)
    size = np.maximum(1.0, np.abs(scaled).mean(axis=0))
    return scaled + 1e-10 * size * generator.standard_normal(scaled.shape)


def mutual_information(
    z: ArrayLike,
    y: ArrayLike,
    n_neighbors: int = 3,
    max_points: int | None = None,
    seed: int = 0,
) -> float:
    """Joint mutual information I(z; y), in nats, between a continuous vector z (n, d) and class labels y.

    Measures how much knowing the whole code z tells about the label (and vice versa): 0 iff z and y are
    independent, at most H(y) (ln 2 for balanced binary labels). Estimated with the k-NN estimator of Ross
    (PLoS ONE 2014) generalised to d dimensions with max-norm (Chebyshev) distances: for each point i, d_i
    is the distance to its k-th nearest neighbour among the points of its own class (k = ``n_neighbors``,
    or the class size − 1 if smaller), m_i the number of points of any class closer than d_i (i included),
    and

        I = ψ(N) − ⟨ψ(N_{y_i})⟩ + ⟨ψ(k_i)⟩ − ⟨ψ(m_i)⟩,   clipped at 0,

    N the number of points, N_c the size of class c (points alone in their class are left out, as in
    sklearn). Coordinates are first divided by their standard deviation and jittered by 1e-10 of their
    scale, drawn from ``numpy.random.default_rng(seed)`` (see :func:`_standardised_with_jitter`): the
    estimate does not depend on the units of each coordinate, and duplicated points do not give zero radii.
    For d = 1 this is exactly what ``sklearn.feature_selection.mutual_info_classif`` computes.

    Unlike the per-coordinate :func:`max_marginal_mutual_information`, it sees information that lives only in
    a combination of coordinates (y = sign(z₁ z₂)), and an independent extra coordinate adds nothing to it
    (only estimator bias, which grows with d at fixed N).

    What it reads is the caller's choice of z: to measure whether the *latent code* carries the label, pass
    encodings that do not read the classifier — e.g. ``SSVAE.encode(X, y=prior)`` with the same fixed phase
    input for every point — never encodings conditioned on the classifier's own p(φ | x), through which the
    label would leak in.

    ``max_points``: if set and exceeded, a subsample drawn without replacement with
    ``numpy.random.default_rng(seed)`` (the same generator then draws the jitter). Returns 0.0 when y has a
    single class (I = 0 exactly), NaN with fewer than ``n_neighbors + 1`` points.
    """
    points, labels, k, generator = _points_and_classes(z, y, n_neighbors, max_points, seed)
    if points.shape[0] < k + 1:
        return math.nan
    if np.unique(labels).size < 2:
        return 0.0
    prepared = _standardised_with_jitter(points, generator)
    n = prepared.shape[0]
    radius = np.zeros(n)
    class_size = np.zeros(n)
    k_used = np.zeros(n)
    for label in np.unique(labels):
        mask = labels == label
        count = int(mask.sum())
        class_size[mask] = count
        if count > 1:
            k_label = min(k, count - 1)
            neighbours = NearestNeighbors(n_neighbors=k_label, metric="chebyshev").fit(prepared[mask])
            distance = neighbours.kneighbors(return_distance=True)[0][:, -1]
            # Strictly closer than the k-th neighbour: the k-th itself is not counted, point i is.
            radius[mask] = np.nextafter(distance, 0.0)
            k_used[mask] = k_label
    keep = class_size > 1
    if np.unique(labels[keep]).size < 2:
        return 0.0
    kept = prepared[keep]
    within = KDTree(kept, metric="chebyshev").query_radius(kept, radius[keep], count_only=True)
    estimate = (
        digamma(int(keep.sum()))
        - digamma(class_size[keep]).mean()
        + digamma(k_used[keep]).mean()
        - digamma(np.asarray(within, dtype=np.float64)).mean()
    )
    return float(max(0.0, estimate))


def binary_entropy(p: ArrayLike) -> np.ndarray:
    """Entropy −p ln p − (1 − p) ln(1 − p) of Bernoulli(p), elementwise, in nats (0 at p ∈ {0, 1})."""
    probabilities = as_probabilities(p, "p")
    return entr(probabilities) + entr(1.0 - probabilities)


def _samples(p_samples: ArrayLike) -> np.ndarray:
    samples = as_probabilities(p_samples, "p_samples")
    if samples.ndim != 2:
        raise ArcloopError(f"p_samples: expected shape (T samples, n candidates), got {samples.shape}")
    return samples


def predictive_entropy(p_samples: ArrayLike) -> np.ndarray:
    """(n,) total uncertainty H(p̄), p̄ the mean over the T Monte Carlo samples of ``p_samples`` (T, n)."""
    samples = _samples(p_samples)
    if samples.shape[0] == 0:
        return np.full(samples.shape[1], math.nan)
    return binary_entropy(samples.mean(axis=0))


def bald(p_samples: ArrayLike) -> np.ndarray:
    """(n,) BALD H(p̄) − mean_t H(p_t) (Houlsby et al. 2011), ≥ 0, in nats: the epistemic part of H(p̄)."""
    samples = _samples(p_samples)
    if samples.shape[0] == 0:
        return np.full(samples.shape[1], math.nan)
    return np.clip(predictive_entropy(samples) - binary_entropy(samples).mean(axis=0), 0.0, None)
