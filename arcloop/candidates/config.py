"""``candidates:`` of a campaign config: the source (latent or pool), how many, and the feasibility
constraints."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arcloop.data import ELEMENTS


def _check_elements(field: str, symbols: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if symbols is None:
        return None
    unknown = [s for s in symbols if s not in ELEMENTS]
    if unknown:
        raise ValueError(
            f"{field}: unknown element {unknown[0]!r}; use symbols of the basis: {' '.join(ELEMENTS)}"
        )
    return tuple(dict.fromkeys(symbols))


class FeasibilityConfig(BaseModel):
    """Which compositions may be proposed. Checked on the composition after fractions below
    ``element_threshold`` are zeroed, the rest renormalised and rounded to integer at.%."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_elements: int = Field(
        2, ge=1, le=len(ELEMENTS), description="fewest elements present (after thresholding)"
    )
    max_elements: int = Field(
        10, ge=1, le=len(ELEMENTS), description="most elements present (after thresholding)"
    )
    element_threshold: float = Field(
        0.02,
        ge=0.0,
        le=0.5,
        description="fractions below this are set to 0 before anything else (atomic fraction)",
    )
    allowed: tuple[str, ...] | None = Field(None, description="elements that may appear (None: all 30)")
    forbidden: tuple[str, ...] = Field((), description="elements that must not appear")
    max_fraction: float = Field(1.0, gt=0.0, le=1.0, description="largest atomic fraction of any one element")

    @field_validator("allowed")
    @classmethod
    def _allowed_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _check_elements("allowed", value)

    @field_validator("forbidden")
    @classmethod
    def _forbidden_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_elements("forbidden", value) or ()

    @model_validator(mode="after")
    def _consistent(self) -> FeasibilityConfig:
        if self.min_elements > self.max_elements:
            raise ValueError(
                f"min_elements ({self.min_elements}) > max_elements ({self.max_elements}); "
                "lower min_elements or raise max_elements"
            )
        both = sorted(set(self.allowed or ()) & set(self.forbidden))
        if both:
            raise ValueError(
                f"allowed and forbidden both list {' '.join(both)}; keep each element in one list"
            )
        permitted = int(self.permitted_mask.sum())
        if permitted < self.min_elements:
            raise ValueError(
                f"min_elements ({self.min_elements}) exceeds the {permitted} permitted elements; "
                "allow more elements or lower min_elements"
            )
        if self.max_fraction * min(self.max_elements, permitted) < 1.0 - 1e-12:
            raise ValueError(
                f"max_fraction ({self.max_fraction}) × at most {min(self.max_elements, permitted)} elements "
                "< 1: no composition is feasible; raise max_fraction or max_elements"
            )
        return self

    @property
    def permitted_mask(self) -> np.ndarray:
        """(30,) bool: elements that may appear, in :data:`arcloop.data.ELEMENTS` order."""
        mask = np.ones(len(ELEMENTS), dtype=bool) if self.allowed is None else np.isin(ELEMENTS, self.allowed)
        return mask & ~np.isin(ELEMENTS, self.forbidden)


class CandidateConfig(BaseModel):
    """Where candidates come from and which are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["latent", "pool"] = Field(
        "latent",
        description="'latent': sample and decode latent points; 'pool': encode the unlabelled alloys",
    )
    n_candidates: int = Field(
        2000, ge=1, le=10_000_000, description="latent: points drawn before the feasibility filter"
    )
    sampler: Literal["sobol", "prior"] = Field(
        "sobol", description="latent: scrambled Sobol points in a box, or Gaussian prior samples"
    )
    region: float | tuple[float, ...] | None = Field(
        None,
        description="latent: Sobol box half-width(s) (default 2.5) or prior standard deviation(s) "
        "(default 1.0), one number or one per latent dimension",
    )
    local_fraction: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="latent: share of the points drawn as perturbations of labelled points",
    )
    local_scale: float = Field(
        0.25, gt=0.0, description="latent: standard deviation of those perturbations (latent units)"
    )
    target_p_single: float = Field(
        1.0, ge=0.0, le=1.0, description="latent: phase label the decoder conditions on"
    )
    n_samples: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="at most T of the surrogate's posterior draws per candidate; None: all of them",
    )
    deduplicate: Literal["exact", "percent", "none"] = Field(
        "exact",
        description="pool: which rows count as the same alloy (same formula, same at 1 at.%, or keep all); "
        "the latent source always deduplicates at 1 at.%",
    )
    feasibility: FeasibilityConfig = Field(default_factory=FeasibilityConfig)

    @field_validator("region")
    @classmethod
    def _region_positive(cls, value: float | tuple[float, ...] | None) -> float | tuple[float, ...] | None:
        if value is None:
            return None
        values = (value,) if isinstance(value, int | float) else tuple(value)
        if not values or not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"region: every half-width / scale must be a finite number > 0, got {value!r}")
        return value

    def region_for(self, latent_dim: int) -> np.ndarray:
        """(d,) box half-widths (sobol) or standard deviations (prior) for a d-dimensional latent space."""
        from arcloop.errors import ArcloopError

        value = self.region if self.region is not None else (2.5 if self.sampler == "sobol" else 1.0)
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if values.size == 1:
            return np.full(latent_dim, float(values[0]))
        if values.size != latent_dim:
            raise ArcloopError(
                f"region: {values.size} values for a {latent_dim}-dimensional latent space; "
                f"give 1 or {latent_dim}"
            )
        return values
