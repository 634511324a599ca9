"""``synthetic``: an analytic ground truth on the latent space, with a known anisotropy.

The landscape is a sum of rotated anisotropic Gaussian bumps, one per centre c_k:

    f(z) = Σ_k exp(−½ m_k(z)²),   m_k² = (a/σ₁)² + (b/σ₂)² + Σ_{i≥2} (z_i − c_ki)² / w²

with a, b the coordinates of z − c_k along the unit direction u = (cos θ, sin θ, 0, …) and its
normal in the (z₀, z₁) plane, θ = ``angle_deg``, σ₁ = w·√r, σ₂ = w/√r, r = ``anisotropy``,
w = ``width``. Single phase iff f(z) ≥ ``threshold``. Since σ₁σ₂ = w², changing the anisotropy
changes the shape of the target region, not its size: an isolated bump's positive region is an
ellipse with semi-axes σ·√(2 ln(1/threshold)) and area 2π w² ln(1/threshold) for every r.

The oracle reads the latent coordinates from ``label(compositions, latent=Z)``: the loop passes
the latent points it decoded into ``compositions``; the compositions are validated but unused.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from annotated_types import Ge

from arcloop.errors import ArcloopError
from arcloop.oracles.base import (
    DEFAULT_COST_PER_LABEL,
    BaseOracle,
    NonNegative,
    Positive,
    Seed,
    all_ok,
    check_latent,
)
from arcloop.oracles.params import validated_init


class SyntheticOracle(BaseOracle):
    """Exact truth on the latent space: thresholded sum of rotated anisotropic Gaussian bumps."""

    name: ClassVar[str] = "synthetic"
    requires_latent: ClassVar[bool] = True

    @validated_init
    def __init__(
        self,
        latent_dim: Annotated[int, Ge(2)] = 2,
        anisotropy: Annotated[float, Ge(1.0)] = 4.0,
        angle_deg: float = 30.0,
        width: Positive = 0.5,
        centres: list[list[float]] | None = None,
        threshold: Positive = 0.5,
        seed: Seed = 0,
        cost_per_label: NonNegative = DEFAULT_COST_PER_LABEL,
    ) -> None:
        super().__init__(seed=seed, cost_per_label=cost_per_label)
        points = np.zeros((1, latent_dim)) if centres is None else np.asarray(centres, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] != latent_dim:
            raise ArcloopError(
                f"synthetic.centres: expected a non-empty list of {latent_dim}-D points (latent_dim), "
                f"got shape {points.shape}"
            )
        if not np.isfinite(points).all():
            raise ArcloopError("synthetic.centres: coordinates must be finite")
        self.latent_dim = latent_dim
        self.anisotropy = anisotropy
        self.angle_deg = angle_deg
        self.width = width
        self.centres = points
        self.threshold = threshold
        self.sigma_major = width * math.sqrt(anisotropy)
        self.sigma_minor = width / math.sqrt(anisotropy)
        theta = math.radians(angle_deg)
        self.direction = np.zeros(latent_dim)
        self.direction[:2] = (math.cos(theta), math.sin(theta))
        self.normal = np.zeros(latent_dim)
        self.normal[:2] = (-math.sin(theta), math.cos(theta))

    def _latent_dim(self) -> int:
        return self.latent_dim

    def score(self, latent: np.ndarray) -> np.ndarray:
        """(n,) landscape value f(z) at (n, latent_dim) points."""
        Z = check_latent(latent, np.shape(latent)[0], self.name, True, self.latent_dim)
        total = np.zeros(Z.shape[0])
        for centre in self.centres:
            y = Z - centre
            a = y @ self.direction
            b = y @ self.normal
            rest = np.einsum("ni,ni->n", y[:, 2:], y[:, 2:])
            total += np.exp(
                -0.5 * ((a / self.sigma_major) ** 2 + (b / self.sigma_minor) ** 2 + rest / self.width**2)
            )
        return total

    def truth(self, latent: np.ndarray) -> np.ndarray:
        """(n,) int64 exact labels at (n, latent_dim) points: 1 iff f(z) ≥ threshold."""
        return (self.score(latent) >= self.threshold).astype(np.int64)

    def truth_grid(
        self, bounds: tuple[float, float] = (-3.0, 3.0), resolution: int = 201
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact labels on a square grid of the (z₀, z₁) plane, other coordinates 0.

        Returns ``axis`` (resolution,) and ``labels`` (resolution, resolution) with
        ``labels[i, j]`` the truth at z₀ = axis[j], z₁ = axis[i] (image convention).
        """
        low, high = bounds
        if not (high > low) or resolution < 2:
            raise ArcloopError("truth_grid: need bounds (low, high) with high > low and resolution >= 2")
        axis = np.linspace(low, high, resolution)
        z0, z1 = np.meshgrid(axis, axis)
        Z = np.zeros((z0.size, self.latent_dim))
        Z[:, 0], Z[:, 1] = z0.ravel(), z1.ravel()
        return axis, self.truth(Z).reshape(resolution, resolution)

    def semi_axes(self) -> tuple[float, float]:
        """(major, minor) semi-axes of one isolated bump's positive region (0 if threshold ≥ 1)."""
        if self.threshold >= 1.0:
            return 0.0, 0.0
        radius = math.sqrt(2.0 * math.log(1.0 / self.threshold))
        return self.sigma_major * radius, self.sigma_minor * radius

    def _label(
        self, X: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.truth(latent), all_ok(X.shape[0])

    def diagnostics(self) -> dict[str, Any]:
        """The geometry of the landscape: direction, widths and one bump's positive ellipse."""
        major, minor = self.semi_axes()
        return {
            "direction": self.direction.tolist(),
            "sigma_major": self.sigma_major,
            "sigma_minor": self.sigma_minor,
            "bump_semi_axes": [major, minor],
            "bump_positive_area_2d": math.pi * major * minor,
            "n_centres": int(self.centres.shape[0]),
        }
