"""``synthetic``: an analytic ground truth with a known anisotropy, on a frame that never moves.

The frame is fixed once for all campaigns: the 8 descriptors of :func:`arcloop.materials.descriptor_matrix`,
standardised (mean and population standard deviation of the 1,375 packaged alloys,
:func:`arcloop.data.alloy_fractions`), projected on their first ``dim`` principal axes (SVD of the
standardised dataset matrix; each axis signed so that its largest-|loading| descriptor is positive). A
composition's frame coordinates ``f = frame_coordinates(X)`` therefore depend on the composition alone —
not on a latent space, a retrain or the time it was proposed — and so does its label.

The landscape is a sum of rotated anisotropic Gaussian bumps, one per centre c_k:

    g(f) = Σ_k exp(−½ m_k(f)²),   m_k² = (a/σ₁)² + (b/σ₂)² + Σ_{i≥2} (f_i − c_ki)² / w²

with a, b the coordinates of f − c_k along the unit direction u = (cos θ, sin θ, 0, …) and its
normal in the (f₀, f₁) plane, θ = ``angle_deg``, σ₁ = w·√r, σ₂ = w/√r, r = ``anisotropy``,
w = ``width``. Single phase iff g(f) ≥ ``threshold``. Since σ₁σ₂ = w², changing the anisotropy
changes the shape of the target region, not its size: an isolated bump's positive region is an
ellipse with semi-axes σ·√(2 ln(1/threshold)) and area 2π w² ln(1/threshold) for every r.

Defaults (one centre at f = (1, 0), w = 1, r = 4, θ = 30°, threshold ½; dim 2): 21.4 % of the dataset's
alloys are labelled single phase (16.1 % with dim 3, the extra coordinate narrowing the bump), in the part
of the frame where the real single-phase alloys lie (their mean is f ≈ (0.92, 0.09)).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Annotated, Any, ClassVar

import numpy as np
from annotated_types import Ge, Interval

from arcloop.data import DESCRIPTOR_COLUMNS, alloy_fractions, alloy_labels
from arcloop.errors import ArcloopError
from arcloop.materials import descriptor_matrix
from arcloop.oracles.base import (
    DEFAULT_COST_PER_LABEL,
    BaseOracle,
    NonNegative,
    Positive,
    Seed,
    agreement,
    all_ok,
)
from arcloop.params import validated_init

N_DESCRIPTORS = len(DESCRIPTOR_COLUMNS)
DEFAULT_CENTRE = (1.0, 0.0)
"""The default bump's centre in the first two frame coordinates (further coordinates 0)."""


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def fit_descriptor_frame(D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardisation and principal axes of (n, 8) descriptors: ``(mean, scale, axes, variance_ratio)``.

    ``mean``, ``scale`` (8,): per-descriptor mean and population standard deviation; ``axes`` (8, 8): the
    principal axes of the standardised descriptors as rows, by decreasing variance, each signed so that its
    largest-|loading| entry is positive; ``variance_ratio`` (8,): the share of the standardised variance
    along each axis. Read-only arrays.
    """
    mean, scale = D.mean(axis=0), D.std(axis=0)
    _, singular, axes = np.linalg.svd((D - mean) / scale, full_matrices=False)
    # An SVD fixes each axis up to its sign; the largest loading positive makes the frame deterministic.
    largest = axes[np.arange(axes.shape[0]), np.abs(axes).argmax(axis=1)]
    axes = axes * np.sign(largest)[:, None]
    ratio = singular**2 / (singular**2).sum()
    return _read_only(mean), _read_only(scale), _read_only(axes), _read_only(ratio)


@lru_cache(maxsize=1)
def descriptor_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fixed frame: :func:`fit_descriptor_frame` of the 1,375 packaged alloys, fitted once per process."""
    return fit_descriptor_frame(descriptor_matrix(alloy_fractions()))


def frame_coordinates(X: np.ndarray, dim: int = 2, validate: bool = True) -> np.ndarray:
    """(n, dim) coordinates of (n, 30) compositions on the first ``dim`` axes of :func:`descriptor_frame`."""
    if not 1 <= dim <= N_DESCRIPTORS:
        raise ArcloopError(f"dim: the descriptor frame has 1 to {N_DESCRIPTORS} axes, got {dim}")
    mean, scale, axes, _ = descriptor_frame()
    return ((descriptor_matrix(X, validate=validate) - mean) / scale) @ axes[:dim].T


class SyntheticOracle(BaseOracle):
    """Exact truth on a fixed descriptor-PCA frame: thresholded sum of rotated anisotropic Gaussian bumps."""

    name: ClassVar[str] = "synthetic"
    requires_latent: ClassVar[bool] = False

    @validated_init
    def __init__(
        self,
        dim: Annotated[int, Interval(ge=2, le=N_DESCRIPTORS)] = 2,
        anisotropy: Annotated[float, Ge(1.0)] = 4.0,
        angle_deg: float = 30.0,
        width: Positive = 1.0,
        centres: list[list[float]] | None = None,
        threshold: Positive = 0.5,
        seed: Seed = 0,
        cost_per_label: NonNegative = DEFAULT_COST_PER_LABEL,
    ) -> None:
        super().__init__(seed=seed, cost_per_label=cost_per_label)
        if centres is None:
            points = np.zeros((1, dim))
            points[0, :2] = DEFAULT_CENTRE
        else:
            points = np.asarray(centres, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] != dim:
            raise ArcloopError(
                f"synthetic.centres: expected a non-empty list of {dim}-D points (dim, the number of "
                f"frame axes), got shape {points.shape}"
            )
        if not np.isfinite(points).all():
            raise ArcloopError("synthetic.centres: coordinates must be finite")
        self.dim = dim
        self.anisotropy = anisotropy
        self.angle_deg = angle_deg
        self.width = width
        self.centres = points
        self.threshold = threshold
        self.sigma_major = width * math.sqrt(anisotropy)
        self.sigma_minor = width / math.sqrt(anisotropy)
        theta = math.radians(angle_deg)
        self.direction = np.zeros(dim)
        self.direction[:2] = (math.cos(theta), math.sin(theta))
        self.normal = np.zeros(dim)
        self.normal[:2] = (-math.sin(theta), math.cos(theta))

    def frame_coordinates(self, X: np.ndarray, validate: bool = True) -> np.ndarray:
        """(n, dim) coordinates of (n, 30) compositions in the oracle's fixed frame."""
        return frame_coordinates(X, self.dim, validate=validate)

    def _coordinates(self, coordinates: np.ndarray) -> np.ndarray:
        F = np.asarray(coordinates, dtype=np.float64)
        if F.ndim != 2 or F.shape[1] != self.dim:
            raise ArcloopError(
                f"coordinates: expected shape (n, {self.dim}) frame coordinates (frame_coordinates(X)), "
                f"got {F.shape}"
            )
        if not np.isfinite(F).all():
            raise ArcloopError("coordinates: frame coordinates must be finite")
        return F

    def score(self, coordinates: np.ndarray) -> np.ndarray:
        """(n,) landscape value g(f) at (n, dim) frame coordinates."""
        F = self._coordinates(coordinates)
        total = np.zeros(F.shape[0])
        for centre in self.centres:
            y = F - centre
            a = y @ self.direction
            b = y @ self.normal
            rest = np.einsum("ni,ni->n", y[:, 2:], y[:, 2:])
            total += np.exp(
                -0.5 * ((a / self.sigma_major) ** 2 + (b / self.sigma_minor) ** 2 + rest / self.width**2)
            )
        return total

    def truth_at(self, coordinates: np.ndarray) -> np.ndarray:
        """(n,) int64 exact labels at (n, dim) frame coordinates: 1 iff g(f) ≥ threshold."""
        return (self.score(coordinates) >= self.threshold).astype(np.int64)

    def truth(self, X: np.ndarray, validate: bool = True) -> np.ndarray:
        """(n,) int64 exact labels of (n, 30) compositions: ``truth_at(frame_coordinates(X))``."""
        return self.truth_at(self.frame_coordinates(X, validate=validate))

    def truth_grid(
        self, bounds: tuple[float, float] = (-6.0, 6.0), resolution: int = 201
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact labels on a square grid of the (f₀, f₁) frame plane, other coordinates 0.

        The default bounds contain every dataset alloy's (f₀, f₁). Returns ``axis`` (resolution,) and
        ``labels`` (resolution, resolution) with ``labels[i, j]`` the truth at f₀ = axis[j], f₁ = axis[i]
        (image convention).
        """
        low, high = bounds
        if not (high > low) or resolution < 2:
            raise ArcloopError("truth_grid: need bounds (low, high) with high > low and resolution >= 2")
        axis = np.linspace(low, high, resolution)
        f0, f1 = np.meshgrid(axis, axis)
        F = np.zeros((f0.size, self.dim))
        F[:, 0], F[:, 1] = f0.ravel(), f1.ravel()
        return axis, self.truth_at(F).reshape(resolution, resolution)

    def semi_axes(self) -> tuple[float, float]:
        """(major, minor) semi-axes (frame units) of a lone bump's positive region; 0 if threshold ≥ 1."""
        if self.threshold >= 1.0:
            return 0.0, 0.0
        radius = math.sqrt(2.0 * math.log(1.0 / self.threshold))
        return self.sigma_major * radius, self.sigma_minor * radius

    def _label(
        self, X: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        # ``latent`` is ignored: the truth is a function of the composition alone.
        return self.truth(X, validate=False), all_ok(X.shape[0])

    def diagnostics(self) -> dict[str, Any]:
        """The frame, the landscape's geometry in it, and what it makes of the 1,375 dataset alloys."""
        major, minor = self.semi_axes()
        dataset = alloy_fractions()
        labels = self.truth(dataset)
        return {
            "frame": f"descriptor PCA, first {self.dim} of {N_DESCRIPTORS} axes (fitted once on the dataset)",
            "frame_variance_ratio": descriptor_frame()[3][: self.dim].tolist(),
            "direction": self.direction.tolist(),
            "sigma_major": self.sigma_major,
            "sigma_minor": self.sigma_minor,
            "bump_semi_axes": [major, minor],
            "bump_positive_area_2d": math.pi * major * minor,
            "n_centres": int(self.centres.shape[0]),
            "dataset_single_phase_share": float(labels.mean()),
            "agreement_with_real_labels": agreement(labels, alloy_labels()),
        }
