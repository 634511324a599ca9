"""Uncertainty-modulated acquisition: p̄ + α·U − λ·B (the ARC "feedback equilibrium")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from arcloop.params import FiniteNonNegative, FinitePositive, params_repr, validated_init
from arcloop.policies.base import BatchScorer, Candidates, Context, StaticScorer
from arcloop.policies.density import LabelledDensity

_FIRST_PREFIX = 4096


class UncertaintyAcquisition:
    """Static score s = p̄ + α·U − λ·B.

    - p̄: mean of the T posterior samples of the probability of single phase.
    - U: epistemic uncertainty, either the standard deviation of the samples (``uncertainty="std"``,
      at most 0.5) or BALD = H(p̄) − mean_t H(p_t) in nats (``uncertainty="bald"``, at most ln 2).
      It pulls the loop towards under-explored directions.
    - B: accumulated bias, the Gaussian kernel sum of all explored latent points (``context.labelled_z``,
      whatever their label: it measures where the loop has looked) at the candidate,
      B(z) = Σ_j exp(−‖z − z_j‖² / 2h²), truncated beyond ``truncate``·h: the effective number of
      explored points within about h of z (see :mod:`arcloop.policies.density`). It pushes the loop
      out of over-explored regions: λ is the score given up per explored neighbour.

    With α = λ = 0 the score is greedy's p̄. When B needs direct sums (latent dimension >= 4) the
    scorer's ``ranking`` evaluates B only on the prefix of candidates, in decreasing order of the upper
    bound p̄ + α·U, that the builder actually walks; the ranking is the same as sorting all the scores
    (``scores`` itself evaluates every candidate).
    """

    name: ClassVar[str] = "uncertainty"
    summary: ClassVar[str] = "score p̄ + α·U − λ·B: uncertainty bonus U, accumulated-bias penalty B"

    @validated_init
    def __init__(
        self,
        alpha: Annotated[
            FiniteNonNegative,
            Field(
                description="weight α of the uncertainty bonus U (score units per unit of U)",
            ),
        ] = 1.0,
        lam: Annotated[
            FiniteNonNegative,
            Field(
                description="weight λ of the accumulated-bias penalty B (score per explored neighbour)",
            ),
        ] = 0.02,
        uncertainty: Annotated[
            Literal["std", "bald"],
            Field(
                description="U: 'std' (standard deviation of the T samples) or 'bald' (mutual info., nats)"
            ),
        ] = "std",
        bandwidth: Annotated[
            FinitePositive,
            Field(description="kernel standard deviation h of B, in latent units"),
        ] = 0.25,
        truncate: Annotated[
            FinitePositive,
            Field(description="B ignores explored points farther than truncate·h"),
        ] = 4.0,
    ) -> None:
        self.alpha = float(alpha)
        self.lam = float(lam)
        self.uncertainty = uncertainty
        self.bandwidth = float(bandwidth)
        self.truncate = float(truncate)

    __repr__ = params_repr

    def _upper(self, candidates: Candidates) -> np.ndarray:
        if self.alpha == 0.0:
            return candidates.p_mean
        spread = candidates.p_std if self.uncertainty == "std" else candidates.bald
        return candidates.p_mean + self.alpha * spread

    def bias(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) accumulated bias B at every candidate."""
        return LabelledDensity(context.labelled_z, self.bandwidth, self.truncate)(candidates.z)

    def scores(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) the score s of every candidate (evaluates B everywhere)."""
        upper = self._upper(candidates)
        if self.lam == 0.0 or context.n_labelled == 0:
            return upper
        return upper - self.lam * self.bias(candidates, context)

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        """A static scorer of s. ``rng`` is unused (no randomness)."""
        upper = self._upper(candidates)
        if self.lam == 0.0 or context.n_labelled == 0:
            return StaticScorer(upper)
        density = LabelledDensity(context.labelled_z, self.bandwidth, self.truncate)
        if density.is_cheap:
            return StaticScorer(upper - self.lam * density(candidates.z))
        return _PrunedScorer(candidates.z, upper, self.lam, density)


class _PrunedScorer(BatchScorer):
    """s = upper − λ·B with B >= 0, so s <= upper: ranks by walking candidates in decreasing upper bound,
    in growing prefixes, certifying an evaluated score once it beats the bound of everything not yet
    evaluated."""

    static = True

    def __init__(self, z: np.ndarray, upper: np.ndarray, lam: float, density: LabelledDensity) -> None:
        self.z, self.upper, self.lam, self.density = z, upper, lam, density
        self._all: np.ndarray | None = None

    def scores(self, available: np.ndarray) -> np.ndarray:
        if self._all is None:
            self._all = self.upper - self.lam * self.density(self.z)
        return self._all

    def ranking(self, available: np.ndarray) -> Iterator[np.ndarray]:
        if self._all is not None:
            yield from super().ranking(available)
            return
        n = self.upper.shape[0]
        order = np.lexsort((np.arange(n), -self.upper))
        order = order[np.asarray(available, dtype=bool)[order]]
        evaluated, size = 0, _FIRST_PREFIX
        pending_idx = np.zeros(0, dtype=np.int64)
        pending_val = np.zeros(0)
        while evaluated < order.size or pending_idx.size:
            if evaluated < order.size:
                block = order[evaluated : evaluated + size]
                evaluated += block.size
                size *= 2
                pending_idx = np.concatenate([pending_idx, block])
                pending_val = np.concatenate(
                    [pending_val, self.upper[block] - self.lam * self.density(self.z[block])]
                )
            bound = self.upper[order[evaluated]] if evaluated < order.size else -np.inf
            certain = pending_val > bound
            if certain.any():
                idx, val = pending_idx[certain], pending_val[certain]
                yield idx[np.lexsort((idx, -val))].astype(np.int64)
                pending_idx, pending_val = pending_idx[~certain], pending_val[~certain]
