"""How far the latent frame moved between two encodings of the same alloys (Procrustes analysis)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError
from arcloop.metrics._arrays import as_points


def procrustes_disparity(before: ArrayLike, after: ArrayLike) -> float:
    """Procrustes disparity of two (n, d) encodings of the same n alloys, row for row, in [0, 1].

    Both clouds are centred and scaled to unit Frobenius norm; the disparity is the sum of squared
    differences left after the best rotation or reflection of one onto the other,
    1 − (Σ σ_i)², σ the singular values of beforeᵀ·after (the quantity ``scipy.spatial.procrustes``
    returns). 0 when the frame only moved rigidly (translation, rotation, reflection, uniform scale):
    distances between alloys, and so every metric that reads only them, are unchanged; it grows as the
    encoding is deformed. NaN when either cloud is a single point (nothing to align).
    """
    a = as_points(before, "before")
    b = as_points(after, "after", dim=a.shape[1])
    if a.shape[0] != b.shape[0]:
        raise ArcloopError(f"after: expected {a.shape[0]} rows (the same alloys as before), got {b.shape[0]}")
    if a.shape[0] >= 2 and np.array_equal(a, b) and np.ptp(a, axis=0).any():
        return 0.0  # the same encoding: exactly no drift (the SVD route leaves ~1e-15 of rounding)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if a.shape[0] < 2 or norm_a == 0.0 or norm_b == 0.0:
        return math.nan
    sigma = np.linalg.svd((a / norm_a).T @ (b / norm_b), compute_uv=False)
    return float(min(max(1.0 - sigma.sum() ** 2, 0.0), 1.0))
