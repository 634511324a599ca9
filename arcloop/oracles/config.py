"""Oracles from plain data: ``{"name": "rules", "params": {...}, "wrappers": [{"name": "noisy", ...}]}``.

Validation checks the oracle and wrapper names and every parameter against the signatures
(without building anything, so validating an ``emulator`` config does not train it). A
wrapper's parameters sit next to its name (``{"name": "flaky", "failure_prob": 0.3}``);
``{"name": "flaky", "params": {...}}`` and a bare ``"noisy"`` are accepted too. Wrappers
apply in list order: the first one wraps the oracle, the last one is outermost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arcloop import registry
from arcloop.errors import ArcloopError, format_validation_error
from arcloop.oracles.base import Oracle


class WrapperConfig(BaseModel):
    """One wrapper: its ``name`` and its parameters as extra keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, Mapping) and isinstance(data.get("params"), Mapping):
            rest = {key: value for key, value in data.items() if key != "params"}
            return {**rest, **data["params"]}
        return data

    @model_validator(mode="after")
    def _check(self) -> WrapperConfig:
        registry.validate("wrappers", self.name, self.params)
        return self

    @property
    def params(self) -> dict[str, Any]:
        """The wrapper's parameters (everything but ``name``)."""
        return dict(self.model_extra or {})


class OracleConfig(BaseModel):
    """An oracle by name with its parameters and the wrappers around it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="oracle name, see `arcloop oracles list`")
    params: dict[str, Any] = Field(default_factory=dict)
    wrappers: list[WrapperConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> OracleConfig:
        registry.validate("oracles", self.name, self.params)
        return self


def parse_oracle_config(data: OracleConfig | Mapping[str, Any] | str) -> OracleConfig:
    """An :class:`OracleConfig` from a mapping (or a bare oracle name); one-line ArcloopError if invalid."""
    if isinstance(data, OracleConfig):
        return data
    if isinstance(data, str):
        data = {"name": data}
    try:
        return OracleConfig.model_validate(data)
    except ValidationError as error:
        raise ArcloopError(format_validation_error(error, prefix="oracle")) from None


def build_oracle(config: OracleConfig | Mapping[str, Any] | str) -> Oracle:
    """Build the oracle a config describes, wrappers applied in list order (first innermost)."""
    checked = parse_oracle_config(config)
    oracle = registry.get("oracles", checked.name, **checked.params)
    for wrapper in checked.wrappers:
        oracle = registry.get("wrappers", wrapper.name, oracle, **wrapper.params)
    return oracle
