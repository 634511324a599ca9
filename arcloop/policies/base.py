"""The values a policy works on (:class:`Candidates`, :class:`Context`), the :class:`Policy` protocol the
loop calls, and the split of a policy into an :class:`Acquisition` (scores) and a batch builder
(:mod:`arcloop.policies.builders`), as BoTorch separates acquisition functions from the optimiser.

Everything here is numpy in, numpy out: a policy is a pure function of the candidates' arrays, the
explored set, the batch size and a random generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy.special import entr

from arcloop.errors import ArcloopError
from arcloop.materials import N_ELEMENTS, validate_compositions


@runtime_checkable
class LatentModel(Protocol):
    """What candidate generation needs from a model (the SSVAE satisfies it)."""

    def encode(self, X: np.ndarray) -> np.ndarray:
        """(n, 30) compositions -> (n, d) latent points."""
        ...

    def decode(self, z: np.ndarray, p_single: float | np.ndarray) -> np.ndarray:
        """(n, d) latent points and the target probability of single phase -> (n, 30) on the simplex."""
        ...

    def predict_proba_samples(self, X: np.ndarray, n_samples: int) -> np.ndarray:
        """(n, 30) compositions -> (T, n) Monte Carlo samples of the probability of single phase."""
        ...


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in nats of a Bernoulli(p), with 0 ln 0 = 0."""
    return entr(p) + entr(1.0 - p)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Candidates:
    """A set of n proposals in a d-dimensional latent space, scored by T posterior samples.

    Attributes:
        z: (n, d) latent points (for generated candidates, the point that was decoded; for pool
            candidates, the encoding of the real alloy).
        compositions: (n, 30) atomic fractions, rows summing to 1, in :data:`arcloop.data.ELEMENTS` order.
        p_samples: (T, n) Monte Carlo samples of the classifier's probability of single phase.
        pool_index: (n,) int64 row of the dataset for pool candidates, -1 for generated ones.
        local: (n,) bool, True for latent points drawn as perturbations around labelled points
            (default all False).

    Arrays are stored read-only (float64 / int64 / bool). Derived scores (``p_mean``, ``p_std``,
    ``bald``, ``predictive_entropy``) are computed once, on first use.
    """

    z: np.ndarray
    compositions: np.ndarray
    p_samples: np.ndarray
    pool_index: np.ndarray
    local: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        z = np.asarray(self.z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] < 1:
            raise ArcloopError(f"Candidates.z: expected shape (n, d) with d >= 1, got {z.shape}")
        n = z.shape[0]
        if not np.isfinite(z).all():
            raise ArcloopError("Candidates.z: contains NaN or infinite values; drop those latent points")
        compositions = np.asarray(self.compositions, dtype=np.float64)
        if compositions.shape != (n, N_ELEMENTS):
            raise ArcloopError(
                f"Candidates.compositions: expected shape ({n}, {N_ELEMENTS}) to match z, "
                f"got {compositions.shape}"
            )
        if n:
            compositions = validate_compositions(compositions, name="Candidates.compositions")
        p_samples = np.asarray(self.p_samples, dtype=np.float64)
        if p_samples.ndim != 2 or p_samples.shape[1] != n or p_samples.shape[0] < 1:
            raise ArcloopError(
                f"Candidates.p_samples: expected shape (T, {n}) with T >= 1 to match z, got {p_samples.shape}"
            )
        if not (np.isfinite(p_samples).all() and (p_samples >= 0.0).all() and (p_samples <= 1.0).all()):
            raise ArcloopError("Candidates.p_samples: every sample must be a probability in [0, 1]")
        pool_index = np.asarray(self.pool_index)
        if pool_index.shape != (n,) or (n and not np.issubdtype(pool_index.dtype, np.integer)):
            raise ArcloopError(
                f"Candidates.pool_index: expected ({n},) integers (-1 for generated), got "
                f"{pool_index.shape} {pool_index.dtype}"
            )
        local = np.zeros(n, dtype=bool) if self.local is None else np.asarray(self.local)
        if local.shape != (n,) or (n and local.dtype != np.bool_):
            raise ArcloopError(f"Candidates.local: expected ({n},) booleans, got {local.shape} {local.dtype}")
        object.__setattr__(self, "z", _readonly(z))
        object.__setattr__(self, "compositions", _readonly(compositions))
        object.__setattr__(self, "p_samples", _readonly(p_samples))
        object.__setattr__(self, "pool_index", _readonly(pool_index.astype(np.int64)))
        object.__setattr__(self, "local", _readonly(local.astype(bool)))

    @classmethod
    def empty(cls, latent_dim: int, n_samples: int = 1) -> Candidates:
        """No candidates, with the right trailing shapes (generation's answer when nothing is feasible)."""
        return cls(
            z=np.zeros((0, latent_dim)),
            compositions=np.zeros((0, N_ELEMENTS)),
            p_samples=np.zeros((max(n_samples, 1), 0)),
            pool_index=np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return int(self.z.shape[0])

    @property
    def n(self) -> int:
        """Number of candidates."""
        return int(self.z.shape[0])

    @property
    def latent_dim(self) -> int:
        """Dimension d of the latent space."""
        return int(self.z.shape[1])

    @property
    def n_samples(self) -> int:
        """Number T of posterior samples."""
        return int(self.p_samples.shape[0])

    @cached_property
    def p_mean(self) -> np.ndarray:
        """(n,) mean probability of single phase over the T samples, p̄."""
        return _readonly(self.p_samples.mean(axis=0))

    @cached_property
    def p_std(self) -> np.ndarray:
        """(n,) standard deviation (ddof = 0) of the T samples: epistemic spread of p."""
        return _readonly(self.p_samples.std(axis=0))

    @cached_property
    def predictive_entropy(self) -> np.ndarray:
        """(n,) H(p̄) in nats, the entropy of the mean Bernoulli prediction (≤ ln 2)."""
        return _readonly(_binary_entropy(self.p_mean))

    @cached_property
    def bald(self) -> np.ndarray:
        """(n,) BALD = H(p̄) − mean_t H(p_t) in nats: mutual information between label and model."""
        expected = _binary_entropy(self.p_samples).mean(axis=0)
        # Clip the tiny negative values that rounding leaves when all samples agree.
        return _readonly(np.maximum(self.predictive_entropy - expected, 0.0))


@dataclass(frozen=True)
class Context:
    """What the loop knows when it selects a batch: the explored set, in the current model's frame.

    The explored set is the initial labelled set plus every composition the loop proposed so far,
    whatever became of it (labelled, dropped, failed, abstained): everything a laboratory has already
    paid for or committed to. Its m rows are in the order they were explored (the initial set first,
    then each batch in batch order), the same rows in every array below.

    Attributes:
        labelled_z: (m, d) the CURRENT model's encoding of the explored compositions (one frame per
            iteration; never a decoded latent point); m may be 0. The name is historical: the rows are
            the explored set, labelled or not.
        labels: (m,) int64 observed labels: 1 single phase, 0 multiple phases, -1 where there is none
            (dropped, failed, abstained).
        iteration: the loop iteration of the batch being selected (0 for the first batch).
        explored_compositions: (m, 30) atomic fractions of the same m points, row for row; None when the
            caller does not give them (the exclusion builder then only keeps picks apart from each other).
        explored_origin: (m,) int64, -1 for the initial set, else the iteration (< ``iteration``) whose
            batch proposed the row; None means the loop's proposals are not known, so no step
            directions are counted for the explored set (see :mod:`arcloop.policies.entropy`).
    """

    labelled_z: np.ndarray
    labels: np.ndarray
    iteration: int = 0
    explored_compositions: np.ndarray | None = None
    explored_origin: np.ndarray | None = None

    def __post_init__(self) -> None:
        labelled_z = np.asarray(self.labelled_z, dtype=np.float64)
        if labelled_z.ndim == 1 and labelled_z.size == 0:
            raise ArcloopError(
                "Context.labelled_z: give an (m, d) array; for nothing labelled use np.zeros((0, d))"
            )
        if labelled_z.ndim != 2:
            raise ArcloopError(f"Context.labelled_z: expected shape (m, d), got {labelled_z.shape}")
        if not np.isfinite(labelled_z).all():
            raise ArcloopError("Context.labelled_z: contains NaN or infinite values")
        m = labelled_z.shape[0]
        labels = np.asarray(self.labels)
        if labels.shape != (m,):
            raise ArcloopError(
                f"Context.labels: expected shape ({m},) to match labelled_z, got {labels.shape}"
            )
        if labels.size and (
            not np.issubdtype(labels.dtype, np.integer) or not np.isin(labels, (-1, 0, 1)).all()
        ):
            raise ArcloopError("Context.labels: expected integers 1, 0 or -1 (dropped / failed)")
        if (
            isinstance(self.iteration, bool)
            or not isinstance(self.iteration, int | np.integer)
            or self.iteration < 0
        ):
            raise ArcloopError(f"Context.iteration: expected an integer >= 0, got {self.iteration!r}")
        object.__setattr__(self, "labelled_z", _readonly(labelled_z))
        object.__setattr__(self, "labels", _readonly(labels.astype(np.int64)))
        object.__setattr__(self, "iteration", int(self.iteration))
        if self.explored_compositions is not None:
            compositions = np.asarray(self.explored_compositions, dtype=np.float64)
            if compositions.shape != (m, N_ELEMENTS):
                raise ArcloopError(
                    f"Context.explored_compositions: expected shape ({m}, {N_ELEMENTS}) to match "
                    f"labelled_z, got {compositions.shape}"
                )
            if m:
                compositions = validate_compositions(compositions, name="Context.explored_compositions")
            object.__setattr__(self, "explored_compositions", _readonly(compositions))
        if self.explored_origin is not None:
            origin = np.asarray(self.explored_origin)
            if origin.shape != (m,) or (m and not np.issubdtype(origin.dtype, np.integer)):
                raise ArcloopError(
                    f"Context.explored_origin: expected ({m},) integers to match labelled_z, got "
                    f"{origin.shape} {origin.dtype}"
                )
            if m and (origin.min() < -1 or origin.max() >= self.iteration):
                raise ArcloopError(
                    f"Context.explored_origin: expected -1 (initial set) or an earlier iteration "
                    f"0..{self.iteration - 1}, got values in [{origin.min()}, {origin.max()}]"
                )
            object.__setattr__(self, "explored_origin", _readonly(origin.astype(np.int64)))

    @classmethod
    def empty(cls, latent_dim: int, iteration: int = 0) -> Context:
        """Nothing explored yet."""
        return cls(
            np.zeros((0, latent_dim)),
            np.zeros(0, dtype=np.int64),
            iteration,
            explored_compositions=np.zeros((0, N_ELEMENTS)),
            explored_origin=np.zeros(0, dtype=np.int64),
        )

    @property
    def n_labelled(self) -> int:
        """Number m of explored points (the rows of ``labelled_z``)."""
        return int(self.labelled_z.shape[0])


@runtime_checkable
class Policy(Protocol):
    """What the loop calls: a steering policy with one pure ``select`` method.

    ``select`` returns at most ``min(k, len(candidates))`` distinct int64 indices into ``candidates``,
    in batch order; fewer when the batch builder finds fewer eligible candidates (the exclusion builder
    never fills a slot with what would count as the same discovery), possibly none. All randomness
    comes from ``rng``. It raises :class:`~arcloop.errors.ArcloopError` on k < 1, empty candidates, a
    context whose latent dimension differs from the candidates', or an rng that is not a Generator.
    Built-ins are :class:`arcloop.policies.builders.BatchPolicy` (an acquisition plus a batch builder);
    plugins with their own ``select`` are wrapped in :class:`arcloop.policies.builders.PluginPolicy`.
    """

    name: str

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray: ...


def ranked_blocks(
    scores: np.ndarray, available: np.ndarray | None = None, first: int = 64
) -> Iterator[np.ndarray]:
    """The candidates with a finite score (and ``available``), best first, ties to the lower index, in
    blocks of doubling size (``first``, 2·first, ...).

    Lazy: a block costs one O(n) partial selection, so a caller that stops after the first block or two
    never sorts all n scores.
    """
    values = np.asarray(scores, dtype=np.float64)
    offered = np.isfinite(values)
    if available is not None:
        offered &= available
    # Select among the offered only: a partition over many equal -inf values is far slower.
    index = np.flatnonzero(offered)
    values = values[index]
    taken, size = 0, max(int(first), 1)
    while taken < index.size:
        upto = min(index.size, taken + size)
        yield index[top_k(values, upto)[taken:]]
        taken, size = upto, 2 * size


class BatchScorer:
    """The acquisition scores of the candidates for one batch under construction.

    An :class:`Acquisition` returns one from ``start``; a batch builder then asks, slot after slot, for
    ``scores`` (or ``ranking``) and reports each pick with ``add``.

    - ``scores(available)``: (n,) float64, higher is better, for the next slot given the picks so far.
      ``-inf`` marks a candidate the scorer does not offer for this slot (it is never picked); NaN is not
      allowed. ``available`` (n,) bool is the builder's set of candidates still selectable (not picked,
      not excluded); a scorer may use it only to decide where to spend its effort (the entropy scorer
      evaluates its top_m available candidates), never to change a score it offers.
    - ``add(index)``: the candidate joins the batch; sequential scorers update their state.
    - ``ranking(available)``: the offered available candidates in decreasing score (ties to the lower
      index) as lazy blocks; the default sorts ``scores(available)`` (:func:`ranked_blocks`); a static
      scorer may override it to avoid computing every score (uncertainty does, in d >= 4).
    - ``static``: True when the scores never change with the batch (greedy, uncertainty, novelty,
      random): builders then rank once instead of once per slot.
    """

    static: bool = False

    def scores(self, available: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def add(self, index: int) -> None:
        """The candidate ``index`` joined the batch (static scorers ignore it)."""

    def ranking(self, available: np.ndarray) -> Iterator[np.ndarray]:
        return ranked_blocks(self.scores(available), available)


class StaticScorer(BatchScorer):
    """Scores that do not depend on the batch: the same (n,) vector for every slot."""

    static = True

    def __init__(self, values: np.ndarray) -> None:
        self.values = _readonly(np.asarray(values, dtype=np.float64))

    def scores(self, available: np.ndarray) -> np.ndarray:
        return self.values


@runtime_checkable
class Acquisition(Protocol):
    """An acquisition function: parameters in ``__init__``, one ``start`` per batch.

    ``start(candidates, context, k, rng)`` returns the :class:`BatchScorer` of one batch of (at most) k;
    all randomness is drawn from ``rng`` there (random draws n uniform scores, thompson k sample rows).
    It is called by :class:`arcloop.policies.builders.BatchPolicy` after the request was validated.
    """

    name: ClassVar[str]

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer: ...


def check_request(candidates: Candidates, context: Context, k: int) -> int:
    """Validate a selection request; returns the batch size actually possible, min(k, n)."""
    if not isinstance(candidates, Candidates):
        raise ArcloopError(f"candidates: expected a Candidates value, got {type(candidates).__name__}")
    if not isinstance(context, Context):
        raise ArcloopError(f"context: expected a Context value, got {type(context).__name__}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ArcloopError(f"k: expected an integer batch size >= 1, got {k!r}")
    if k < 1:
        raise ArcloopError(f"k: batch size must be >= 1, got {k}")
    if candidates.n == 0:
        raise ArcloopError(
            "candidates: empty (nothing feasible to select from); widen the region or feasibility"
        )
    if context.labelled_z.shape[1] != candidates.latent_dim:
        raise ArcloopError(
            f"context.labelled_z: latent dimension {context.labelled_z.shape[1]} does not match the "
            f"candidates' {candidates.latent_dim}; encode both with the same model"
        )
    return min(int(k), candidates.n)


def check_rng(rng: np.random.Generator) -> np.random.Generator:
    """The rng argument must be a numpy Generator (seeded by the caller)."""
    if not isinstance(rng, np.random.Generator):
        raise ArcloopError(
            f"rng: expected numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first; ties go to the lower index (deterministic).

    O(n) selection plus a sort of the k winners, so 10⁵ scores cost well under a millisecond.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        threshold = np.partition(scores, n - k)[n - k]
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)[: k - above.size]
        chosen = np.concatenate([above, tied])
    else:
        chosen = np.arange(n)
    # lexsort: last key is primary; a stable order by (-score, index).
    order = np.lexsort((chosen, -scores[chosen]))
    return chosen[order].astype(np.int64)
