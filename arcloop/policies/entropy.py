"""Entropy-weighted batch selection: trade mean probability against exploration entropy.

Definitions (all entropies are Shannon entropies in nats of a histogram, 0 ln 0 = 0, normalised):

- Step direction of a latent point z: u = (z − z_nn) / ‖z − z_nn‖, z_nn the nearest labelled point
  (the latent origin, the prior mean, when nothing is labelled); a zero-length step has no direction.
- Direction bins: for d = 2, the angle θ = atan2(u₂, u₁) falls in one of ``bins`` equal bins over
  [−π, π), bin b = ⌊(θ + π) / (2π) · bins⌋ (θ = π wraps to bin 0). For d ≠ 2 the bins are the 2d
  signed coordinate axes: u goes to the axis ±e_j of its largest |u_j| (ties to the lower j), i.e.
  the nearest of the 2d reference directions ±e_j (cells of equal area on the sphere).
- Directional entropy of a set of steps: E_dir = H(counts per bin) / ln(number of bins), in [0, 1].
  The cells are those of ``arcloop.metrics.direction_bin_index``, so the policy raises exactly the
  ``bias/direction_entropy`` the campaign logs. Steps without a direction are left out.
- Coverage entropy: the latent space is cut into a fixed grid of cubes of side ``cell`` (cell index
  ⌊z / cell⌋ per coordinate). With n_c the occupancy counts of the labelled points together with
  the batch, N = Σ n_c = m + |S|, the coverage entropy is the total (not per-point) Shannon
  entropy E_cov = N·H(n / N) / ln(m + k) = (N ln N − Σ n_c ln n_c) / ln(m + k), k the batch size.
  Why total: the labelled set holds m ≫ k points, so the per-point entropy moves by O(1/m) per
  added point and β would have to grow with m; the gain of the total entropy for a candidate in a
  cell holding c points, [(N+1) ln(N+1) − N ln N − (c+1) ln(c+1) + c ln c] / ln(m + k), stays of
  order 1: about 1 for an empty cell, about 0 for a cell holding nearly everything (it is close to
  the cell's surprisal ln((N+1)/(c+1)) in units of ln(m + k)).

The batch S is built greedily: start empty; at each step add the candidate i not yet in S that
maximises p̄_i + β·ΔE_i, where ΔE_i = E(S ∪ {i}) − E(S), E = E_dir (``mode="direction"``), E_cov
(``"coverage"``) or E_dir + E_cov (``"both"``). E_dir is taken over the steps of the batch (the
labelled set provides their origins: the batch is small, so its normalised entropy is the
quantity to gain), E_cov over the labelled set and the batch. With E_dir the first pick is always
the top p̄ (a single step has entropy 0); later picks trade up to β·ΔE of p̄ for a new direction.

To stay fast for 10⁵ candidates the construction runs on the ``top_m`` candidates with the highest
p̄ (ties to the lower index), every gain vectorised over them: O(n + k·top_m). With β = 0 the batch
is exactly :class:`~arcloop.policies.greedy.GreedyPolicy`'s.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import xlogy

from arcloop.metrics import direction_bin_index, n_direction_bins
from arcloop.policies import _params
from arcloop.policies.base import Candidates, Context, check_request, check_rng, top_k


def _unit_steps(z: np.ndarray, labelled_z: np.ndarray) -> np.ndarray:
    """(n, d) unit steps from each point's nearest labelled point (from the origin if none), row for row
    with ``z``; zero rows where a point coincides with it (the metric drops those, the policy must not)."""
    z = np.asarray(z, dtype=np.float64)
    labelled_z = np.asarray(labelled_z, dtype=np.float64)
    if labelled_z.shape[0] == 0:
        steps = z.copy()
    else:
        _, nearest = cKDTree(labelled_z).query(z, k=1)
        steps = z - labelled_z[nearest]
    norms = np.linalg.norm(steps, axis=1, keepdims=True)
    return np.divide(steps, norms, out=np.zeros_like(steps), where=norms > 0.0)


def _direction_cells(U: np.ndarray, bins: int | None) -> np.ndarray:
    """(n,) cell of each step in :func:`arcloop.metrics.direction_bin_index`'s histogram; -1 for no step."""
    cells = np.full(U.shape[0], -1, dtype=np.int64)
    moving = (U != 0.0).any(axis=1)
    cells[moving] = direction_bin_index(U[moving], bins)
    return cells


def _total_gain(counts: np.ndarray, bin_of: np.ndarray) -> np.ndarray:
    """Gain, in nats, of the total entropy N·H when one point joins bin ``bin_of[i]``."""
    total = counts.sum()
    c = counts[bin_of]
    grow = xlogy(total + 1.0, total + 1.0) - xlogy(total, total)
    return grow - (xlogy(c + 1.0, c + 1.0) - xlogy(c, c))


