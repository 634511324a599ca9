"""A study: one grid of campaigns run in *arms*, each arm a :class:`BenchmarkConfig`.

An arm is where a candidate source meets the oracle that can label it (novel alloys from the
decoder need a model of the laboratory, ``emulator``; the real pool has its real labels,
``lookup``). The source is a campaign setting, shared by every campaign of a benchmark, so each arm
is its own benchmark with the same policies, surrogates, scenarios and seeds; the study's report
pairs campaigns only inside an arm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from arcloop.config import BenchmarkConfig, OracleConfig, StrictModel, read_yaml, validated


def merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


class StudyArm(StrictModel):
    """A candidate source and its oracle: one benchmark of the study."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    oracle: OracleConfig
    candidates: dict[str, Any] = Field(
        description="the campaigns' CandidateConfig (source, feasibility, ...)"
    )


class StudyConfig(StrictModel):
    """The study file: the grid shared by every arm, the arms, and the ``--quick`` overrides."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    benchmark: dict[str, Any] = Field(
        description="a BenchmarkConfig without oracles (each arm brings its own) nor name"
    )
    arms: list[StudyArm] = Field(min_length=1)
    quick: dict[str, Any] = Field(
        default_factory=dict,
        description="--quick: benchmark fields laid over `benchmark` (a pipeline check, not the science)",
    )
    results_dir: Path = Field(Path("results"), description="committed results, relative to the study file")
    quick_results_dir: Path = Field(Path("results-quick"), description="--quick results, same")
    baseline_scenario: str = Field(
        "random", description="the unbiased start every other scenario is paired with"
    )
    family_scenario: str | None = Field(None, description="the seed-family scenario of question 3")
    selection_scenario: str | None = Field(None, description="the selection-bias scenario of question 4")
    bootstrap: int = Field(
        2000, ge=100, le=100_000, description="bootstrap resamples per confidence interval"
    )
    bootstrap_seed: int = Field(0, ge=0)

    @field_validator("benchmark")
    @classmethod
    def _no_arm_fields(cls, data: dict[str, Any]) -> dict[str, Any]:
        owned = {"oracles", "name"}.intersection(data)
        if owned:
            raise ValueError(f"set {', '.join(sorted(owned))} through arms, not benchmark")
        if "candidates" in data.get("campaign", {}):
            raise ValueError("set campaign.candidates through each arm's `candidates`, not benchmark")
        return data

    @field_validator("arms")
    @classmethod
    def _distinct_arms(cls, arms: list[StudyArm]) -> list[StudyArm]:
        names = [arm.name for arm in arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be distinct, got {names}")
        return arms

    @model_validator(mode="after")
    def _known_scenarios(self) -> StudyConfig:
        names = [spec.get("name") for spec in self.benchmark.get("scenarios", [])]
        for field in ("baseline_scenario", "family_scenario", "selection_scenario"):
            value = getattr(self, field)
            if value is not None and value not in names:
                raise ValueError(f"{field} {value!r} is not one of the scenarios {names}")
        return self

    def grid(self, quick: bool) -> dict[str, Any]:
        """The benchmark fields every arm shares (with the ``--quick`` overrides if asked)."""
        return merged(self.benchmark, self.quick) if quick else dict(self.benchmark)

    def arm_config(self, arm: StudyArm, quick: bool, work_dir: Path) -> BenchmarkConfig:
        """The arm's benchmark: the shared grid, the arm's oracle and source, folders under ``work_dir``."""
        grid = self.grid(quick)
        campaign = merged(grid.get("campaign", {}), {"candidates": arm.candidates})
        data = {
            **grid,
            "name": arm.name,
            "campaign": campaign,
            "oracles": [arm.oracle.model_dump(mode="json")],
            "output_dir": str(work_dir / "arms"),
            "tracking": {"uri": f"sqlite:///{work_dir / 'mlruns.db'}", "experiment": f"study-{self.name}"},
        }
        return validated(BenchmarkConfig, data, prefix=f"arm {arm.name}: ")


def load_study_config(path: Path) -> StudyConfig:
    """The study file, validated (one-line errors); every arm's benchmark is validated too."""
    study = validated(StudyConfig, read_yaml(path))
    for quick in (False, True):
        for arm in study.arms:
            study.arm_config(arm, quick, Path("."))
    return study
