"""Uncertainty-modulated selection: p̄ + α·U − λ·B (the ARC "feedback equilibrium")."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from arcloop.policies import _params
from arcloop.policies.base import Candidates, Context, check_request, check_rng, top_k
from arcloop.policies.density import LabelledDensity

_FIRST_PREFIX = 4096


class UncertaintyPolicy:
    """Top-k of the score s = p̄ + α·U − λ·B.

    - p̄: mean of the T posterior samples of the probability of single phase.
    - U: epistemic uncertainty, either the standard deviation of the samples (``uncertainty="std"``,
      at most 0.5) or BALD = H(p̄) − mean_t H(p_t) in nats (``uncertainty="bald"``, at most ln 2).
      It pulls the loop towards under-explored directions.
    - B: accumulated bias, the Gaussian kernel sum of all labelled latent points (whatever their
      label: it measures where the loop has looked) at the candidate,
      B(z) = Σ_j exp(−‖z − z_j‖² / 2h²), truncated beyond ``truncate``·h: the effective number of
      labelled points within about h of z (see :mod:`arcloop.policies.density`). It pushes the loop
      out of over-explored regions: λ is the score given up per labelled neighbour.

    With α = λ = 0 the selection is exactly :class:`~arcloop.policies.greedy.GreedyPolicy`'s.
    Ties go to the lower candidate index. When B needs direct sums (latent dimension ≥ 4) only the
    prefix of candidates, in decreasing order of the upper bound p̄ + α·U, that can still reach the
    top k is evaluated; the result is the same as evaluating all of them.
    """

    name: ClassVar[str] = "uncertainty"
    summary: ClassVar[str] = "top-k of p̄ + α·U − λ·B: uncertainty bonus U, accumulated-bias penalty B"
    param_docs: ClassVar[dict[str, str]] = {
        "alpha": "weight α >= 0 of the uncertainty bonus U (score units per unit of U)",
        "lam": "weight λ >= 0 of the accumulated-bias penalty B (score given up per labelled neighbour)",
        "uncertainty": "U: 'std' (standard deviation of the T samples) or 'bald' (mutual information, nats)",
        "bandwidth": "kernel standard deviation h of B, in latent units (> 0)",
        "truncate": "B ignores labelled points farther than truncate·h (> 0)",
    }

    def __init__(
        self,
        alpha: float = 1.0,
        lam: float = 0.02,
        uncertainty: str = "std",
        bandwidth: float = 0.25,
        truncate: float = 4.0,
    ) -> None:
        self.alpha = _params.real(self.name, "alpha", alpha)
        self.lam = _params.real(self.name, "lam", lam)
        self.uncertainty = _params.choice(self.name, "uncertainty", uncertainty, ("std", "bald"))
        self.bandwidth = _params.real(self.name, "bandwidth", bandwidth, strict=True)
        self.truncate = _params.real(self.name, "truncate", truncate, strict=True)

    def __repr__(self) -> str:
        return (
            f"UncertaintyPolicy(alpha={self.alpha!r}, lam={self.lam!r}, uncertainty={self.uncertainty!r}, "
            f"bandwidth={self.bandwidth!r}, truncate={self.truncate!r})"
        )

    def _upper(self, candidates: Candidates) -> np.ndarray:
        if self.alpha == 0.0:
            return candidates.p_mean
        spread = candidates.p_std if self.uncertainty == "std" else candidates.bald
        return candidates.p_mean + self.alpha * spread

    def bias(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) accumulated bias B at every candidate."""
        return LabelledDensity(context.labelled_z, self.bandwidth, self.truncate)(candidates.z)

    def scores(self, candidates: Candidates, context: Context) -> np.ndarray:
        """(n,) the score s of every candidate (evaluates B everywhere; ``select`` may not need to)."""
        upper = self._upper(candidates)
        if self.lam == 0.0 or context.n_labelled == 0:
            return upper
        return upper - self.lam * self.bias(candidates, context)

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices, highest score first. ``rng`` is unused (no randomness)."""
        k = check_request(candidates, context, k)
        check_rng(rng)
        upper = self._upper(candidates)
        if self.lam == 0.0 or context.n_labelled == 0:
            return top_k(upper, k)
        density = LabelledDensity(context.labelled_z, self.bandwidth, self.truncate)
        if density.is_cheap:
            return top_k(upper - self.lam * density(candidates.z), k)
        return self._select_pruned(candidates.z, upper, density, k)

    def _select_pruned(
        self, z: np.ndarray, upper: np.ndarray, density: LabelledDensity, k: int
    ) -> np.ndarray:
        # B >= 0, so s <= upper: walk candidates by decreasing upper bound, in growing prefixes, and stop
        # once the k-th best exact score beats the bound of everything not yet evaluated.
        n = upper.shape[0]
        order = np.lexsort((np.arange(n), -upper))
        evaluated, size = 0, max(_FIRST_PREFIX, 16 * k)
        seen: list[np.ndarray] = []
        exact: list[np.ndarray] = []
        while evaluated < n:
            block = order[evaluated : evaluated + size]
            seen.append(block)
            exact.append(upper[block] - self.lam * density(z[block]))
            evaluated += block.size
            size *= 2
            indices, values = np.concatenate(seen), np.concatenate(exact)
            if evaluated < n and values.size >= k:
                kth = np.partition(values, values.size - k)[values.size - k]
                if kth > upper[order[evaluated]]:
                    break
        indices, values = np.concatenate(seen), np.concatenate(exact)
        best = np.lexsort((indices, -values))[:k]
        return indices[best].astype(np.int64)
