"""Entropy-weighted acquisition: trade mean probability against the exploration entropy of the batch
together with everything explored so far.

Frame and sets. Every point is in the current model's latent frame: the explored set is
``context.labelled_z`` (m rows: the initial set and every earlier proposal, whatever its status; see
:class:`arcloop.policies.base.Context`), ``context.explored_origin`` gives each row's iteration (-1 for
the initial set). All entropies are Shannon entropies in nats, 0 ln 0 = 0.

- Step direction of a point z from a reference set R: u = (z − r) / ‖z − r‖, r the point of R nearest
  to z (the latent origin, the prior mean, when R is empty); a zero-length step has no direction and
  is left out of every histogram.
- Direction cells: those of :func:`arcloop.metrics.direction_bin_index`: for d = 2, ``bins`` equal
  angle sectors over [−π, π); for d ≠ 2 the 2d signed axes ±e_j (the nearest reference direction).
- Direction history: each explored row j proposed by the loop (origin o_j >= 0) contributes its step
  from the explored rows with origin < o_j, i.e. from what was known before its batch, evaluated in the
  current frame: the step ``bias/direction_entropy`` measured for j's batch, in today's frame. The
  initial set contributes no steps (nobody chose its directions), nor does anything when
  ``explored_origin`` is None. h_b = history steps in cell b, N_h = Σ h_b.
- A batch candidate's step is from the nearest explored row (any origin, any status): the step the
  metric measures for this batch.
- Directional entropy of the batch S with the history: counts c = h + (steps of S per cell),
  N = Σ c, E_dir = (N ln N − Σ_b c_b ln c_b) / ln(N_h + k), k the batch size.
- Coverage entropy: the latent space is cut into a fixed grid of cubes of side ``cell`` (cell index
  ⌊z / cell⌋ per coordinate); n_c the occupancy of the explored set together with S, N = m + |S|,
  E_cov = (N ln N − Σ_c n_c ln n_c) / ln(m + k).
- Why total entropies (N·H, not H) over ln(history + k): the history holds N_h ≫ k steps, so the
  per-point entropy would move by O(1/N_h) per added point and β would have to grow with the history.
  The gain of the total entropy for a point joining a cell that holds c of N,
  (N+1) ln(N+1) − N ln N − (c+1) ln(c+1) + c ln c, is close to the cell's surprisal ln((N+1)/(c+1)),
  and the normaliser ln(N_h + k) makes it about 1 for an empty cell and about 0 for a cell holding
  nearly everything, whatever the length of the history. (A denominator ln(1) = 0 is replaced by 1.)

The acquisition is sequential: for the next slot, given the batch S so far, the score of candidate i is
p̄_i + β·ΔE_i, ΔE_i = E(S ∪ {i}) − E(S), E = E_dir (``mode="direction"``), E_cov (``"coverage"``) or
E_dir + E_cov (``"both"``). Without history the first pick of ``direction`` mode has ΔE = 0 (a single
step has no entropy) and is greedy's; with a history, a direction the loop already took often gains
nothing and a new one about 1.

To stay fast for 10⁵ candidates ΔE is evaluated, per slot, on the ``top_m`` candidates with the
highest p̄ among those the builder still has available (ties to the lower index; at least k of them);
the others are not offered (score −inf) for that slot, so a builder that excludes candidates draws in
the next ones by p̄. Cost O(n + top_m) per slot. With β = 0 the score is greedy's p̄ (static).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree
from scipy.special import xlogy

from arcloop.metrics import direction_bin_index, n_direction_bins
from arcloop.params import FiniteNonNegative, FinitePositive, params_repr, validated_init
from arcloop.policies.base import BatchScorer, Candidates, Context, StaticScorer, top_k

_UNKNOWN = -2


def _direction_cells(steps: np.ndarray, bins: int | None) -> np.ndarray:
    """(n,) cell of each step in :func:`arcloop.metrics.direction_bin_index`'s histogram; -1 for no step."""
    cells = np.full(steps.shape[0], -1, dtype=np.int64)
    moving = (steps != 0.0).any(axis=1)
    if moving.any():
        cells[moving] = direction_bin_index(steps[moving], bins)
    return cells


