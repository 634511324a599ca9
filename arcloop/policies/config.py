"""Pydantic configuration of policies and candidate generation; invalid values name the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BuilderConfig(BaseModel):
    """A batch builder by name, with its parameters (see :mod:`arcloop.policies.builders`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        "exclusion",
        description="batch builder: 'top_k', 'exclusion' (no two picks, nor a pick and an explored "
        "composition, within radius at.%) or 'local_penalization'",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword parameters of the builder (radius in at.%; None: the campaign's target.novelty)",
    )

    @model_validator(mode="after")
    def _known(self) -> BuilderConfig:
        from arcloop.policies.assemble import build_builder

        build_builder(self)
        return self


class PolicyConfig(BaseModel):
    """A policy by registry name, with its parameters (checked against the policy's signature) and the
    batch builder that turns its scores into a batch (default: exclusion at the discovery radius)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registry name, see `arcloop policies list`")
    params: dict[str, Any] = Field(default_factory=dict, description="keyword parameters of the policy")
    builder: BuilderConfig | None = Field(
        None,
        description="batch builder; None: the policy's default (exclusion; top_k for random, the "
        "literature's uniform baseline); ignored by plugin policies that only implement select()",
    )

    @model_validator(mode="after")
    def _known(self) -> PolicyConfig:
        from arcloop.policies.assemble import build_policy

        build_policy(self)
        return self
