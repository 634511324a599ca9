"""Greedy exploitation: the acquisition score is the mean probability of single phase."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from arcloop.params import params_repr
from arcloop.policies.base import BatchScorer, Candidates, Context, StaticScorer


class GreedyAcquisition:
    """Score p̄ (mean over the T samples). Static. No parameters. Under ``top_k`` the batch is the k
    highest p̄, ties to the lower candidate index."""

    name: ClassVar[str] = "greedy"
    summary: ClassVar[str] = "score p̄, the mean probability of single phase (pure exploitation)"

    __repr__ = params_repr

    def scores(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) p̄."""
        return candidates.p_mean

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        """A static scorer of p̄. ``rng`` is unused (no randomness)."""
        return StaticScorer(candidates.p_mean)
