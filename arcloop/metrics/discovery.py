"""Discovery: hits, cumulative curves, fraction of targets found, and the acceleration metrics of Rohr et al.

A *curve* is indexed by the number of labels obtained: ``curve[i]`` is the cumulative number (or fraction) of
targets found after ``i + 1`` labels. Enhancement and acceleration factors follow Rohr, Stein, Guevarra, Wang,
Haber, Aykol, Suram & Gregoire, "Benchmarking the acceleration of materials discovery by sequential learning",
Chem. Sci. 11, 2696 (2020):

- enhancement factor EF(n) = (targets found by the method after n labels) / (targets found by the baseline
  after n labels) — "how much better at a fixed budget";
- acceleration factor AF(level) = (labels the baseline needs to reach ``level``) / (labels the method needs) —
  "how much faster to a fixed goal".

The random baseline is analytic: drawing n of N pool items without replacement, M of them targets, the number
of hits is hypergeometric with mean n·M/N (:func:`random_expected_hits`), and the expected number of draws
until the j-th target is negative-hypergeometric, j·(N + 1)/(M + 1) (:func:`random_expected_draws`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError
from arcloop.materials import FAMILY_NAMES, dominant_family, validate_compositions
from arcloop.metrics._arrays import as_bool_vector, as_vector, positive_int


def hits(labelled: ArrayLike, target_mask: ArrayLike) -> np.ndarray:
    """(n,) bool hit sequence of a pool campaign: ``target_mask[labelled]``.

    ``labelled`` (n,) int: indices of the labelled pool items, in labelling order; ``target_mask`` (N,) bool:
    which pool items are targets (e.g. single-phase alloys). For generated candidates the hit sequence is
    simply ``labels == 1`` from the oracle.
    """
    mask = as_bool_vector(target_mask, "target_mask")
    index = np.asarray(labelled)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ArcloopError(
            f"labelled: expected a 1-D array of integer pool indices, got {index.dtype} {index.shape}"
        )
    if index.size and (index.min() < 0 or index.max() >= mask.size):
        raise ArcloopError(
            f"labelled: indices must lie in [0, {mask.size - 1}] (the pool size), "
            f"got {index.min()}..{index.max()}"
        )
    return mask[index.astype(np.int64)]


def cumulative_hits(hit_sequence: ArrayLike) -> np.ndarray:
    """(L,) int64 cumulative number of hits after 1, 2, …, L labels."""
    return np.cumsum(as_bool_vector(hit_sequence, "hit_sequence"), dtype=np.int64)


def fraction_found(found: ArrayLike | int, n_targets: int | None) -> float | np.ndarray:
    """``found / n_targets``: the share of the pool's targets found (a float, or an array for a curve).

    NaN (or an all-NaN array) when ``n_targets`` is None (generated candidates: the target count is unknown)
    or 0 (nothing to find).
    """
    values = np.asarray(found, dtype=np.float64)
    if n_targets is not None:
        n_targets = positive_int(n_targets, "n_targets", minimum=0)
    unknown = n_targets is None or n_targets == 0
    result = np.full(values.shape, math.nan) if unknown else values / n_targets
    return float(result) if result.ndim == 0 else result


def _check_pool(n_pool: int, n_targets: int) -> tuple[int, int]:
    n_pool = positive_int(n_pool, "n_pool")
    n_targets = positive_int(n_targets, "n_targets", minimum=0)
    if n_targets > n_pool:
        raise ArcloopError(f"n_targets: cannot exceed n_pool ({n_pool}), got {n_targets}")
    return n_pool, n_targets


def random_expected_draws(n_pool: int, n_targets: int, n_found: int) -> float:
    """Expected number of draws without replacement until the ``n_found``-th target: j·(N + 1)/(M + 1).

    The negative-hypergeometric mean: the baseline side of the acceleration factor. NaN if j > M (never
    reached).
    """
    n_pool, n_targets = _check_pool(n_pool, n_targets)
    j = positive_int(n_found, "n_found")
    if j > n_targets:
        return math.nan
    return j * (n_pool + 1) / (n_targets + 1)


def _curve(values: ArrayLike, name: str) -> np.ndarray:
    curve = as_vector(values, name)
    if curve.size and curve.min() < 0.0:
        raise ArcloopError(f"{name}: a discovery curve counts targets found and cannot be negative")
    return curve


def draws_to_reach(curve: ArrayLike, level: float) -> float:
    """Labels needed to reach ``level``: the first 1-based n with ``curve[n − 1] ≥ level``; NaN if never."""
    values = _curve(curve, "curve")
    if not math.isfinite(level) or level <= 0.0:
        raise ArcloopError(f"level: must be a positive number of targets (or fraction), got {level!r}")
    reached = np.flatnonzero(values >= level)
    return float(reached[0] + 1) if reached.size else math.nan


def enhancement_factor(curve: ArrayLike, baseline_curve: ArrayLike) -> np.ndarray:
    """(L,) EF(n) = curve[n] / baseline_curve[n] (Rohr et al. 2020), both curves in the same units.

    NaN where the baseline has found nothing yet (0 / 0 or x / 0 is no enhancement factor). A curve against
    itself gives 1 wherever defined. Both curves must have the same length.
    """
    method = _curve(curve, "curve")
    baseline = _curve(baseline_curve, "baseline_curve")
    if method.size != baseline.size:
        raise ArcloopError(
            f"baseline_curve: expected length {method.size} to match curve, got {baseline.size}"
        )
    ratio = np.full(method.size, math.nan)
    positive = baseline > 0.0
    ratio[positive] = method[positive] / baseline[positive]
    return ratio


def acceleration_factor(curve: ArrayLike, baseline_curve: ArrayLike, level: float) -> float:
    """AF = draws_to_reach(baseline_curve, level) / draws_to_reach(curve, level) (Rohr et al. 2020).

    ``level`` is in the curves' units (a count of targets, or a fraction for fraction curves). > 1 means the
    method reaches the level in fewer labels. NaN if either curve never reaches the level within its length
    (the ratio is then only bounded, not known). For the analytic random baseline at j targets use
    ``random_expected_draws(N, M, j) / draws_to_reach(curve, j)``.
    """
    method = draws_to_reach(curve, level)
    baseline = draws_to_reach(baseline_curve, level)
    if math.isnan(method) or math.isnan(baseline):
        return math.nan
    return baseline / method


# --------------------------------------------------------------------------- novelty: what counts as new

SAME_COMPOSITION = 1e-9
"""At.% below which two compositions are the same alloy, whatever the novelty radius (so that a
radius of 0 still counts a repeated composition once)."""


def _compositions(X: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2:
        raise ArcloopError(f"{name}: expected an (n, n_elements) array of fractions, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ArcloopError(f"{name}: fractions must be finite and non-negative")
    return array


def composition_distance(A: ArrayLike, B: ArrayLike) -> np.ndarray:
    """(n, m) distances in atomic percent between the rows of A and of B.

    d(a, b) = ½ Σ_i |a_i − b_i| × 100: the share of atoms (at.%) that must change element to turn one
    composition into the other (half the L1 distance of the fraction vectors). 0 for the same alloy,
    100 for alloys with no element in common. Rows are fraction vectors in the same element order.
    """
    a, b = _compositions(A, "A"), _compositions(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ArcloopError(f"B: expected {a.shape[1]} element columns to match A, got {b.shape[1]}")
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    from scipy.spatial.distance import cdist

    return 50.0 * cdist(a, b, metric="cityblock")


def nearest_distance(X: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """(n,) at.% distance of each row of X to its nearest row of ``reference`` (+inf if there is none).

    Computed in blocks of rows, so a reference of thousands of alloys costs little memory.
    """
    x, ref = _compositions(X, "X"), _compositions(reference, "reference")
    out = np.full(x.shape[0], math.inf)
    if ref.shape[0] == 0 or x.shape[0] == 0:
        return out
    block = max(1, 2_000_000 // max(ref.shape[0], 1))
    for start in range(0, x.shape[0], block):
        out[start : start + block] = composition_distance(x[start : start + block], ref).min(axis=1)
    return out


def _within(distance: np.ndarray, radius: float) -> np.ndarray:
    return (distance < radius) | (distance <= SAME_COMPOSITION)


def _check_radius(radius: float) -> float:
    if not (isinstance(radius, int | float) and math.isfinite(radius) and radius >= 0):
        raise ArcloopError(f"radius: expected a number of at.% >= 0, got {radius!r}")
    return float(radius)


def discovery_mask(
    batch: ArrayLike,
    hits: ArrayLike,
    known: ArrayLike,
    earlier_discoveries: ArrayLike,
    radius: float,
) -> np.ndarray:
    """(k,) bool: which hits of a batch are discoveries, taken in batch order.

    A hit is a discovery when it lies at least ``radius`` at.% (:func:`composition_distance`) from every
    ``known`` alloy (the reference set: what the literature already knows), from every earlier
    discovery of the campaign, and from every discovery earlier in this batch — and is never the very
    same composition as one of them (even at radius 0). So two hits within the radius count once, and
    re-finding a known alloy never counts.

    Args:
        batch: (k, n_elements) compositions of the batch, in the order they were proposed.
        hits: (k,) bool, the batch's hits (truth says target, and the experiment returned a result).
        known: (r, n_elements) the reference set (may be empty).
        earlier_discoveries: (e, n_elements) compositions of the campaign's earlier discoveries.
        radius: the novelty radius in at.% (``target.novelty``).
    """
    x = _compositions(batch, "batch")
    hit = as_bool_vector(hits, "hits")
    if hit.size != x.shape[0]:
        raise ArcloopError(f"hits: expected {x.shape[0]} flags (one per batch row), got {hit.size}")
    r = _check_radius(radius)
    far_from_known = ~_within(nearest_distance(x, known), r)
    far_from_earlier = ~_within(nearest_distance(x, earlier_discoveries), r)
    found = np.zeros(x.shape[0], dtype=bool)
    for j in np.flatnonzero(hit & far_from_known & far_from_earlier):
        accepted = x[found]
        if accepted.shape[0] and _within(composition_distance(x[j : j + 1], accepted), r).any():
            continue
        found[j] = True
    return found


def redundancy_mask(batch: ArrayLike, earlier: ArrayLike, radius: float) -> np.ndarray:
    """(k,) bool: batch members within ``radius`` at.% of an earlier proposal or of an earlier member of
    the batch (the same composition counts at any radius). ``discovery/redundancy`` is its mean: the
    share of the batch spent on what could not count as a new discovery twice."""
    x = _compositions(batch, "batch")
    r = _check_radius(radius)
    redundant = _within(nearest_distance(x, earlier), r)
    if x.shape[0] > 1:
        pairwise = _within(composition_distance(x, x), r)
        redundant |= np.tril(pairwise, k=-1).any(axis=1)
    return redundant


def outside_family_share(compositions: ArrayLike, discoveries: ArrayLike, family: str) -> float:
    """Share of the distinct discoveries whose dominant element family is not ``family``.

    ``compositions`` (P, 30): every proposal of the campaign; ``discoveries`` (P,) bool: which of them
    are discoveries (:func:`discovery_mask`); ``family``: a name of
    :data:`arcloop.materials.FAMILY_NAMES`. Membership is :func:`arcloop.materials.dominant_family`,
    the rule the ``family`` scenario builds its initial set with, so for a seed-family campaign this is
    the share of what it found that lies outside the family it started in. Composition space (no
    latent frame). NaN before the first discovery.
    """
    X = validate_compositions(compositions, name="compositions")
    found = as_bool_vector(discoveries, "discoveries")
    if found.size != X.shape[0]:
        raise ArcloopError(
            f"discoveries: expected {X.shape[0]} flags (one per composition), got {found.size}"
        )
    if family not in FAMILY_NAMES:
        raise ArcloopError(f"family: unknown family {family!r}; choose one of {', '.join(FAMILY_NAMES)}")
    if not found.any():
        return math.nan
    return float((dominant_family(X[found]) != FAMILY_NAMES.index(family)).mean())
