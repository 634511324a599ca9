"""Greedy exploitation: the k candidates with the highest mean probability of single phase."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from arcloop.policies.base import Candidates, Context, check_request, check_rng, top_k


class GreedyPolicy:
    """Top-k of p̄ (mean over the T samples); ties go to the lower candidate index. No parameters."""

    name: ClassVar[str] = "greedy"
    summary: ClassVar[str] = "top-k of the mean probability p̄ (pure exploitation)"
    param_docs: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        pass

    def __repr__(self) -> str:
        return "GreedyPolicy()"

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices, highest p̄ first. ``rng`` is unused (no randomness)."""
        k = check_request(candidates, context, k)
        check_rng(rng)
        return top_k(candidates.p_mean, k)
