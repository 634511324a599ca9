"""Bias of what the loop explores: anisotropy of the explored set, directions of its steps, chemistry.

Three families of measures, all numpy in and float out:

- **Spectral shape of a point cloud** (rows are points): :func:`isoscore`, :func:`top_eigen_share`,
  :func:`effective_rank`. All three read the singular values of the centred cloud, so they are invariant to
  translation, rotation and overall scale.
- **Directional statistics of steps** u = Δz / ‖Δz‖, Δz = proposal − its nearest already-labelled point
  (:func:`step_directions`): :func:`mean_resultant_length`, :func:`orientation_erank`,
  :func:`direction_entropy`.
- **Chemistry**: :func:`family_evenness` of element-family shares and :func:`js_divergence` between the
  explored and the pool family distributions.

Undefined values (too few points, zero variance, no directions) are NaN, never an exception from numpy.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from scipy.special import rel_entr
from scipy.stats import entropy

from arcloop.errors import ArcloopError
from arcloop.materials import FAMILY_NAMES, families
from arcloop.metrics._arrays import as_distribution, as_points, positive_int

DEFAULT_ANGLE_BINS = 8
"""Angular sectors of :func:`direction_entropy` in d = 2 when ``bins`` is not given (45° each)."""


# --------------------------------------------------------------------------- spectral shape of a cloud


def centred_singular_values(X: ArrayLike) -> np.ndarray:
    """Singular values (descending) of the column-centred (n, d) cloud, length d, zero-padded if n < d.

    Values below ``σ₁ · max(n, d) · eps`` (numpy's ``matrix_rank`` tolerance) are set to exactly 0, so a cloud
    on a line has one non-zero value rather than rounding noise. Empty, single-point or constant clouds (every
    column has zero range, tested exactly) give all zeros.
    """
    points = as_points(X, "X")
    n, d = points.shape
    if n < 2 or not np.ptp(points, axis=0).any():
        return np.zeros(d)
    sigma = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    sigma = np.concatenate([sigma, np.zeros(d - sigma.size)])
    sigma[sigma < sigma[0] * max(n, d) * np.finfo(np.float64).eps] = 0.0
    return sigma


def spectral_effective_rank(values: ArrayLike) -> float:
    """Roy & Vetterli (2007) effective rank exp(H(p)) of non-negative spectral values, p = values / Σ values.

    H is the Shannon entropy in nats (0 log 0 = 0). Ranges over [1, number of non-zero values]; NaN if all
    values are zero or there are none.
    """
    weights = as_distribution(values, "values")
    total = weights.sum()
    if weights.size == 0 or total <= 0.0:
        return math.nan
    return float(np.exp(entropy(weights / total)))


def isoscore(X: ArrayLike) -> float:
    """IsoScore (Rudman, Gillman, Rayne & Eickhoff, Findings of ACL 2022) of an (n, d) cloud, rows = points.

    The reference implementation takes a (d, n) array; here rows are points. Its steps, with d the dimension:

    1. PCA-reorient the cloud, so its covariance is diagonal: the diagonal Σ_D holds the covariance
       eigenvalues, computed here as squared singular values of the centred cloud (the 1/(n−1) factor cancels
       in step 2).
    2. Normalise the diagonal to Euclidean norm √d: Σ̂ = √d · Σ_D / ‖Σ_D‖.
    3. Isotropy defect δ = ‖Σ̂ − 1_d‖ / √(2(d − √d)) ∈ [0, 1].
    4. Fraction of dimensions uniformly used φ = (d − δ²(d − √d))² / d².
    5. IsoScore ι = (d·φ − 1) / (d − 1) ∈ [0, 1]: 1 for an isotropic cloud (all eigenvalues equal), 0 when
       all variance lies along one direction.

    Returns NaN when undefined: fewer than 2 points, zero variance (all points identical), or d = 1 (step 3
    divides by zero: a 1-D cloud has no shape). Unlike the reference (PCA with d components) it accepts
    n < d; the missing eigenvalues are 0.
    """
    sigma = centred_singular_values(X)
    d = sigma.size
    if d < 2 or sigma[0] == 0.0:
        return math.nan
    eigenvalues = sigma**2
    normalised = math.sqrt(d) * eigenvalues / np.linalg.norm(eigenvalues)
    defect = np.linalg.norm(normalised - 1.0) / math.sqrt(2.0 * (d - math.sqrt(d)))
    fraction = (d - defect**2 * (d - math.sqrt(d))) ** 2 / d**2
    score = (d * fraction - 1.0) / (d - 1.0)
    return float(np.clip(score, 0.0, 1.0))


def top_eigen_share(X: ArrayLike) -> float:
    """λ₁ / Σλ of the covariance of an (n, d) cloud: 1/d when isotropic, 1 on a line. NaN if < 2 points or
    zero variance."""
    eigenvalues = centred_singular_values(X) ** 2
    total = eigenvalues.sum()
    return float(eigenvalues[0] / total) if total > 0.0 else math.nan


def effective_rank(X: ArrayLike) -> float:
    """Effective rank (Roy & Vetterli 2007) of the centred (n, d) cloud, **of its singular values**.

    erank = exp(H(σ / Σσ)), σ the singular values of the centred data matrix (equivalently √ of the covariance
    eigenvalues). In [1, d]: ≈ d for an isotropic cloud, 1 on a line. The eigenvalue variant exp(H(λ / Σλ))
    would weight the leading direction more and be smaller; it is not used. NaN if < 2 points or zero
    variance.
    """
    return spectral_effective_rank(centred_singular_values(X))


# --------------------------------------------------------------------------- directional statistics


def _unit_rows(U: ArrayLike, name: str = "U") -> np.ndarray:
    """Rows scaled to unit length; zero rows (no direction) are dropped."""
    vectors = as_points(U, name)
    norms = np.linalg.norm(vectors, axis=1)
    keep = norms > 0.0
    return vectors[keep] / norms[keep, None]


def step_directions(points: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """(k', d) unit step directions u = (z − r) / ‖z − r‖, r the row of ``reference`` nearest to z.

    ``points`` (k, d) are the proposals, ``reference`` (m, d) the already-labelled points; nearest neighbours
    by scipy's cKDTree (ties: the lowest index). Proposals that coincide with their reference point have no
    direction and are dropped, so k' ≤ k. Empty ``points`` or ``reference`` give a (0, d) array.
    """
    proposals = as_points(points, "points")
    anchors = as_points(reference, "reference", dim=proposals.shape[1])
    if proposals.shape[0] == 0 or anchors.shape[0] == 0:
        return np.zeros((0, proposals.shape[1]))
    _, nearest = cKDTree(anchors).query(proposals, k=1)
    return _unit_rows(proposals - anchors[nearest], "steps")


def mean_resultant_length(U: ArrayLike) -> float:
    """R̄ = ‖mean of the unit vectors‖ ∈ [0, 1] (Mardia & Jupp 2000, §9.2).

    Rows of ``U`` (k, d) are scaled to unit length first; zero rows are dropped. 1 when every step points the
    same way, ≈ 0 for directions spread uniformly (E[R̄²] = 1/k for k uniform directions). NaN if no direction.
    """
    units = _unit_rows(U)
    if units.shape[0] == 0:
        return math.nan
    return float(min(1.0, np.linalg.norm(units.mean(axis=0))))


def orientation_erank(U: ArrayLike) -> float:
    """Effective rank of the orientation tensor T = mean u uᵀ, divided by d, in [1/d, 1].

    T (d × d, trace 1) is symmetric positive semi-definite, so its singular values are its eigenvalues and the
    Roy–Vetterli effective rank is exp(H(eig T)). Axial: u and −u count the same (unlike
    :func:`mean_resultant_length`). 1 for directions spread evenly over all axes, 1/d when all steps are
    parallel. Rows are scaled to unit length, zero rows dropped; NaN if no direction.
    """
    units = _unit_rows(U)
    if units.shape[0] == 0:
        return math.nan
    tensor = units.T @ units / units.shape[0]
    eigenvalues = np.clip(np.linalg.eigvalsh(tensor), 0.0, None)
    return spectral_effective_rank(eigenvalues) / units.shape[1]


def n_direction_bins(dim: int, bins: int | None = None) -> int:
    """Number of reference cells of :func:`direction_entropy` in dimension ``dim`` (validates ``bins``)."""
    dim = positive_int(dim, "dim")
    if dim == 2:
        return DEFAULT_ANGLE_BINS if bins is None else positive_int(bins, "bins", minimum=2)
    if bins is not None and bins != 2 * dim:
        raise ArcloopError(
            f"bins: in d={dim} the reference directions are the {2 * dim} signed axes ±e_i; "
            f"pass bins=None or bins={2 * dim} (free bin counts exist only for d=2)"
        )
    return 2 * dim


def direction_bin_index(U: ArrayLike, bins: int | None = None) -> np.ndarray:
    """(k',) int64 cell of each direction, the histogram :func:`direction_entropy` counts.

    d = 2: angle θ = atan2(u₂, u₁) wrapped to [−π, π), cell ⌊(θ + π) / (2π) · bins⌋ (``bins`` sectors, default
    :data:`DEFAULT_ANGLE_BINS`). d ≠ 2: the nearest of the 2d reference directions ±e_i, i.e. cell
    2·argmax|u_i| + (u_i < 0); those cells have equal area on the sphere, so uniform directions fill them
    evenly. Zero rows are dropped. Exposed so policies can update histograms incrementally.
    """
    units = _unit_rows(U)
    count = n_direction_bins(units.shape[1], bins)
    if units.shape[1] == 2:
        angle = np.arctan2(units[:, 1], units[:, 0])
        cell = np.floor((angle + np.pi) / (2.0 * np.pi) * count).astype(np.int64)
        return np.mod(cell, count)  # θ = +π (the same direction as −π) wraps to cell 0
    axis = np.argmax(np.abs(units), axis=1)
    negative = units[np.arange(units.shape[0]), axis] < 0.0
    return 2 * axis + negative.astype(np.int64)


def direction_entropy(U: ArrayLike, bins: int | None = None) -> float:
    """Shannon entropy of the histogram of step directions over reference cells / ln(cells), in [0, 1].

    Cells as in :func:`direction_bin_index`: for d = 2, ``bins`` angular sectors over [−π, π) (default 8); for
    d ≠ 2 the 2d signed coordinate axes (``bins`` must then be None or 2d). 0 when every step falls in one
    cell, → 1 for directions spread uniformly. With k directions the maximum is ln(min(k, cells)) / ln(cells):
    small batches cannot reach 1. NaN if no direction.
    """
    cell = direction_bin_index(U, bins)
    count = n_direction_bins(np.asarray(U).shape[1], bins)
    if cell.size == 0:
        return math.nan
    histogram = np.bincount(cell, minlength=count)
    return float(entropy(histogram) / math.log(count))


# --------------------------------------------------------------------------- chemistry


def family_distribution(compositions: ArrayLike) -> np.ndarray:
    """(4,) mean element-family shares of a set of (n, 30) compositions, in :data:`FAMILY_NAMES` order.

    The share of a family is its atomic fraction summed over its elements, averaged over compositions
    (each composition weighs the same). All NaN for an empty set.
    """
    matrix = np.asarray(compositions, dtype=np.float64)
    if matrix.ndim == 2 and matrix.shape[0] == 0:
        return np.full(len(FAMILY_NAMES), math.nan)
    return families(matrix).mean(axis=0)


def family_evenness(shares: ArrayLike) -> float:
    """Pielou evenness H(p) / ln F of element-family shares, in [0, 1].

    ``shares`` is either the (F,) family distribution of the explored set (e.g. :func:`family_distribution`)
    or per-composition shares (n, F) (e.g. :func:`arcloop.materials.families`), averaged over rows. p = shares
    / Σ shares; H in nats. 1 when every family is equally represented, 0 when one family holds everything. NaN
    for no shares, all-zero shares or F < 2.
    """
    array = np.asarray(shares, dtype=np.float64)
    if array.ndim == 2:
        if array.shape[0] == 0:
            return math.nan
        array = array.mean(axis=0)
    weights = as_distribution(array, "shares")
    if weights.size < 2 or weights.sum() <= 0.0:
        return math.nan
    return float(np.clip(entropy(weights) / math.log(weights.size), 0.0, 1.0))


def js_divergence(P: ArrayLike, Q: ArrayLike) -> float:
    """Jensen–Shannon divergence (Lin 1991) between two discrete distributions, **in bits**, in [0, 1].

    JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = (P + Q) / 2, after normalising P and Q to sum 1. Computed with
    scipy.special.rel_entr and clipped at 0, so identical inputs give exactly 0; equals
    ``scipy.spatial.distance.jensenshannon(P, Q, base=2) ** 2`` (which returns the square root, the JS
    distance). NaN if either input is empty or sums to 0.
    """
    p = as_distribution(P, "P")
    q = as_distribution(Q, "Q")
    if p.size != q.size:
        raise ArcloopError(f"Q: expected {p.size} entries to match P, got {q.size}")
    if p.size == 0 or p.sum() <= 0.0 or q.sum() <= 0.0:
        return math.nan
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)
    divergence = 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum()) / math.log(2.0)
    return float(np.clip(divergence, 0.0, 1.0))
