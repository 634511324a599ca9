"""Baselines: random, Thompson sampling and novelty search."""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from arcloop.params import params_repr, validated_init
from arcloop.policies.base import BatchScorer, Candidates, Context, StaticScorer


class RandomAcquisition:
    """Static scores drawn i.i.d. uniform on [0, 1) from ``rng`` (n draws per batch). Under ``top_k``
    the batch is a uniformly random k-subset in random order; under ``exclusion``, random picks kept
    ``radius`` apart. With the ``latent`` source this is random search in the sampled latent region;
    with ``pool``, uniform over the unlabelled alloys."""

    name: ClassVar[str] = "random"
    default_builder: ClassVar[str] = "top_k"
    summary: ClassVar[str] = "i.i.d. uniform random scores (random search)"

    __repr__ = params_repr

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        return StaticScorer(rng.random(candidates.n))


class _ThompsonScorer(BatchScorer):
    """Slot s scores the candidates by posterior sample row ``rows[s]``."""

    def __init__(self, p_samples: np.ndarray, rows: np.ndarray) -> None:
        self.p_samples, self.rows, self.slot = p_samples, rows, 0

    def scores(self, available: np.ndarray) -> np.ndarray:
        return self.p_samples[self.rows[min(self.slot, self.rows.size - 1)]]

    def add(self, index: int) -> None:
        self.slot += 1


class ThompsonAcquisition:
    """Thompson sampling: ``start`` assigns each of the k slots its own posterior draw, rows
    r_0, ..., r_{k-1} of the S draws chosen uniformly without replacement (``rng.choice(S, k,
    replace=False)``; with replacement only when k > S, so no draw serves two slots while there are
    draws to spare); slot s scores the candidates by row r_s, so the builder takes the best of that one
    posterior draw among the candidates still eligible (under ``top_k``: not yet in the batch, ties to
    the lower index). A candidate thus fills the first slot with the probability that it is the best
    under a posterior draw. Sequential."""

    name: ClassVar[str] = "thompson"
    summary: ClassVar[str] = "one posterior sample row per batch slot, the builder takes its best"

    __repr__ = params_repr

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        slots, draws = max(int(k), 1), candidates.n_samples
        return _ThompsonScorer(candidates.p_samples, rng.choice(draws, size=slots, replace=slots > draws))


class NoveltyAcquisition:
    """Novelty search: static score = the mean Euclidean latent distance to the ``n_neighbors`` nearest
    explored points (all of them if fewer are explored; the latent origin stands in for an empty
    explored set). Ignores p̄ entirely."""

    name: ClassVar[str] = "novelty"
    summary: ClassVar[str] = "score = mean latent distance to the nearest explored points"

    @validated_init
    def __init__(
        self,
        n_neighbors: Annotated[
            int, Field(ge=1, description="number of nearest explored points whose distances are averaged")
        ] = 5,
    ) -> None:
        self.n_neighbors = int(n_neighbors)

    __repr__ = params_repr

    def novelty(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) mean distance of each candidate to its nearest explored points, in latent units."""
        labelled = context.labelled_z
        if labelled.shape[0] == 0:
            labelled = np.zeros((1, candidates.latent_dim))
        neighbours = min(self.n_neighbors, labelled.shape[0])
        distance, _ = cKDTree(labelled).query(candidates.z, k=neighbours)
        return distance.reshape(candidates.n, neighbours).mean(axis=1)

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        """A static scorer of the novelty. ``rng`` is unused."""
        return StaticScorer(self.novelty(candidates, context))
