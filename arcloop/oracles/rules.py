"""``rules``: the empirical single-phase rules on the descriptors, a physics ground truth.

Single phase iff Ω ≥ ``omega_min`` and δ ≤ ``delta_max`` (Yang & Zhang 2012) and
``h_mix_min`` < ΔH_mix < ``h_mix_max`` kJ/mol (Zhang et al. 2008); with ``vec_rule`` also
the s+d VEC must be < ``vec_bcc_max`` (BCC) or ≥ ``vec_fcc_min`` (FCC), since the window in
between gives FCC + BCC mixtures (Guo et al. 2011). A pure element (ΔH_mix = 0) has Ω = +∞.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from arcloop.data import alloy_fractions, alloy_labels
from arcloop.errors import ArcloopError
from arcloop.materials import descriptors
from arcloop.oracles.base import (
    DEFAULT_COST_PER_LABEL,
    BaseOracle,
    NonNegative,
    Positive,
    Seed,
    agreement,
    all_ok,
)
from arcloop.params import validated_init


class RulesOracle(BaseOracle):
    """Empirical single-phase rules (Ω, δ, ΔH_mix window, optional VEC) on any composition."""

    name: ClassVar[str] = "rules"

    @validated_init
    def __init__(
        self,
        omega_min: NonNegative = 1.1,
        delta_max: Positive = 6.6,
        h_mix_min: float = -15.0,
        h_mix_max: float = 5.0,
        vec_rule: bool = False,
        vec_bcc_max: Positive = 6.87,
        vec_fcc_min: Positive = 8.0,
        seed: Seed = 0,
        cost_per_label: NonNegative = DEFAULT_COST_PER_LABEL,
    ) -> None:
        super().__init__(seed=seed, cost_per_label=cost_per_label)
        if h_mix_min >= h_mix_max:
            raise ArcloopError(
                f"rules.h_mix_min: must be below h_mix_max ({h_mix_min} >= {h_mix_max}); the window is open"
            )
        if vec_bcc_max > vec_fcc_min:
            raise ArcloopError(
                f"rules.vec_bcc_max: must not exceed vec_fcc_min ({vec_bcc_max} > {vec_fcc_min})"
            )
        self.omega_min = omega_min
        self.delta_max = delta_max
        self.h_mix_min = h_mix_min
        self.h_mix_max = h_mix_max
        self.vec_rule = vec_rule
        self.vec_bcc_max = vec_bcc_max
        self.vec_fcc_min = vec_fcc_min

    def predict(self, X: np.ndarray, validate: bool = True) -> np.ndarray:
        """(n,) int64 rule verdicts for (n, 30) compositions (1 single phase)."""
        d = descriptors(X, validate=validate)
        omega = d["omega"].to_numpy()
        h_mix = d["delta_h_mix"].to_numpy()
        single = (
            (omega >= self.omega_min)
            & (d["delta"].to_numpy() <= self.delta_max)
            & (h_mix > self.h_mix_min)
            & (h_mix < self.h_mix_max)
        )
        if self.vec_rule:
            vec = d["vec_sd"].to_numpy()
            single &= (vec < self.vec_bcc_max) | (vec >= self.vec_fcc_min)
        return single.astype(np.int64)

    def _label(
        self, X: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.predict(X, validate=False), all_ok(X.shape[0])

    def diagnostics(self) -> dict[str, Any]:
        """Agreement of the rules with the experimental labels of the 1,375 packaged alloys."""
        return {"agreement_with_real_labels": agreement(self.predict(alloy_fractions()), alloy_labels())}
