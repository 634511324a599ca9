"""Steering policies in the latent space: candidates, the Policy protocol, the registry, the policies.

Policies are pure functions over arrays: ``policy.select(candidates, context, k, rng)`` returns
distinct indices into ``candidates``. Nothing here imports Prefect, MLflow or ``arcloop.models``.
"""

from arcloop.policies.base import Candidates, Context, LatentModel, Policy, top_k
from arcloop.policies.baselines import NoveltyPolicy, RandomPolicy, ThompsonPolicy
from arcloop.policies.candidates import (
    apply_feasibility,
    generate_candidates,
    latent_candidates,
    pool_candidates,
)
from arcloop.policies.config import CandidateConfig, FeasibilityConfig, PolicyConfig
from arcloop.policies.density import LabelledDensity, labelled_density
from arcloop.policies.entropy import EntropyPolicy
from arcloop.policies.greedy import GreedyPolicy
from arcloop.policies.registry import (
    ENTRY_POINT_GROUP,
    available_policies,
    build_policy,
    get_policy,
    list_policies,
    policy_params,
    refresh_plugins,
)
from arcloop.policies.uncertainty import UncertaintyPolicy

__all__ = [
    "ENTRY_POINT_GROUP",
    "CandidateConfig",
    "Candidates",
    "Context",
    "EntropyPolicy",
    "FeasibilityConfig",
    "GreedyPolicy",
    "LabelledDensity",
    "LatentModel",
    "NoveltyPolicy",
    "Policy",
    "PolicyConfig",
    "RandomPolicy",
    "ThompsonPolicy",
    "UncertaintyPolicy",
    "apply_feasibility",
    "available_policies",
    "build_policy",
    "generate_candidates",
    "get_policy",
    "labelled_density",
    "latent_candidates",
    "list_policies",
    "policy_params",
    "pool_candidates",
    "refresh_plugins",
    "top_k",
]
