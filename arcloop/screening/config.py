"""``ScreeningConfig``: a pool campaign over any dataset, property and target (and its benchmark grid)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arcloop import registry
from arcloop.config import StrictModel, TrackingConfig, first_repeated, flatten, readable_label
from arcloop.datasets import DatasetConfig
from arcloop.targets import TargetConfig


class ComponentConfig(BaseModel):
    """A registered component by ``name`` with its ``params`` (checked against its signature)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    KIND: ClassVar[str] = ""

    @model_validator(mode="after")
    def _check(self) -> ComponentConfig:
        if self.KIND:
            registry.validate(self.KIND, self.name, self.params)
        return self

    def build(self, **overrides: Any) -> Any:
        return registry.get(self.KIND, self.name, **{**self.params, **overrides})

    def label(self) -> str:
        return readable_label(self.name, {"params": self.params} if self.params else {})


class RegressorConfig(ComponentConfig):
    """``surrogate:`` of a screening campaign: ``forest`` (default) or ``gp`` (``params: {ard: false}``
    for an isotropic kernel); see ``arcloop surrogates list``."""

    name: str = Field("forest", description="forest or gp")
    KIND: ClassVar[str] = "regressors"


class AcquisitionConfig(ComponentConfig):
    """``policy:`` of a screening campaign: ``ei`` (default), ``pi``, ``ucb`` / ``lcb`` (``kappa``),
    ``mean``, ``thompson``, ``p_target`` or ``random``; see ``arcloop policies list``."""

    name: str = Field("ei", description="ei, pi, ucb, lcb, mean, thompson, p_target or random")
    KIND: ClassVar[str] = "acquisitions"


class ScreeningConfig(StrictModel):
    """One pool campaign over a dataset: the measured value of each distinct input is what the
    "experiment" returns (a retrospective campaign, as in Liang et al. 2021)."""

    name: str | None = Field(None, description="run name; default dataset-policy-surrogate-seed")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dataset: DatasetConfig
    target: TargetConfig = Field(default_factory=TargetConfig)
    n_initial: int = Field(2, ge=1, le=100_000, description="random initial experiments")
    batch_size: int = Field(1, ge=1, le=10_000, description="experiments per iteration")
    iterations: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="iterations after the initial set; default: until the pool is spent",
    )
    surrogate: RegressorConfig = Field(default_factory=RegressorConfig)
    policy: AcquisitionConfig = Field(default_factory=AcquisitionConfig)
    tracking: TrackingConfig | None = Field(default_factory=TrackingConfig, description="None: no MLflow")
    state_dir: Path = Field(Path("arcloop-state"), description="checkpoints for resume")

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value} if ("/" in value or "." in value) else {"name": value}
        return value

    @property
    def run_name(self) -> str:
        dataset = self.dataset.name or Path(str(self.dataset.path)).stem
        return self.name or f"{dataset}-{self.policy.label()}-{self.surrogate.label()}-seed{self.seed}"

    def fingerprint(self) -> str:
        """Hash of what determines the campaign's history (not the budget, tracking or paths)."""
        data = self.model_dump(mode="json", exclude={"iterations", "tracking", "state_dir", "name"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def flat(self) -> dict[str, Any]:
        return flatten(self.model_dump(mode="json"))


class MethodSpec(StrictModel):
    """One method of a screening benchmark: a surrogate and a policy, under a short label."""

    label: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_. -]+$")
    surrogate: RegressorConfig = Field(default_factory=RegressorConfig)
    policy: AcquisitionConfig = Field(default_factory=AcquisitionConfig)


class ScreeningBenchmarkConfig(StrictModel):
    """Datasets × methods × seeds of pool campaigns, with the exact random baseline."""

    name: str = Field("screening", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    datasets: list[str | DatasetConfig] = Field(min_length=1)
    targets: dict[str, TargetConfig] = Field(
        default_factory=dict, description="target per dataset name; default: the dataset's own goal"
    )
    methods: list[MethodSpec] = Field(min_length=1)
    seeds: list[int] | int = Field(10, description="a count (0..n-1) or a list of seeds")
    campaign: dict[str, Any] = Field(
        default_factory=dict, description="n_initial, batch_size, iterations shared by every campaign"
    )
    levels: list[float] = Field(default_factory=lambda: [0.5, 0.8], description="Top % levels of AF")
    checkpoints: list[int] = Field(
        default_factory=lambda: [25, 50, 100], description="experiment counts of the Top % table"
    )
    runner: Literal["processes", "dask"] = "processes"
    max_workers: int = Field(2, ge=1, le=256)
    dask_address: str | None = None
    output_dir: Path = Path("arcloop-output")
    tracking: TrackingConfig | None = Field(default_factory=TrackingConfig)

    @field_validator("campaign")
    @classmethod
    def _shared(cls, data: dict[str, Any]) -> dict[str, Any]:
        allowed = {"n_initial", "batch_size", "iterations"}
        extra = sorted(set(data) - allowed)
        if extra:
            raise ValueError(f"campaign.{extra[0]}: only {', '.join(sorted(allowed))} are shared settings")
        return data

    @field_validator("methods")
    @classmethod
    def _labels(cls, methods: list[MethodSpec]) -> list[MethodSpec]:
        repeated = first_repeated(m.label for m in methods)
        if repeated is not None:
            raise ValueError(f"method label {repeated!r} is used twice")
        return methods

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        if not all(math.isfinite(x) and 0 < x <= 1 for x in levels):
            raise ValueError("levels are Top % fractions in (0, 1]")
        return levels

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def dataset_configs(self) -> list[DatasetConfig]:
        return [DatasetConfig.parse(d) for d in self.datasets]
