"""``lookup``: the real experimental label of a dataset alloy; anything else abstains.

A composition matches a dataset alloy when every fraction differs by at most ``tolerance``
(L∞ distance). The default 1e-4 is below the closest pair of distinct alloys in the data
(4.2e-4), so two different alloys never merge. Where the matches disagree (the dataset has
HfNbTiVZr both as single and as multiple phase) the oracle abstains: it never guesses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from scipy.spatial import cKDTree

from arcloop.data import alloy_fractions, alloy_labels
from arcloop.oracles.base import (
    ABSTAINED,
    DEFAULT_COST_PER_LABEL,
    OK,
    STATUS_DTYPE,
    BaseOracle,
    NonNegative,
    Seed,
)
from arcloop.params import validated_init


@lru_cache(maxsize=1)
def _tree() -> cKDTree:
    return cKDTree(alloy_fractions())


class LookupOracle(BaseOracle):
    """The experimental label of a packaged alloy (match within ``tolerance``); others abstain."""

    name: ClassVar[str] = "lookup"

    @validated_init
    def __init__(
        self,
        tolerance: NonNegative = 1e-4,
        seed: Seed = 0,
        cost_per_label: NonNegative = DEFAULT_COST_PER_LABEL,
    ) -> None:
        super().__init__(seed=seed, cost_per_label=cost_per_label)
        self.tolerance = tolerance
        self._labels = alloy_labels()

    def _label(
        self, X: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        matches = _tree().query_ball_point(X, r=self.tolerance, p=np.inf)
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        status = np.full(X.shape[0], ABSTAINED, dtype=STATUS_DTYPE)
        for i, rows in enumerate(matches):
            found = np.unique(self._labels[rows]) if rows else ()
            if len(found) == 1:
                labels[i] = found[0]
                status[i] = OK
        return labels, status

    def diagnostics(self) -> dict[str, Any]:
        """How many dataset alloys the lookup answers for, and how many it abstains on (conflicts)."""
        batch = self.label(alloy_fractions())
        return {
            "n_alloys": len(batch),
            "answered": int(batch.ok.sum()),
            "conflicting": int((~batch.ok).sum()),
        }
