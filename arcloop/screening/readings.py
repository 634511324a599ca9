"""Readings of a screening campaign, against the dataset's measured values (the campaign's truth).

The frame of the bias and diversity readings is the dataset's standardised input space (each input
column centred and scaled to unit variance over the whole dataset), fixed for the campaign.

The random baseline is exact, not sampled: a random campaign picks the N pool inputs in a uniformly
random order, so after n experiments the number of targets found is hypergeometric with mean
n·M/N, and the experiments to the j-th target are negative-hypergeometric with mean j·(N+1)/(M+1)
(M targets in the pool).
"""

from __future__ import annotations

import math

import numpy as np

from arcloop.metrics import isoscore
from arcloop.metrics.discovery import draws_to_reach, random_expected_draws
from arcloop.metrics.diversity import vendi_score


def random_expected_found(n_pool: int, n_targets: int, n_experiments: np.ndarray | int) -> np.ndarray:
    """E[targets found after n experiments] of a uniformly random campaign: n·M/N (hypergeometric
    mean), for n = 0..N."""
    n = np.asarray(n_experiments, dtype=np.float64)
    return np.minimum(n, n_pool) * n_targets / n_pool


def top_fraction_curve(is_target: np.ndarray, order: np.ndarray, n_targets: int) -> np.ndarray:
    """(L,) "Top %" after each experiment: the share of the M targets found among the first 1..L
    picks (``order``: pool rows in the order they were measured; each row at most once)."""
    found = np.cumsum(np.asarray(is_target, dtype=bool)[np.asarray(order, dtype=np.int64)])
    return found / n_targets if n_targets else np.full(found.shape, math.nan)


def experiments_to(curve: np.ndarray, level: float) -> float:
    """Experiments a campaign needed to reach Top % ``level`` (1-based count); NaN if it never did."""
    return draws_to_reach(curve, level - 1e-12)


def random_experiments_to(n_pool: int, n_targets: int, level: float) -> float:
    """Expected experiments a random campaign needs to reach Top % ``level``: the experiments to the
    ⌈level·M⌉-th target, j·(N+1)/(M+1)."""
    j = max(1, math.ceil(level * n_targets - 1e-9))
    return random_expected_draws(n_pool, n_targets, j)


def enhancement_factor(curve: np.ndarray, n_pool: int) -> np.ndarray:
    """(L,) EF(n) = Top %(n) ÷ the random campaign's expected Top %(n) = Top %(n) ÷ (n/N)."""
    n = np.arange(1, len(curve) + 1, dtype=np.float64)
    return np.asarray(curve, dtype=np.float64) / (n / n_pool)


def acceleration_factor(curve: np.ndarray, n_pool: int, n_targets: int, level: float) -> float:
    """AF(level) = random's expected experiments to Top % ``level`` ÷ the campaign's (> 1: faster
    than random); NaN when the campaign did not reach the level."""
    mine = experiments_to(curve, level)
    return random_experiments_to(n_pool, n_targets, level) / mine if math.isfinite(mine) else math.nan


def explored_shape(standardised_X: np.ndarray, bandwidth: float) -> dict[str, float]:
    """Bias and diversity of the explored set in the standardised input frame: IsoScore (1 isotropic,
    0 along one line) and the Vendi score (the effective number of distinct inputs, RBF kernel of the
    campaign's fixed bandwidth)."""
    return {
        "bias/isoscore": isoscore(standardised_X) if len(standardised_X) >= 2 else math.nan,
        "diversity/vendi": vendi_score(standardised_X, bandwidth) if len(standardised_X) else math.nan,
    }
