"""Diversity of latent point sets: Vendi score, mean pairwise distance, k-NN novelty.

Distances are Euclidean in the latent space, in latent units. The Vendi bandwidth is fixed once per campaign
(:func:`campaign_bandwidth`) so that values are comparable across iterations.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist, pdist

from arcloop.errors import ArcloopError
from arcloop.metrics._arrays import as_points, positive_int

DEFAULT_LANDMARKS = 300
"""Sets larger than this get the Nyström estimate of :func:`vendi_score` (measured error ≤ 1.5 % at the
campaign bandwidth, see there)."""


def _check_bandwidth(bandwidth: float) -> float:
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float | np.floating | np.integer):
        raise ArcloopError(f"bandwidth: expected a positive number, got {bandwidth!r}")
    if not math.isfinite(bandwidth) or bandwidth <= 0.0:
        raise ArcloopError(
            f"bandwidth: must be positive and finite, got {bandwidth!r}; use campaign_bandwidth(pool_z)"
        )
    return float(bandwidth)


def rbf_kernel(A: ArrayLike, B: ArrayLike, bandwidth: float) -> np.ndarray:
    """(n, m) Gaussian kernel k(a, b) = exp(−‖a − b‖² / (2 h²)), h = ``bandwidth`` in latent units."""
    h = _check_bandwidth(bandwidth)
    left = as_points(A, "A")
    right = as_points(B, "B", dim=left.shape[1])
    return np.exp(cdist(left, right, "sqeuclidean") / (-2.0 * h * h))


def _entropy_of_spectrum(eigenvalues: np.ndarray, n: int) -> float:
    """exp of the Shannon entropy of a spectrum that should sum to 1, completing any missing mass.

    Mass the spectrum lacks (1 − Σλ, left out by a low-rank approximation) is spread evenly over the n − r
    eigenvalues it does not have: the maximum-entropy completion, so truncation never makes a set look less
    diverse than its captured part already proves.
    """
    values = np.clip(eigenvalues, 0.0, None)
    values = values[values > 0.0]
    h = float(-(values * np.log(values)).sum())
    missing = 1.0 - float(values.sum())
    if missing > 1e-12 and n > values.size:
        h -= missing * math.log(missing / (n - values.size))
    return math.exp(h)


def vendi_score(X: ArrayLike, bandwidth: float, landmarks: int = DEFAULT_LANDMARKS, seed: int = 0) -> float:
    """Vendi score (Friedman & Dieng, TMLR 2023) of an (n, d) set with the RBF kernel of :func:`rbf_kernel`.

    VS = exp(−Σ λᵢ ln λᵢ), λ the eigenvalues of K / n, K the n × n kernel matrix (k(x, x) = 1, q = 1): the
    effective number of distinct points, 1 when all points coincide, n when they are mutually far apart
    (≫ bandwidth). Empty set → NaN; one point → 1.

    Computed here in numpy rather than with the ``vendi-score`` package, whose ``vendi.score_K`` is the same
    formula (the tests check equality): importing it pulls scikit-learn's preprocessing, which is slow, and it
    has no route for large n.

    Exact (``numpy.linalg.eigvalsh`` of K / n) when n ≤ ``landmarks``. Larger sets, e.g. 5,000 explored
    points, where the exact eigensolve is too slow for every iteration, use a Nyström approximation:
    ``landmarks`` points drawn without replacement with ``numpy.random.default_rng(seed)``, W = K(L, L) = V
    S Vᵀ truncated to eigenvalues > 1e-10 · max, B = K(X, L) V S^{-1/2}, and the non-zero eigenvalues of K̃
    / n = B Bᵀ / n are those of Bᵀ B / n (r × r). Spectral mass Nyström misses (1 − Σλ) is spread evenly
    over the remaining eigenvalues (maximum-entropy completion). Measured against the exact value at n =
    5,000 (Gaussian clouds and 20-cluster mixtures, d = 2 and 8, bandwidth = median pairwise distance):
    error ≤ 0.1 % in d = 2 and ≤ 1.5 % in d = 8 with 300 landmarks. A bandwidth 4× smaller than the median
    distance makes the spectrum flat and the estimate an over-estimate (d = 2: +14 %; d = 8: 3,600 vs
    2,050), where plain subsampling would under-estimate far worse (Nyström without the completion: 9 vs
    2,050).
    """
    h = _check_bandwidth(bandwidth)
    points = as_points(X, "X")
    count = positive_int(landmarks, "landmarks")
    n = points.shape[0]
    if n == 0:
        return math.nan
    if n == 1:
        return 1.0
    if n <= count:
        kernel = rbf_kernel(points, points, h)
        return _entropy_of_spectrum(np.linalg.eigvalsh(kernel / n), n)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n, size=count, replace=False))
    landmark_points = points[chosen]
    w = rbf_kernel(landmark_points, landmark_points, h)
    s, V = np.linalg.eigh(w)
    keep = s > s[-1] * 1e-10
    c = rbf_kernel(points, landmark_points, h)
    b = c @ (V[:, keep] / np.sqrt(s[keep]))
    return _entropy_of_spectrum(np.linalg.eigvalsh(b.T @ b / n), n)


def campaign_bandwidth(pool_z: ArrayLike, max_points: int = 2000, seed: int = 0) -> float:
    """Median pairwise Euclidean distance of the pool's latent points: the campaign's fixed Vendi bandwidth.

    At most ``max_points`` points are used, drawn without replacement with ``numpy.random.default_rng(seed)``
    (2,000 points = 2 M pairs: the median is stable to < 1 %). Zero distances (duplicate
    points) are left out: duplicates carry no length scale. Raises ArcloopError when fewer than two distinct
    points exist, because no kernel width can then be derived.
    """
    points = as_points(pool_z, "pool_z")
    limit = positive_int(max_points, "max_points", minimum=2)
    if points.shape[0] > limit:
        points = points[
            np.sort(np.random.default_rng(seed).choice(points.shape[0], size=limit, replace=False))
        ]
    distances = pdist(points) if points.shape[0] >= 2 else np.zeros(0)
    distances = distances[distances > 0.0]
    if distances.size == 0:
        raise ArcloopError(
            "pool_z: needs at least two distinct latent points to set the Vendi bandwidth, "
            f"got {points.shape[0]} "
            "point(s), all identical; pass the encoded candidate pool"
        )
    return float(np.median(distances))


def mean_pairwise_distance(X: ArrayLike) -> float:
    """Mean Euclidean distance over the n(n − 1)/2 pairs of an (n, d) set (scipy ``pdist``); NaN if n < 2."""
    points = as_points(X, "X")
    if points.shape[0] < 2:
        return math.nan
    return float(pdist(points).mean())


def knn_novelty(batch: ArrayLike, reference: ArrayLike, k: int = 5) -> float:
    """Mean over the batch of the mean Euclidean distance to its k nearest points of ``reference``.

    The novelty-search score (Lehman & Stanley 2011) of a batch against what is already labelled, in latent
    units; 0 when every batch point repeats k reference points. k is capped at the number of reference points.
    NaN for an empty batch or an empty reference.
    """
    points = as_points(batch, "batch")
    anchors = as_points(reference, "reference", dim=points.shape[1])
    neighbours = positive_int(k, "k")
    if points.shape[0] == 0 or anchors.shape[0] == 0:
        return math.nan
    neighbours = min(neighbours, anchors.shape[0])
    distances, _ = cKDTree(anchors).query(points, k=list(range(1, neighbours + 1)))
    return float(distances.mean())
