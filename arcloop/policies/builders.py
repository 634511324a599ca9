"""Batch builders: turn an acquisition's scores into a batch of k distinct candidates.

Any acquisition (:class:`arcloop.policies.base.Acquisition`) works with any builder; a
:class:`BatchPolicy` is the pair, and its ``select(candidates, context, k, rng)`` is what the loop calls.

Distance between compositions (the one of the discovery rule, ``target.novelty``): the atomic percent
moved, d(a, b) = 100 · ½ Σ_e |a_e − b_e| = 50 · ‖a − b‖₁ for fraction vectors a, b, in [0, 100]
(:func:`composition_distance`).

- ``top_k``: the k best. For a static score the k highest (ties to the lower index); for a sequential
  score (thompson, entropy) slot by slot, the argmax of the scores given the picks so far among the
  candidates not yet picked (ties to the lower index).
- ``exclusion`` (the default): the same walk down the ranking, skipping every candidate whose
  composition lies strictly within ``radius`` at.% of a pick already in the batch, or of any explored
  composition (``context.explored_compositions``; that part is skipped when it is None). A skipped
  candidate is never reconsidered (picks only accumulate). If fewer than k candidates are eligible the
  batch is shorter (possibly empty); it never holds a duplicate or two compositions that would count
  as one discovery. ``radius`` None means the campaign's discovery radius, passed in when the policy
  is built (:data:`DEFAULT_RADIUS` = 5 at.% outside a campaign). ``radius`` 0 excludes nothing: the
  batch is exactly ``top_k``'s.
- ``local_penalization`` (after González et al. 2016, "Batch Bayesian optimization via local
  penalization"): at every slot, with s the scores given the picks so far and O the candidates still
  offered (not picked, finite score), g_i = s_i − min(0, min_{j∈O} s_j) + 1e-9 (shifted to be
  positive: unchanged, bar the 1e-9, when no offered score is negative, as for p̄, novelty, thompson
  and entropy), and the pick is argmax_{i∈O} g_i · Π_{j∈S} φ(d(x_i, x_j)),
  φ(d) = 1 − exp(−d² / (2ρ²)), S the batch so far, ρ = ``radius`` in at.% (None: as for exclusion),
  ties to the lower index. Explored compositions are not penalised (the model has seen them;
  exclusion is the builder that enforces novelty). A neighbour of a pick is discouraged, not
  forbidden.

A plugin policy with only its own ``select`` (:class:`PluginPolicy`) bypasses the builder.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from arcloop.errors import ArcloopError
from arcloop.params import FiniteNonNegative, FinitePositive, params_repr, validated_init
from arcloop.policies.base import (
    Acquisition,
    BatchScorer,
    Candidates,
    Context,
    check_request,
    check_rng,
    ranked_blocks,
)

DEFAULT_RADIUS = 5.0
"""At.% radius when neither the builder nor the campaign gives one (the default of ``target.novelty``)."""

_CHUNK = 256  # candidates checked against the explored set at a time

PENALTY_SHIFT = 1e-9
"""Added to the shifted scores of local penalisation so that every offered candidate is positive."""


def composition_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """At.% moved between compositions, 50 · Σ_e |a_e − b_e| over the last axis (broadcasting)."""
    return 50.0 * np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).sum(axis=-1)


def _offered(name: str, scores: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (n,):
        raise ArcloopError(f"acquisition {name!r}: scores must have shape ({n},), got {values.shape}")
    if np.isnan(values).any():
        raise ArcloopError(
            f"acquisition {name!r}: scores contain NaN; return -inf for candidates not offered"
        )
    return values


class _ExploredIndex:
    """Which compositions lie strictly within ``radius`` at.% of an explored composition (kd-tree, L1)."""

    def __init__(self, explored: np.ndarray | None, radius: float) -> None:
        self.radius = radius
        self.explored = explored
        active = explored is not None and explored.shape[0] > 0 and radius > 0.0
        self.tree = cKDTree(explored) if active else None

    def near(self, X: np.ndarray) -> np.ndarray:
        near = np.zeros(X.shape[0], dtype=bool)
        if self.tree is None or X.shape[0] == 0:
            return near
        # The tree only finds the nearest explored point within a slightly padded bound; the decision is
        # taken with composition_distance, the same arithmetic as for the picks.
        bound = self.radius / 50.0 * (1.0 + 1e-9) + 1e-12
        distance, nearest = self.tree.query(X, k=1, p=1, distance_upper_bound=bound)
        found = np.isfinite(distance)
        assert self.explored is not None
        near[found] = composition_distance(X[found], self.explored[nearest[found]]) < self.radius
        return near


@runtime_checkable
class BatchBuilder(Protocol):
    """``build(scorer, candidates, context, k)`` -> at most k distinct int64 indices, in batch order; it
    calls ``scorer.add`` for every pick, in that order."""

    name: ClassVar[str]

    def build(self, scorer: BatchScorer, candidates: Candidates, context: Context, k: int) -> np.ndarray: ...


class TopK:
    """The k best by score (sequential scores: re-scored after each pick); ties to the lower index."""

    name: ClassVar[str] = "top_k"
    summary: ClassVar[str] = "batch builder: the k best scores (sequential scores re-scored after each pick)"

    __repr__ = params_repr

    def build(self, scorer: BatchScorer, candidates: Candidates, context: Context, k: int) -> np.ndarray:
        n = candidates.n
        available = np.ones(n, dtype=bool)
        picks: list[int] = []
        if scorer.static:
            for block in scorer.ranking(available):
                picks.extend(int(i) for i in block[: k - len(picks)])
                if len(picks) >= k:
                    break
            for index in picks:
                scorer.add(index)
            return np.asarray(picks, dtype=np.int64)
        name = type(scorer).__name__
        while len(picks) < k:
            values = np.where(available, _offered(name, scorer.scores(available), n), -np.inf)
            best = int(np.argmax(values))  # the first maximum: ties to the lower index
            if not np.isfinite(values[best]):
                break
            picks.append(best)
            available[best] = False
            scorer.add(best)
        return np.asarray(picks, dtype=np.int64)


class Exclusion:
    """Greedy by score, skipping candidates within ``radius`` at.% of a pick or of an explored composition."""

    name: ClassVar[str] = "exclusion"
    summary: ClassVar[str] = (
        "batch builder: best scores first, skipping any composition within radius at.% of a pick or of "
        "an explored composition (the default)"
    )

    @validated_init
    def __init__(
        self,
        radius: Annotated[
            FiniteNonNegative,
            Field(
                description="exclusion radius in at.% (half the L1 distance × 100); None: the campaign's "
                "discovery radius target.novelty",
            ),
        ]
        | None = None,
    ) -> None:
        self.radius = DEFAULT_RADIUS if radius is None else float(radius)

    __repr__ = params_repr

    def build(self, scorer: BatchScorer, candidates: Candidates, context: Context, k: int) -> np.ndarray:
        X = candidates.compositions
        n = candidates.n
        explored = _ExploredIndex(context.explored_compositions, self.radius)
        available = np.ones(n, dtype=bool)
        explored_ok = np.zeros(n, dtype=bool)  # cache: known to be clear of the explored set
        picks: list[int] = []

        def clear(block: np.ndarray) -> np.ndarray:
            unknown = block[~explored_ok[block]]
            explored_ok[unknown[~explored.near(X[unknown])]] = True
            ok = explored_ok[block].copy()
            for pick in picks:
                ok[ok] = composition_distance(X[block[ok]], X[pick]) >= self.radius
            return ok

        if scorer.static:
            for block in scorer.ranking(available):
                # A ranking block may be large (the pruned uncertainty ranking certifies thousands at once):
                # check it in chunks, so that candidates the walk never reaches are never queried.
                for start in range(0, block.size, _CHUNK):
                    remaining = block[start : start + _CHUNK]
                    remaining = remaining[clear(remaining)]
                    while remaining.size and len(picks) < k:
                        pick = int(remaining[0])
                        picks.append(pick)
                        scorer.add(pick)
                        rest = remaining[1:]
                        remaining = rest[composition_distance(X[rest], X[pick]) >= self.radius]
                    if len(picks) >= k:
                        return np.asarray(picks, dtype=np.int64)
            return np.asarray(picks, dtype=np.int64)

        while len(picks) < k:
            pick, progress = None, True
            while pick is None and progress:
                # Every pass either finds a pick or removes at least one candidate for good; a new ranking
                # is asked for because the scorer may offer others once those are gone (entropy's top_m).
                progress = False
                for block in scorer.ranking(available):
                    for start in range(0, block.size, _CHUNK):
                        chunk = block[start : start + _CHUNK]
                        ok = clear(chunk)
                        available[chunk[~ok]] = False
                        progress = True
                        if ok.any():
                            pick = int(chunk[np.argmax(ok)])
                            break
                    if pick is not None:
                        break
            if pick is None:
                break
            picks.append(pick)
            available[pick] = False
            scorer.add(pick)
        return np.asarray(picks, dtype=np.int64)


class LocalPenalization:
    """Scores shifted positive, multiplied after each pick by 1 − exp(−d²/2ρ²) (see the module docstring)."""

    name: ClassVar[str] = "local_penalization"
    summary: ClassVar[str] = (
        "batch builder: scores shifted positive × Π 1 − exp(−d²/2ρ²) over the picks so far "
        "(González et al. 2016)"
    )

    @validated_init
    def __init__(
        self,
        radius: Annotated[
            FinitePositive,
            Field(
                description="penaliser length ρ in at.%; None: the discovery radius target.novelty",
            ),
        ]
        | None = None,
    ) -> None:
        self.radius = DEFAULT_RADIUS if radius is None else float(radius)

    __repr__ = params_repr

    def build(self, scorer: BatchScorer, candidates: Candidates, context: Context, k: int) -> np.ndarray:
        X = candidates.compositions
        n = candidates.n
        available = np.ones(n, dtype=bool)
        picks: list[int] = []
        name = type(scorer).__name__
        while len(picks) < k:
            scores = _offered(name, scorer.scores(available), n)
            offered = available & np.isfinite(scores)
            if not offered.any():
                break
            shifted = np.full(n, -np.inf)
            shifted[offered] = scores[offered] - min(0.0, float(scores[offered].min())) + PENALTY_SHIFT
            pick = self._best(shifted, X, picks)
            picks.append(pick)
            available[pick] = False
            scorer.add(pick)
        return np.asarray(picks, dtype=np.int64)

    def _best(self, shifted: np.ndarray, X: np.ndarray, picks: list[int]) -> int:
        """argmax of shifted · Π φ over the offered (finite) candidates, ties to the lower index. Every
        penaliser is <= 1, so candidates are visited by decreasing shifted score and the walk stops when
        the next shifted score is below the best penalised value found: exact, without the n × |S|
        distances."""
        best_value, best_index = -np.inf, -1
        for block in ranked_blocks(shifted, first=_CHUNK):
            if shifted[block[0]] < best_value:
                break
            penalty = np.ones(block.size)
            for pick in picks:
                d = composition_distance(X[block], X[pick])
                penalty *= -np.expm1(-(d**2) / (2.0 * self.radius**2))
            value = shifted[block] * penalty
            top = value.max()
            index = int(block[value == top].min())
            if top > best_value or (top == best_value and index < best_index):
                best_value, best_index = float(top), index
        return best_index


class BatchPolicy:
    """A steering policy = an acquisition (scores) + a batch builder; satisfies
    :class:`arcloop.policies.base.Policy`."""

    def __init__(self, acquisition: Acquisition, builder: BatchBuilder, name: str | None = None) -> None:
        if not callable(getattr(acquisition, "start", None)):
            raise ArcloopError(f"policy: {type(acquisition).__name__} has no start(); not an acquisition")
        if not callable(getattr(builder, "build", None)):
            raise ArcloopError(
                f"policy.builder: {type(builder).__name__} has no build(); not a batch builder"
            )
        self.acquisition = acquisition
        self.builder = builder
        self.name = name or str(getattr(acquisition, "name", type(acquisition).__name__))

    def __repr__(self) -> str:
        return f"BatchPolicy({self.acquisition!r}, {self.builder!r})"

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """At most min(k, n) distinct indices into ``candidates``, in batch order."""
        k = check_request(candidates, context, k)
        scorer = self.acquisition.start(candidates, context, k, check_rng(rng))
        return np.asarray(self.builder.build(scorer, candidates, context, k), dtype=np.int64)


class PluginPolicy:
    """A plugin object with its own ``select`` (the protocol before the acquisition / builder split).

    The request is validated before and the answer after the call (distinct integer indices in range, at
    most k); no batch builder applies: the plugin builds its own batch.
    """

    builder = None

    def __init__(self, plugin: Any, name: str) -> None:
        self.plugin = plugin
        self.name = name

    def __repr__(self) -> str:
        return f"PluginPolicy({self.plugin!r})"

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        k = check_request(candidates, context, k)
        chosen = np.asarray(self.plugin.select(candidates, context, k, check_rng(rng)))
        if chosen.ndim != 1 or (chosen.size and not np.issubdtype(chosen.dtype, np.integer)):
            raise ArcloopError(
                f"policy {self.name!r}: select must return a 1-D integer array, got {chosen!r}"
            )
        if chosen.size > k or np.unique(chosen).size != chosen.size:
            raise ArcloopError(
                f"policy {self.name!r}: select returned {chosen.size} indices, expected "
                f"at most {k} distinct ones"
            )
        if chosen.size and (chosen.min() < 0 or chosen.max() >= candidates.n):
            raise ArcloopError(
                f"policy {self.name!r}: select returned an index outside 0..{candidates.n - 1}"
            )
        return chosen.astype(np.int64)
