"""Baselines: random, Thompson sampling and novelty search."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.spatial import cKDTree

from arcloop.policies import _params
from arcloop.policies.base import Candidates, Context, check_request, check_rng, top_k


class RandomPolicy:
    """k candidates drawn uniformly without replacement (``rng.choice``). With the ``latent`` source
    this is random search in the sampled latent region; with ``pool``, uniform over the unlabelled alloys."""

    name: ClassVar[str] = "random"
    summary: ClassVar[str] = "k candidates uniformly at random, without replacement"
    param_docs: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        pass

    def __repr__(self) -> str:
        return "RandomPolicy()"

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices in draw order."""
        k = check_request(candidates, context, k)
        return check_rng(rng).choice(candidates.n, size=k, replace=False).astype(np.int64)


class ThompsonPolicy:
    """Thompson sampling: for each batch slot draw one of the T posterior sample rows uniformly (with
    replacement across slots) and take the candidate, not yet in the batch, with the highest
    probability in that row (ties to the lower index). A candidate thus fills the first slot with the
    probability that it is the best under a posterior draw."""

    name: ClassVar[str] = "thompson"
    summary: ClassVar[str] = "one posterior sample row per batch slot, take its argmax"
    param_docs: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        pass

    def __repr__(self) -> str:
        return "ThompsonPolicy()"

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices in slot order."""
        k = check_request(candidates, context, k)
        rows = check_rng(rng).integers(candidates.n_samples, size=k)
        taken = np.zeros(candidates.n, dtype=bool)
        chosen = np.empty(k, dtype=np.int64)
        for slot, row in enumerate(rows):
            sample = np.where(taken, -np.inf, candidates.p_samples[row])
            chosen[slot] = int(np.argmax(sample))
            taken[chosen[slot]] = True
        return chosen


class NoveltyPolicy:
    """Novelty search: top-k of the mean Euclidean latent distance to the ``n_neighbors`` nearest
    labelled points (all of them if fewer are labelled; the latent origin stands in for an empty
    labelled set). Ignores p̄ entirely. Ties go to the lower index."""

    name: ClassVar[str] = "novelty"
    summary: ClassVar[str] = "top-k of the mean latent distance to the nearest labelled points"
    param_docs: ClassVar[dict[str, str]] = {
        "n_neighbors": "number of nearest labelled points whose distances are averaged (>= 1)",
    }

    def __init__(self, n_neighbors: int = 5) -> None:
        self.n_neighbors = _params.integer(self.name, "n_neighbors", n_neighbors, minimum=1)

    def __repr__(self) -> str:
        return f"NoveltyPolicy(n_neighbors={self.n_neighbors!r})"

    def novelty(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) mean distance of each candidate to its nearest labelled points, in latent units."""
        labelled = context.labelled_z
        if labelled.shape[0] == 0:
            labelled = np.zeros((1, candidates.latent_dim))
        neighbours = min(self.n_neighbors, labelled.shape[0])
        distance, _ = cKDTree(labelled).query(candidates.z, k=neighbours)
        return distance.reshape(candidates.n, neighbours).mean(axis=1)

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices, most novel first. ``rng`` is unused."""
        k = check_request(candidates, context, k)
        check_rng(rng)
        return top_k(self.novelty(candidates, context), k)
