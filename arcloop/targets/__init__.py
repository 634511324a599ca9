"""Targets: one statement about a property and (for compositions) the composition, deciding hits,
discoveries, Top % and what the policies rank by.

A statement names a ``property`` and one goal:

- ``equals: v`` (a binary property: ``equals: 1``), ``above: v`` (strictly greater), ``below: v``
  (strictly less): a fixed threshold on the measured value;
- ``goal: maximize | minimize`` with ``top_fraction`` f: the target set is the best ⌈f·N⌉ of the N
  distinct inputs the campaign can reach (the Liang et al. 2021 "top 5 %"), which fixes a threshold
  on the value; ties at the threshold count as targets.

and optional composition rules, each a feasibility condition of the input alone:
``min_elements`` (elements at or above ``element_threshold``), ``exclude`` (elements that must be
absent), ``fraction`` (bounds on every *present* element's fraction) and ``family_share`` (bounds on
an element family's total share). An input is a target when its value meets the goal *and* it obeys
every rule. P(target) of a candidate is the share of the surrogate's posterior draws of the property
that meet the goal, times the rules (0 or 1).

Novelty (``novelty`` at.% from the ``reference`` set) belongs to the statement too, with a default
that depends on the source (:func:`source_defaults`): for generated alloys novelty against
the dataset is the point (5 at.%); in a pool, screening known candidates, every distinct target
counts once (novelty 0, no reference). A screening campaign is a pool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arcloop.errors import ArcloopError
from arcloop.materials import FAMILIES, PERIODIC_TABLE

Goal = Literal["maximize", "minimize"]
GENERATED_NOVELTY = 5.0  # at.%: the default radius of a discovery among generated alloys


class Bounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float = Field(0.0, ge=0.0, le=1.0)
    max: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class TargetConfig(BaseModel):
    """What counts as a target, a hit and a discovery (see the module docstring).

    Unset ``property`` means the dataset's own default goal (``single_phase`` equals 1 for the
    packaged alloys; the published goal for the Liang datasets)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    property: str | None = Field(
        None, min_length=1, max_length=200, description="the property the target is about"
    )
    equals: float | None = Field(None, description="target: value equals this (binary: 1)")
    above: float | None = Field(None, description="target: value strictly above this")
    below: float | None = Field(None, description="target: value strictly below this")
    goal: Goal | None = Field(None, description="maximize or minimize, with top_fraction")
    top_fraction: float = Field(
        0.05, gt=0.0, le=1.0, description="goal: the best ⌈f·N⌉ of the N reachable inputs are targets"
    )
    min_elements: int | None = Field(None, ge=1, le=118)
    element_threshold: float = Field(0.005, gt=0.0, lt=1.0)
    exclude: list[str] = Field(default_factory=list, description="elements a target must not contain")
    fraction: Bounds | None = Field(None, description="bounds on the fraction of every element present")
    family_share: dict[str, Bounds] = Field(
        default_factory=dict, description=f"bounds on an element family's share: {', '.join(FAMILIES)}"
    )
    novelty: float | None = Field(
        None,
        ge=0.0,
        le=100.0,
        description="at.% a discovery must be away from known alloys and earlier ones; default: "
        f"{GENERATED_NOVELTY:g} for generated alloys (latent source), 0 in a pool (every target counts)",
    )
    reference: Literal["dataset", "initial", "none"] | None = Field(
        None,
        description="what is already known: the packaged dataset (less the pool source's own "
        "candidate rows), the initial labelled set, or nothing; default: dataset for generated "
        "alloys, none in a pool",
    )

    @field_validator("exclude")
    @classmethod
    def _elements(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in PERIODIC_TABLE]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an element symbol")
        return value

    @field_validator("family_share")
    @classmethod
    def _families(cls, value: dict[str, Bounds]) -> dict[str, Bounds]:
        unknown = [f for f in value if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown family {unknown[0]!r}; families: {', '.join(FAMILIES)}")
        return value

    @model_validator(mode="after")
    def _one_goal(self) -> TargetConfig:
        given = [k for k in ("equals", "above", "below", "goal") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one goal: {' and '.join(given)} are both set")
        for key in ("equals", "above", "below"):
            value = getattr(self, key)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number")
        return self

    def has_rules(self) -> bool:
        """Whether the statement sets any composition rule."""
        return bool(self.min_elements or self.exclude or self.fraction or self.family_share)

    def with_default_goal(self, default: dict[str, object]) -> TargetConfig:
        """This statement, with the dataset's published goal where none is given."""
        if self.property is not None and any(
            getattr(self, k) is not None for k in ("equals", "above", "below", "goal")
        ):
            return self
        if self.property is not None and self.property != default.get("property"):
            raise ArcloopError(
                f"target: property {self.property!r} has no goal; add equals, above, below or "
                "goal (maximize / minimize, with top_fraction)"
            )
        return self.model_copy(update=dict(default))


def source_defaults(target: dict[str, Any], source: str) -> dict[str, Any]:
    """A ``target:`` mapping with the novelty defaults of its candidate source (docs/design.md): for
    generated alloys a discovery must be new, ``GENERATED_NOVELTY`` at.% from the dataset and earlier
    discoveries; in a pool of known candidates every distinct target counts (novelty 0, nothing known
    beforehand). A novelty given without a reference is measured against the dataset, as before."""
    filled = dict(target)
    if filled.get("novelty") is None:
        filled["novelty"] = 0.0 if source == "pool" else GENERATED_NOVELTY
    if filled.get("reference") is None:
        novelty = filled["novelty"]
        positive = isinstance(novelty, (int, float)) and novelty > 0
        filled["reference"] = "dataset" if positive else "none"
    return filled


def composition_rules_mask(target: TargetConfig, X: np.ndarray, elements: Sequence[str]) -> np.ndarray:
    """(n,) bool: the compositions X (fractions over ``elements``) obey every composition rule of the
    statement. All True when it has none."""
    X = np.asarray(X, dtype=np.float64)
    ok = np.ones(X.shape[0], dtype=bool)
    if not target.has_rules():
        return ok
    names = list(elements)
    present = target.element_threshold < X  # as arcloop.materials.n_elements counts
    if target.min_elements is not None:
        ok &= present.sum(axis=1) >= target.min_elements
    for symbol in target.exclude:
        if symbol in names:
            ok &= ~present[:, names.index(symbol)]
    if target.fraction is not None:
        low = np.where(present, X, np.inf).min(axis=1)
        high = np.where(present, X, -np.inf).max(axis=1)
        ok &= (low >= target.fraction.min - 1e-12) & (high <= target.fraction.max + 1e-12)
    for family, bounds in target.family_share.items():
        members = [names.index(e) for e in FAMILIES[family] if e in names]
        share = X[:, members].sum(axis=1) if members else np.zeros(X.shape[0])
        ok &= (share >= bounds.min - 1e-12) & (share <= bounds.max + 1e-12)
    return ok


@dataclass(frozen=True)
class ResolvedTarget:
    """A statement fixed on a campaign's reachable inputs: a direction and a threshold on the value.

    ``sense`` +1: larger is better (maximize, above, equals on a binary property), -1: smaller is
    better. A value v meets the goal when ``sense·v ≥ sense·threshold`` (``inclusive``) or ``>``
    (``above`` / ``below``); ``equals`` meets it when ``|v − threshold| ≤ 1e-9``."""

    property: str
    sense: int
    threshold: float
    mode: Literal["top", "above", "below", "equals"]
    n_top: int | None = None  # top-fraction goal: ⌈f·N⌉

    def meets(self, values: np.ndarray) -> np.ndarray:
        """(…) bool: the values meet the goal (rules aside). Works on draws of shape (S, n) too."""
        v = np.asarray(values, dtype=np.float64)
        if self.mode == "equals":
            return np.abs(v - self.threshold) <= 1e-9
        if self.mode == "above":
            return v > self.threshold
        if self.mode == "below":
            return v < self.threshold
        return self.sense * v >= self.sense * self.threshold

    def utility(self, values: np.ndarray) -> np.ndarray:
        """The value oriented so that larger is better (what EI / PI / UCB maximise)."""
        return self.sense * np.asarray(values, dtype=np.float64)

    def describe(self) -> str:
        if self.mode == "top":
            word = "largest" if self.sense > 0 else "smallest"
            return f"{self.property}: the {self.n_top} {word} (threshold {self.threshold:.6g})"
        sign = {"equals": "=", "above": ">", "below": "<"}[self.mode]
        return f"{self.property} {sign} {self.threshold:.6g}"


def resolve_target(
    target: TargetConfig, values: np.ndarray, rules: np.ndarray | None = None
) -> ResolvedTarget:
    """Fix the statement on the reachable inputs' values (and, for a top fraction, on the inputs that
    obey the rules: the best ⌈f·N⌉ of those)."""
    assert target.property is not None
    values = np.asarray(values, dtype=np.float64)
    if target.equals is not None:
        return ResolvedTarget(target.property, 1, float(target.equals), "equals")
    if target.above is not None:
        return ResolvedTarget(target.property, 1, float(target.above), "above")
    if target.below is not None:
        return ResolvedTarget(target.property, -1, float(target.below), "below")
    if target.goal is None:
        raise ArcloopError(
            f"target: property {target.property!r} has no goal; add equals, above, below or goal"
        )
    sense = 1 if target.goal == "maximize" else -1
    eligible = values if rules is None else values[np.asarray(rules, dtype=bool)]
    if eligible.size == 0:
        raise ArcloopError("target: no reachable input obeys the composition rules; loosen them")
    n_top = max(1, math.ceil(target.top_fraction * eligible.size - 1e-9))
    ranked = np.sort(sense * eligible)[::-1]
    return ResolvedTarget(target.property, sense, float(sense * ranked[n_top - 1]), "top", n_top)


def probability_of_target(
    resolved: ResolvedTarget, draws: np.ndarray, rules: np.ndarray | None = None
) -> np.ndarray:
    """(n,) P(target): the share of the posterior draws (S, n) of the property that meet the goal,
    times the composition rules (0 where a candidate breaks one)."""
    p = resolved.meets(np.asarray(draws)).mean(axis=0)
    return p if rules is None else p * np.asarray(rules, dtype=np.float64)


__all__ = [
    "Bounds",
    "ResolvedTarget",
    "TargetConfig",
    "composition_rules_mask",
    "probability_of_target",
    "resolve_target",
    "source_defaults",
]
