"""Steering policies in the latent space: candidates, acquisitions, batch builders, the registry.

A policy is an acquisition score plus a batch builder (:class:`BatchPolicy`); the loop calls
``policy.select(candidates, context, k, rng)``, which returns distinct indices into ``candidates``.
Nothing here imports Prefect, MLflow or ``arcloop.models``.
"""

from arcloop.policies.base import (
    Acquisition,
    BatchScorer,
    Candidates,
    Context,
    LatentModel,
    Policy,
    StaticScorer,
    ranked_blocks,
    top_k,
)
from arcloop.policies.baselines import NoveltyAcquisition, RandomAcquisition, ThompsonAcquisition
from arcloop.policies.builders import (
    DEFAULT_RADIUS,
    BatchBuilder,
    BatchPolicy,
    Exclusion,
    LocalPenalization,
    PluginPolicy,
    TopK,
    composition_distance,
)
from arcloop.policies.candidates import (
    apply_feasibility,
    generate_candidates,
    latent_candidates,
    pool_candidates,
)
from arcloop.policies.config import BuilderConfig, CandidateConfig, FeasibilityConfig, PolicyConfig
from arcloop.policies.density import LabelledDensity, labelled_density
from arcloop.policies.entropy import EntropyAcquisition
from arcloop.policies.greedy import GreedyAcquisition
from arcloop.policies.registry import (
    ENTRY_POINT_GROUP,
    available_builders,
    available_policies,
    build_builder,
    build_policy,
    builder_params,
    get_policy,
    list_policies,
    policy_params,
    refresh_plugins,
)
from arcloop.policies.uncertainty import UncertaintyAcquisition

__all__ = [
    "DEFAULT_RADIUS",
    "ENTRY_POINT_GROUP",
    "Acquisition",
    "BatchBuilder",
    "BatchPolicy",
    "BatchScorer",
    "BuilderConfig",
    "CandidateConfig",
    "Candidates",
    "Context",
    "EntropyAcquisition",
    "Exclusion",
    "FeasibilityConfig",
    "GreedyAcquisition",
    "LabelledDensity",
    "LatentModel",
    "LocalPenalization",
    "NoveltyAcquisition",
    "PluginPolicy",
    "Policy",
    "PolicyConfig",
    "RandomAcquisition",
    "StaticScorer",
    "ThompsonAcquisition",
    "TopK",
    "UncertaintyAcquisition",
    "apply_feasibility",
    "available_builders",
    "available_policies",
    "build_builder",
    "build_policy",
    "builder_params",
    "composition_distance",
    "generate_candidates",
    "get_policy",
    "labelled_density",
    "latent_candidates",
    "list_policies",
    "policy_params",
    "pool_candidates",
    "ranked_blocks",
    "refresh_plugins",
    "top_k",
]
