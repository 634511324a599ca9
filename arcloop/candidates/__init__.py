"""Where candidates come from: points sampled in the latent space and decoded, or the pool of unlabelled
alloys; feasibility constraints on both. What a policy then scores is :class:`arcloop.policies.Candidates`.
"""

from arcloop.candidates.config import CandidateConfig, FeasibilityConfig
from arcloop.candidates.sources import apply_feasibility, latent_candidates, pool_candidates

__all__ = [
    "CandidateConfig",
    "FeasibilityConfig",
    "apply_feasibility",
    "latent_candidates",
    "pool_candidates",
]
