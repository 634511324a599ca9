"""``SurrogateConfig``: the ``surrogate:`` section of a campaign config, validated when it is read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arcloop import registry
from arcloop.surrogates.base import BaseSurrogate


class SurrogateConfig(BaseModel):
    """A surrogate by name (``forest``, ``gp``, ``ssvae``) and its parameters.

    The default is ``forest``: on the real-pool task it found the targets fastest of the three
    (benchmarks/README.md, "Surrogates on the real pool"), and it fits in a fraction of a second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="forest", description="surrogate name: forest, gp or ssvae")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SurrogateConfig:
        registry.validate("surrogates", self.name, self.params)
        return self

    def build(self, **overrides: Any) -> BaseSurrogate:
        """A new surrogate; ``overrides`` (e.g. ``random_state`` from the campaign seed) win over params."""
        return registry.get("surrogates", self.name, **{**self.params, **overrides})
