"""Input checks shared by the metric modules: every user mistake becomes a one-line ArcloopError."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from arcloop.errors import ArcloopError


def as_points(X: ArrayLike, name: str, dim: int | None = None) -> np.ndarray:
    """(n, d) finite float64 point cloud; ``n = 0`` is allowed (an empty batch), ``d`` must be ≥ 1."""
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ArcloopError(
            f"{name}: expected a 2-D array of shape (n_points, n_dims), got shape {array.shape}"
        )
    if dim is not None and array.shape[1] != dim:
        raise ArcloopError(f"{name}: expected {dim} columns (the latent dimension), got {array.shape[1]}")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ArcloopError(f"{name}: row {row} has a NaN or infinite coordinate; drop or fix it")
    return array


def as_vector(x: ArrayLike, name: str) -> np.ndarray:
    """(n,) finite float64 vector."""
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 1:
        raise ArcloopError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ArcloopError(f"{name}: entry {int(np.flatnonzero(~np.isfinite(array))[0])} is NaN or infinite")
    return array


def as_bool_vector(x: ArrayLike, name: str) -> np.ndarray:
    """(n,) bool vector from bools or 0/1 integers (anything else is a mistake, not a truthiness test)."""
    array = np.asarray(x)
    if array.ndim != 1:
        raise ArcloopError(f"{name}: expected a 1-D array of booleans, got shape {array.shape}")
    if array.dtype == bool:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        raise ArcloopError(
            f"{name}: expected booleans or 0/1, got values such as {array[~np.isin(array, (0, 1))][0]!r}"
        )
    return array.astype(bool)


def as_probabilities(p: ArrayLike, name: str) -> np.ndarray:
    """Finite float64 array with every entry in [0, 1] (any shape)."""
    array = np.asarray(p, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ArcloopError(f"{name}: contains NaN or infinite values; probabilities must lie in [0, 1]")
    if array.size and (array.min() < 0.0 or array.max() > 1.0):
        raise ArcloopError(
            f"{name}: probabilities must lie in [0, 1], got range [{array.min():.3g}, {array.max():.3g}]"
        )
    return array


def as_binary_labels(y: ArrayLike, name: str) -> np.ndarray:
    """(n,) int64 labels in {0, 1}."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise ArcloopError(f"{name}: expected a 1-D array of 0/1 labels, got shape {array.shape}")
    if array.size and not np.isin(array, (0, 1)).all():
        bad = array[~np.isin(array, (0, 1))][0]
        raise ArcloopError(f"{name}: labels must be 0 or 1 (drop failed labels first), got {bad!r}")
    return array.astype(np.int64)


def as_distribution(p: ArrayLike, name: str) -> np.ndarray:
    """(k,) finite, non-negative float64 weights (not yet normalised)."""
    array = as_vector(p, name)
    if array.size and array.min() < 0.0:
        raise ArcloopError(f"{name}: weights must be non-negative, got {array.min():.3g}")
    return array


def positive_int(value: int, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (bools are rejected: ``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ArcloopError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    return int(value)
