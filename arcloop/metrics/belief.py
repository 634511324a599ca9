"""Belief against truth: how far what the loop was told, and what its surrogate believes, sit from
what is real.

*Truth* is the campaign's oracle without its observation wrappers (docs/design.md, "Truth and
observations"); *belief* is what the loop received (the observed labels) or what its surrogate
predicts. Both readings are in composition space (no latent frame) and are 0 when the loop is told
the truth and its surrogate is calibrated in the large.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError
from arcloop.metrics._arrays import as_binary_labels, as_bool_vector, as_probabilities


def _labels_or_missing(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.isin(array, (-1, 0, 1)).all()):
        raise ArcloopError(
            f"{name}: expected a 1-D array of labels 0 / 1, or -1 for none, got {array.dtype} {array.shape}"
        )
    return array.astype(np.int64)


def reported_positive_gap(observed: ArrayLike, true: ArrayLike, paid: ArrayLike) -> float:
    """Share of single phase among the labels the loop was told minus the true share among what it paid for.

    ``observed`` (P,): each proposal's observed label (-1: no result reported: dropped, failed,
    abstained); ``true`` (P,): truth's label (-1 where truth abstains); ``paid`` (P,) bool: the
    experiment was run (dropped and failed ones were, and truth knows their label). The first share is
    over ``observed >= 0``, the second over ``paid & (true >= 0)``. 0 when the loop hears the truth
    about every experiment, or when results go missing independently of their label; positive when
    negatives go unreported (selection bias). NaN when either set is empty.
    """
    seen = _labels_or_missing(observed, "observed")
    real = _labels_or_missing(true, "true")
    ran = as_bool_vector(paid, "paid")
    if not (seen.size == real.size == ran.size):
        raise ArcloopError(
            f"observed, true, paid: expected one entry per proposal, got {seen.size}, {real.size}, {ran.size}"
        )
    told = seen >= 0
    judged = ran & (real >= 0)
    if not told.any() or not judged.any():
        return math.nan
    return float((seen[told] == 1).mean() - (real[judged] == 1).mean())


def holdout_optimism(p: ArrayLike, y: ArrayLike) -> float:
    """The surrogate's mean P(single phase) on the held-out alloys minus their true single-phase share.

    ``p`` (h,): the surrogate's probabilities; ``y`` (h,): truth's 0 / 1 labels of the same alloys
    (the fixed held-out set the ``model/*`` readings use). 0: calibrated in the large; positive: the
    model believes single phase is commoner than it is. NaN for an empty set.
    """
    probabilities = as_probabilities(p, "p")
    labels = as_binary_labels(y, "y")
    if probabilities.shape != labels.shape:
        raise ArcloopError(f"p, y: expected the same length, got {probabilities.shape} and {labels.shape}")
    if probabilities.size == 0:
        return math.nan
    return float(probabilities.mean() - labels.mean())
