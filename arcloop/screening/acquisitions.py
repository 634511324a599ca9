"""Acquisitions of a screening campaign: a score per candidate from the surrogate's belief about a
property, in the target's orientation (larger utility is better; a minimised property is negated).

Each acquisition is a plain class: parameters in ``__init__`` (declared with bounds, as every
plugin of :mod:`arcloop.registry`) and ``select(belief, k, rng) -> indices`` building a batch of k
distinct candidates. All but ``thompson`` and ``random`` score once and take the top k (ties by
index); ``thompson`` gives each slot its own posterior draw. With k = 1 every one is the sequential
rule of the Liang et al. 2021 benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field
from scipy.stats import norm


@dataclass(frozen=True)
class Belief:
    """The surrogate's belief about the candidates, in utility units (larger is better).

    ``mean`` and ``std`` (n,): posterior mean and epistemic spread of the utility; ``draws`` (S, n):
    posterior draws of it; ``best``: the best utility observed so far; ``p_target`` (n,): the share
    of draws meeting the target, times its composition rules."""

    mean: np.ndarray
    std: np.ndarray
    draws: np.ndarray
    best: float
    p_target: np.ndarray


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """The indices of the k largest scores, best first; ties go to the lower index (stable)."""
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    return order[: min(k, order.size)]


class ExpectedImprovement:
    """EI = E[max(u − best − xi, 0)] under a normal belief N(mean, std²) of the utility u."""

    def __init__(
        self, xi: Annotated[float, Field(ge=0, description="improvement margin, utility units")] = 0.0
    ):
        self.xi = xi

    def score(self, belief: Belief) -> np.ndarray:
        std = np.maximum(belief.std, 1e-12)
        gain = belief.mean - belief.best - self.xi
        z = gain / std
        return gain * norm.cdf(z) + std * norm.pdf(z)

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(self.score(belief), k)


class ProbabilityOfImprovement(ExpectedImprovement):
    """PI = P(u > best + xi) under a normal belief N(mean, std²) of the utility u."""

    def score(self, belief: Belief) -> np.ndarray:
        std = np.maximum(belief.std, 1e-12)
        return norm.cdf((belief.mean - belief.best - self.xi) / std)


class ConfidenceBound:
    """UCB = mean + kappa·std of the utility: the LCB (mean − kappa·std) of a minimised property."""

    def __init__(self, kappa: Annotated[float, Field(ge=0, description="weight of the spread")] = 2.0):
        self.kappa = kappa

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(belief.mean + self.kappa * belief.std, k)


class PosteriorMean:
    """Pure exploitation: the posterior mean of the utility."""

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(belief.mean, k)


class ProbabilityOfTarget:
    """P(target): the share of posterior draws that meet the target statement (times its rules)."""

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(belief.p_target, k)


class ThompsonSampling:
    """Thompson sampling: slot j takes the best candidate of posterior draw j (a random draw of the
    S when j ≥ S), among those not yet in the batch."""

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        n_draws, n = belief.draws.shape
        order = rng.permutation(n_draws)
        chosen: list[int] = []
        taken = np.zeros(n, dtype=bool)
        for slot in range(min(k, n)):
            draw = belief.draws[order[slot % n_draws]].astype(np.float64)
            pick = int(np.argmax(np.where(taken, -np.inf, draw)))
            chosen.append(pick)
            taken[pick] = True
        return np.asarray(chosen, dtype=np.int64)


class RandomChoice:
    """The baseline: k candidates uniformly at random, without replacement."""

    def select(self, belief: Belief, k: int, rng: np.random.Generator) -> np.ndarray:
        n = belief.mean.size
        return rng.choice(n, size=min(k, n), replace=False).astype(np.int64)