def _gain(counts: np.ndarray, bin_of: np.ndarray) -> np.ndarray:
    """Gain, in nats, of the entropy H when one point joins bin ``bin_of[i]`` (0 where bin_of < 0)."""
    total = counts.sum()
    plogp = xlogy(counts, counts).sum()
    before = np.log(total) - plogp / total if total > 0 else 0.0
    valid = bin_of >= 0
    c = counts[np.where(valid, bin_of, 0)]
    after = np.log(total + 1.0) - (plogp - xlogy(c, c) + xlogy(c + 1.0, c + 1.0)) / (total + 1.0)
    return np.where(valid, after - before, 0.0)


class EntropyPolicy:
    """Greedy batch maximising p̄ + β·ΔE (directional and/or coverage entropy; see the module docstring)."""

    name: ClassVar[str] = "entropy"
    summary: ClassVar[str] = "greedy batch of p̄ + β·ΔE, ΔE the gain in directional / coverage entropy"
    param_docs: ClassVar[dict[str, str]] = {
        "beta": "weight β >= 0 of the entropy gain ΔE against p̄ (ΔE is of order 1 per pick or less)",
        "mode": "E: 'direction' (step directions of the batch), 'coverage' (latent cells, with the labelled "
        "set), or 'both' (the sum)",
        "bins": "angle bins over [-π, π) for the step directions when d = 2 (>= 2); otherwise the 2d axes",
        "cell": "side of the coverage grid cells, in latent units (> 0)",
        "top_m": "the batch is built among the top_m candidates by p̄ (>= 1; at least k are used)",
    }

    def __init__(
        self, beta: float = 0.5, mode: str = "direction", bins: int = 8, cell: float = 0.5, top_m: int = 512
    ) -> None:
        self.beta = _params.real(self.name, "beta", beta)
        self.mode = _params.choice(self.name, "mode", mode, ("direction", "coverage", "both"))
        self.bins = _params.integer(self.name, "bins", bins, minimum=2)
        self.cell = _params.real(self.name, "cell", cell, strict=True)
        self.top_m = _params.integer(self.name, "top_m", top_m, minimum=1)

    def __repr__(self) -> str:
        return (
            f"EntropyPolicy(beta={self.beta!r}, mode={self.mode!r}, bins={self.bins!r}, cell={self.cell!r}, "
            f"top_m={self.top_m!r})"
        )

    def select(
        self, candidates: Candidates, context: Context, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(min(k, n),) distinct indices in the order they joined the batch. ``rng`` is unused."""
        k = check_request(candidates, context, k)
        check_rng(rng)
        pool = top_k(candidates.p_mean, max(self.top_m, k))
        if self.beta == 0.0:
            return pool[:k]
        p = candidates.p_mean[pool]
        z = candidates.z[pool]
        labelled = context.labelled_z
        m = labelled.shape[0]

        use_direction = self.mode in ("direction", "both")
        use_coverage = self.mode in ("coverage", "both")
        if use_direction:
            bins = self.bins if z.shape[1] == 2 else None  # d != 2: the 2d signed axes
            n_bins = n_direction_bins(z.shape[1], bins)
            dir_bin = _direction_cells(_unit_steps(z, labelled), bins)
            dir_counts = np.zeros(n_bins)
            dir_norm = np.log(n_bins)
        if use_coverage:
            cells = np.floor(np.concatenate([labelled, z]) / self.cell).astype(np.int64)
            _, cell_id = np.unique(cells, axis=0, return_inverse=True)
            cell_id = cell_id.reshape(-1)
            cov_counts = np.bincount(cell_id[:m], minlength=int(cell_id.max()) + 1).astype(np.float64)
            cov_bin = cell_id[m:]
            cov_norm = np.log(m + k) if m + k > 1 else 1.0

        chosen: list[int] = []
        available = np.ones(pool.size, dtype=bool)
        for _ in range(k):
            gain = np.zeros(pool.size)
            if use_direction:
                gain += _gain(dir_counts, dir_bin) / dir_norm
            if use_coverage:
                gain += _total_gain(cov_counts, cov_bin) / cov_norm
            objective = np.where(available, p + self.beta * gain, -np.inf)
            # argmax takes the first maximum: pool is in (−p̄, index) order, so ties go to greedy's choice.
            best = int(np.argmax(objective))
            chosen.append(best)
            available[best] = False
            if use_direction and dir_bin[best] >= 0:
                dir_counts[dir_bin[best]] += 1.0
            if use_coverage:
                cov_counts[cov_bin[best]] += 1.0
        return pool[np.asarray(chosen, dtype=np.int64)]