def _steps_from(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(n, d) steps z − r, r the nearest row of ``reference`` (the origin if it is empty)."""
    if reference.shape[0] == 0:
        return points.copy()
    _, nearest = cKDTree(reference).query(points, k=1)
    return points - reference[nearest]


def history_direction_counts(context: Context, bins: int | None) -> np.ndarray:
    """(cells,) counts h_b of the step directions of the explored proposals (see the module docstring)."""
    explored = context.labelled_z
    counts = np.zeros(n_direction_bins(explored.shape[1], bins))
    origin = context.explored_origin
    if origin is None or explored.shape[0] == 0:
        return counts
    for iteration in np.unique(origin[origin >= 0]):
        rows = origin == iteration
        cells = _direction_cells(_steps_from(explored[rows], explored[origin < iteration]), bins)
        counts += np.bincount(cells[cells >= 0], minlength=counts.size)
    return counts


def _total_gain(total: float, c: np.ndarray) -> np.ndarray:
    """Gain, in nats, of the total entropy N·H when one point joins a cell holding c of N = ``total``."""
    grow = xlogy(total + 1.0, total + 1.0) - xlogy(total, total)
    return grow - (xlogy(c + 1.0, c + 1.0) - xlogy(c, c))


def _normaliser(history: float, k: int) -> float:
    return float(np.log(history + k)) if history + k > 1 else 1.0


class _EntropyScorer(BatchScorer):
    def __init__(self, acquisition: EntropyAcquisition, candidates: Candidates, context: Context, k: int):
        self.p, self.z = candidates.p_mean, candidates.z
        self.beta = acquisition.beta
        self.pool_size = max(acquisition.top_m, k)
        explored = context.labelled_z
        self.direction = acquisition.mode in ("direction", "both")
        self.coverage = acquisition.mode in ("coverage", "both")
        n = candidates.n
        if self.direction:
            d = explored.shape[1]
            self.bins = acquisition.bins if d == 2 else None  # d != 2: the 2d signed axes
            self.tree = cKDTree(explored) if explored.shape[0] else None
            self.dir_counts = history_direction_counts(context, self.bins)
            self.dir_norm = _normaliser(self.dir_counts.sum(), k)
            self.dir_bin = np.full(n, _UNKNOWN, dtype=np.int64)
        if self.coverage:
            self.cell = acquisition.cell
            self.cov_counts: dict[bytes, int] = {}
            for key in self._keys(explored):
                self.cov_counts[key] = self.cov_counts.get(key, 0) + 1
            self.cov_total = explored.shape[0]
            self.cov_norm = _normaliser(explored.shape[0], k)
            self.cov_key: dict[int, bytes] = {}

    def _keys(self, z: np.ndarray) -> list[bytes]:
        cells = np.ascontiguousarray(np.floor(z / self.cell).astype(np.int64))
        return [row.tobytes() for row in cells]

    def _direction_bins(self, idx: np.ndarray) -> np.ndarray:
        unknown = idx[self.dir_bin[idx] == _UNKNOWN]
        if unknown.size:
            z = self.z[unknown]
            if self.tree is None:
                steps = z.copy()
            else:
                _, nearest = self.tree.query(z, k=1)
                steps = z - self.tree.data[nearest]
            self.dir_bin[unknown] = _direction_cells(steps, self.bins)
        return self.dir_bin[idx]

    def _cell_keys(self, idx: np.ndarray) -> list[bytes]:
        missing = [int(i) for i in idx if int(i) not in self.cov_key]
        if missing:
            for i, key in zip(missing, self._keys(self.z[missing]), strict=True):
                self.cov_key[i] = key
        return [self.cov_key[int(i)] for i in idx]

    def scores(self, available: np.ndarray) -> np.ndarray:
        masked = np.where(available, self.p, -np.inf)
        pool = top_k(masked, min(self.pool_size, int(np.count_nonzero(available))))
        gain = np.zeros(pool.size)
        if self.direction:
            cells = self._direction_bins(pool)
            moving = cells >= 0
            c = self.dir_counts[np.where(moving, cells, 0)]
            gain += np.where(moving, _total_gain(self.dir_counts.sum(), c), 0.0) / self.dir_norm
        if self.coverage:
            c = np.array([self.cov_counts.get(key, 0) for key in self._cell_keys(pool)], dtype=np.float64)
            gain += _total_gain(float(self.cov_total), c) / self.cov_norm
        out = np.full(self.p.shape[0], -np.inf)
        out[pool] = self.p[pool] + self.beta * gain
        return out

    def add(self, index: int) -> None:
        idx = np.array([index], dtype=np.int64)
        if self.direction:
            cell = int(self._direction_bins(idx)[0])
            if cell >= 0:
                self.dir_counts[cell] += 1.0
        if self.coverage:
            key = self._cell_keys(idx)[0]
            self.cov_counts[key] = self.cov_counts.get(key, 0) + 1
            self.cov_total += 1


class EntropyAcquisition:
    """Sequential score p̄ + β·ΔE, ΔE the gain in directional and/or coverage entropy of the batch
    together with everything explored so far (see the module docstring)."""

    name: ClassVar[str] = "entropy"
    summary: ClassVar[str] = (
        "sequential score p̄ + β·ΔE, ΔE the gain in directional / coverage entropy of batch + history"
    )

    @validated_init
    def __init__(
        self,
        beta: Annotated[
            FiniteNonNegative,
            Field(
                description="weight β of the entropy gain ΔE against p̄ (ΔE is of order 1 per pick or less)",
            ),
        ] = 0.5,
        mode: Annotated[
            Literal["direction", "coverage", "both"],
            Field(
                description="E: 'direction' (step directions of the explored proposals and the batch), "
                "'coverage' (latent cells of the explored set and the batch), or 'both' (the sum)"
            ),
        ] = "direction",
        bins: Annotated[
            int,
            Field(
                ge=2,
                description="angle bins over [-π, π) of the step directions when d = 2 (else the 2d axes)",
            ),
        ] = 8,
        cell: Annotated[
            FinitePositive,
            Field(description="side of the coverage grid cells, in latent units"),
        ] = 0.5,
        top_m: Annotated[
            int,
            Field(
                ge=1,
                description="ΔE is evaluated on the top_m available candidates by p̄ per slot (at least k)",
            ),
        ] = 512,
    ) -> None:
        self.beta = float(beta)
        self.mode = mode
        self.bins = int(bins)
        self.cell = float(cell)
        self.top_m = int(top_m)

    __repr__ = params_repr

    def start(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> BatchScorer:
        """The scorer of one batch (static p̄ when β = 0). ``rng`` is unused."""
        if self.beta == 0.0:
            return StaticScorer(candidates.p_mean)
        return _EntropyScorer(self, candidates, context, int(k))
