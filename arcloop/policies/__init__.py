"""Steering policies in the latent space: candidates, acquisitions, batch builders, their assembly.

A policy is an acquisition score plus a batch builder (:class:`BatchPolicy`); the loop calls
``policy.select(candidates, context, k, rng)``, which returns distinct indices into ``candidates``.
Nothing here imports Prefect, MLflow or ``arcloop.models``.
"""

from arcloop.policies.assemble import build_builder, build_policy
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
from arcloop.policies.config import BuilderConfig, PolicyConfig
from arcloop.policies.density import LabelledDensity
from arcloop.policies.entropy import EntropyAcquisition
from arcloop.policies.greedy import GreedyAcquisition
from arcloop.policies.uncertainty import UncertaintyAcquisition

__all__ = [
    "DEFAULT_RADIUS",
    "Acquisition",
    "BatchBuilder",
    "BatchPolicy",
    "BatchScorer",
    "BuilderConfig",
    "Candidates",
    "Context",
    "EntropyAcquisition",
    "Exclusion",
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
    "build_builder",
    "build_policy",
    "composition_distance",
    "ranked_blocks",
    "top_k",
]
