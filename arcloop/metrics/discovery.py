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


def random_expected_hits(n_pool: int, n_targets: int, n_labels: ArrayLike | int) -> float | np.ndarray:
    """Expected hits after ``n_labels`` uniform draws without replacement from N items with M targets: n·M/N.

    The hypergeometric mean (sampling without replacement changes the variance, not the mean). ``n_labels``
    may be an array; it must lie in [0, N].
    """
    n_pool, n_targets = _check_pool(n_pool, n_targets)
    draws = np.asarray(n_labels, dtype=np.float64)
    if draws.size and (draws.min() < 0 or draws.max() > n_pool):
        raise ArcloopError(f"n_labels: must lie in [0, {n_pool}] (the pool size)")
    expected = draws * n_targets / n_pool
    return float(expected) if expected.ndim == 0 else expected


def random_expected_curve(n_pool: int, n_targets: int, length: int) -> np.ndarray:
    """(length,) expected cumulative hits of uniform random selection after 1, 2, …, length labels."""
    length = positive_int(length, "length", minimum=0)
    return np.asarray(random_expected_hits(n_pool, n_targets, np.arange(1, length + 1)), dtype=np.float64)


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
