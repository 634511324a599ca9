"""Gaussian kernel sums of labelled latent points at candidate points: the accumulated bias B.

B(z) = Σ_j exp(−‖z − z_j‖² / (2 h²)) over the labelled points z_j, truncated at ‖z − z_j‖ > c·h
(c = ``truncate``, default 4: each dropped term is below exp(−8) ≈ 3e-4). It is an unnormalised
kernel density: the effective number of labelled points within about one bandwidth h of z, so it
grows as the loop keeps labelling the same region.

Two evaluations, chosen by dimension, both vectorised:
- d ≤ 3: linear binning of the labelled points on a grid (spacing h/8 for d ≤ 2, h/4 for d = 3,
  coarsened down to h/2 if the grid would exceed ``MAX_GRID_CELLS``), a separable Gaussian filter,
  and (multi)linear interpolation at the candidates: the usual binned KDE. Measured error: about
  1e-3 (d ≤ 2) and 1e-2 (d = 3) of max B. Cost: milliseconds to ~0.1 s for 10⁵ candidates, whatever m.
- d ≥ 4, or a grid too large even at h/2: direct sums in chunks of candidates (float32 terms,
  relative error ~1e-7), cost n·m kernel evaluations; callers that only need the top of a ranking
  evaluate a prefix (see :class:`arcloop.policies.uncertainty.UncertaintyAcquisition`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

GRID_POINTS_PER_BANDWIDTH = {1: 8, 2: 8, 3: 4}
MIN_GRID_POINTS_PER_BANDWIDTH = 2
MAX_GRID_CELLS = 2_000_000
_CHUNK_PAIRS = 2_000_000


class LabelledDensity:
    """B(z) for one labelled set and bandwidth, built once and evaluated at any candidate points.

    Args:
        labelled_z: (m, d) latent points of the labelled set (m may be 0: B = 0 everywhere).
        bandwidth: kernel standard deviation h, in latent units (> 0).
        truncate: cut-off radius in bandwidths (> 0).
    """

    def __init__(self, labelled_z: np.ndarray, bandwidth: float, truncate: float = 4.0) -> None:
        self.labelled_z = np.asarray(labelled_z, dtype=np.float64)
        self.bandwidth = float(bandwidth)
        self.truncate = float(truncate)
        self._grid: np.ndarray | None = None
        m, d = self.labelled_z.shape
        if m and d in GRID_POINTS_PER_BANDWIDTH:
            self._build_grid()

    def _grid_layout(self) -> tuple[int, np.ndarray, np.ndarray] | None:
        """(points per bandwidth, lower corner, shape) of the finest grid within MAX_GRID_CELLS."""
        h, d = self.bandwidth, self.labelled_z.shape[1]
        low_z, high_z = self.labelled_z.min(axis=0), self.labelled_z.max(axis=0)
        for per in range(GRID_POINTS_PER_BANDWIDTH[d], MIN_GRID_POINTS_PER_BANDWIDTH - 1, -1):
            spacing = h / per
            margin = self.truncate * h + 2.0 * spacing
            shape = np.ceil((high_z - low_z + 2.0 * margin) / spacing).astype(np.int64) + 2
            if np.prod(shape.astype(np.float64)) <= MAX_GRID_CELLS:
                return per, low_z - margin, shape
        return None

    def _build_grid(self) -> None:
        layout = self._grid_layout()
        if layout is None:
            return  # labelled points too spread out for a grid at this bandwidth: direct sums instead
        per, low, shape = layout
        d = self.labelled_z.shape[1]
        spacing = self.bandwidth / per
        u = (self.labelled_z - low) / spacing
        base = np.floor(u).astype(np.int64)
        frac = u - base
        grid = np.zeros(tuple(shape))
        for corner in np.ndindex(*(2,) * d):
            offset = np.asarray(corner)
            weight = np.prod(np.where(offset == 1, frac, 1.0 - frac), axis=1)
            np.add.at(grid, tuple((base + offset).T), weight)
        # gaussian_filter normalises its kernel to unit sum; rescale to the unnormalised exp(-r²/2h²).
        smoothed = ndimage.gaussian_filter(grid, sigma=float(per), truncate=self.truncate, mode="constant")
        self._grid = smoothed * (np.sqrt(2.0 * np.pi) * per) ** d
        self._low, self._spacing = low, spacing

    @property
    def is_cheap(self) -> bool:
        """True when evaluating B costs O(n) (nothing labelled, or the binned grid), not O(n·m)."""
        return self.labelled_z.shape[0] == 0 or self._grid is not None

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """(n,) B at the (n, d) points ``z``."""
        z = np.asarray(z, dtype=np.float64)
        m = self.labelled_z.shape[0]
        if m == 0 or z.shape[0] == 0:
            return np.zeros(z.shape[0])
        if self._grid is not None:
            coords = ((z - self._low) / self._spacing).T
            values = ndimage.map_coordinates(self._grid, coords, order=1, mode="constant", cval=0.0)
            return np.maximum(values, 0.0)
        return self._direct(z)

    def _direct(self, z: np.ndarray) -> np.ndarray:
        # float32 pairwise terms, summed in float64: relative error ~1e-7 of B, half the time of float64.
        labelled = self.labelled_z.astype(np.float32)
        sq_labelled = np.einsum("ij,ij->i", labelled, labelled)
        scale = np.float32(-0.5 / self.bandwidth**2)
        cutoff = np.float32((self.truncate * self.bandwidth) ** 2)
        out = np.empty(z.shape[0])
        chunk = max(1, _CHUNK_PAIRS // labelled.shape[0])
        for start in range(0, z.shape[0], chunk):
            block = z[start : start + chunk].astype(np.float32)
            sq = block @ labelled.T
            sq *= np.float32(-2.0)
            sq += np.einsum("ij,ij->i", block, block)[:, None]
            sq += sq_labelled[None, :]
            np.maximum(sq, np.float32(0.0), out=sq)
            beyond = sq > cutoff
            sq *= scale
            np.exp(sq, out=sq)
            sq[beyond] = 0.0
            out[start : start + chunk] = sq.sum(axis=1, dtype=np.float64)
        return out
