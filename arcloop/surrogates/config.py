"""``SurrogateConfig``: the ``surrogate:`` section of a campaign config, validated when it is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arcloop.errors import ArcloopError, format_validation_error
from arcloop.surrogates.base import BaseSurrogate
from arcloop.surrogates.registry import build_surrogate, validate_surrogate_params


class SurrogateConfig(BaseModel):
    """A surrogate by name (``forest``, ``gp``, ``ssvae``) and its parameters.

    The default is ``forest``: on the real-pool task it found the targets fastest of the three
    (benchmarks/README.md, "Surrogates on the real pool"), and it fits in a fraction of a second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="forest", description="surrogate name: forest, gp or ssvae")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SurrogateConfig:
        validate_surrogate_params(self.name, self.params)
        return self

    def build(self, **overrides: Any) -> BaseSurrogate:
        """A new surrogate; ``overrides`` (e.g. ``random_state`` from the campaign seed) win over params."""
        return build_surrogate(self.name, **{**self.params, **overrides})


def parse_surrogate_config(data: SurrogateConfig | Mapping[str, Any] | str | None) -> SurrogateConfig:
    """A :class:`SurrogateConfig` from a mapping, a bare name or None (the default); one-line errors."""
    if isinstance(data, SurrogateConfig):
        return data
    if data is None:
        return SurrogateConfig()
    if isinstance(data, str):
        data = {"name": data}
    try:
        return SurrogateConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:  # our own validator's message already names surrogate.NAME.field
            raise ArcloopError(str(first["msg"]).removeprefix("Value error, ")) from None
        raise ArcloopError(format_validation_error(error, prefix="surrogate")) from None
