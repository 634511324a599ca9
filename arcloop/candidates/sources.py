"""Candidate generation (``latent`` and ``pool`` sources) and the feasibility filter.

The filter, in order: (1) fractions below ``element_threshold`` are set to 0 and each row is
renormalised (decoded compositions carry many tiny fractions); (2) rows are rounded to integer
atomic percentages (largest remainder, ties by basis order: row-for-row the same as
:func:`arcloop.materials.integer_percentages`); (3) the element-count, allowed / forbidden and
max-fraction rules are checked on the rounded rows; (4) duplicates at 1 at.% resolution are dropped
(the first occurrence stays) and so is anything equal, at that resolution and after the same
threshold, to an already labelled composition. The ``pool`` source keeps real compositions as they
are and, by default, only drops exact duplicates (see :func:`pool_candidates`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from arcloop.candidates.config import CandidateConfig, FeasibilityConfig
from arcloop.errors import ArcloopError
from arcloop.materials import N_ELEMENTS, round_to_percent, validate_compositions
from arcloop.policies.base import Candidates, LatentModel


def _threshold(rows: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero fractions below ``threshold`` and renormalise; returns (rows, row had anything left)."""
    kept = np.where(rows < threshold, 0.0, rows)
    sums = kept.sum(axis=1)
    alive = sums > 0.0
    out = np.zeros_like(kept)
    out[alive] = kept[alive] / sums[alive, None]
    return out, alive


def apply_feasibility(
    X: np.ndarray, feasibility: FeasibilityConfig, rounded: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Steps (1)–(3) of the filter on (n, 30) non-negative rows.

    ``rounded=False`` (real alloys of the pool, which are proposed as they are): the rules are checked
    on the thresholded rows themselves, not on their 1 at.% rounding, so an element at 0.6 at.% counts
    when the threshold lets it (the target's own count, :func:`arcloop.materials.n_elements`).

    Returns ``(percent, feasible)``: (n, 30) int64 rounded percentages of the thresholded rows and an
    (n,) bool mask of the rows that satisfy every rule. Rows need not sum to 1 exactly (they are
    renormalised), but must be finite and non-negative.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != N_ELEMENTS:
        raise ArcloopError(f"compositions: expected shape (n, {N_ELEMENTS}), got {X.shape}")
    if not np.isfinite(X).all() or (X < 0.0).any():
        raise ArcloopError("compositions: fractions must be finite and non-negative")
    rows, alive = _threshold(X, feasibility.element_threshold)
    percent = round_to_percent(rows)
    percent[~alive] = 0
    present = percent > 0 if rounded else rows > 0
    count = present.sum(axis=1)
    feasible = alive & (count >= feasibility.min_elements) & (count <= feasibility.max_elements)
    feasible &= ~(present & ~feasibility.permitted_mask[None, :]).any(axis=1)
    largest = percent.max(axis=1) if rounded else rows.max(axis=1) * 100.0
    feasible &= largest <= feasibility.max_fraction * 100.0 + 1e-9
    return percent, feasible


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One sortable void value per row of an integer array (the bytes of the row)."""
    small = np.ascontiguousarray(rows.astype(np.int8 if rows.max(initial=0) <= 127 else np.int64))
    return small.view(np.dtype((np.void, small.dtype.itemsize * small.shape[1]))).ravel()


def _unique_and_new(keys_of: np.ndarray, keep: np.ndarray, labelled: np.ndarray | None) -> np.ndarray:
    """Step (4): ``keep`` restricted to the first occurrence of each row of ``keys_of`` (integer
    rows: percentages, or finer) that is not a row of ``labelled`` (same encoding)."""
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return keep.copy()
    stacked = keys_of[rows] if labelled is None else np.concatenate([keys_of[rows], labelled])
    keys = _row_keys(stacked)
    own, known = keys[: rows.size], keys[rows.size :]
    _, first = np.unique(own, return_index=True)
    mask = np.zeros(rows.size, dtype=bool)
    mask[first] = True
    if known.size:
        mask &= ~np.isin(own, known)
    out = np.zeros_like(keep)
    out[rows[mask]] = True
    return out


def _labelled_rows(labelled_compositions: np.ndarray | None, threshold: float) -> np.ndarray | None:
    """Labelled compositions, thresholded, at 1 at.% resolution (None if there are none)."""
    if labelled_compositions is None:
        return None
    labelled = np.asarray(labelled_compositions, dtype=np.float64)
    if labelled.size == 0:
        return None
    labelled = validate_compositions(labelled, name="labelled_compositions")
    rows, _ = _threshold(labelled, threshold)
    return round_to_percent(rows)


_EXACT_SCALE = 1e9  # "exact" duplicates: equal to 1e-9 in every fraction (the same formula)


def _probabilities(model: LatentModel, X: np.ndarray, n_samples: int | None) -> np.ndarray:
    """The model's posterior draws of P(single phase) of X: at most ``n_samples`` rows (the model's own
    number when None; a surrogate with fewer genuine draws returns fewer rather than repeat one)."""
    raw = model.predict_proba_samples(X) if n_samples is None else model.predict_proba_samples(X, n_samples)
    p = np.asarray(raw, dtype=np.float64)
    if (
        p.ndim != 2
        or p.shape[1] != X.shape[0]
        or p.shape[0] < 1
        or (n_samples is not None and p.shape[0] > n_samples)
    ):
        limit = "T" if n_samples is None else n_samples
        raise ArcloopError(
            f"model.predict_proba_samples returned shape {p.shape}, expected (S, {X.shape[0]}) "
            f"with 1 <= S <= {limit}"
        )
    return p


def _latent_dim(model: LatentModel) -> int:
    probe = np.full((1, N_ELEMENTS), 1.0 / N_ELEMENTS)
    return int(np.asarray(model.encode(probe)).shape[1])


def _check_n_samples(n_samples: int | None) -> int | None:
    if n_samples is None:
        return None
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ArcloopError(f"n_samples: expected an integer T >= 1, got {n_samples!r}")
    return int(n_samples)


def _sobol(d: int, rng: np.random.Generator) -> qmc.Sobol:
    """A scrambled Sobol engine drawing its scrambling from ``rng`` (scipy >= 1.15 names it ``rng``)."""
    try:
        return qmc.Sobol(d, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15
        return qmc.Sobol(d, scramble=True, seed=rng)


def sample_latent(
    config: CandidateConfig, labelled_z: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The latent points of the ``latent`` source, before decoding: (n, d) points and (n,) local flags.

    ``n_candidates`` points: a share ``local_fraction`` are labelled points (chosen uniformly with
    replacement) plus N(0, local_scale²) noise; the rest are scrambled Sobol points in the box
    [−region, region] (``sampler="sobol"``) or N(0, region²) samples (``"prior"``). With nothing
    labelled every point comes from the global sampler. Randomness: ``rng`` only.
    """
    labelled_z = np.asarray(labelled_z, dtype=np.float64)
    if labelled_z.ndim != 2 or labelled_z.shape[1] < 1:
        raise ArcloopError(
            f"labelled_z: expected shape (m, d) (np.zeros((0, d)) if empty), got {labelled_z.shape}"
        )
    m, d = labelled_z.shape
    n = config.n_candidates
    n_local = round(config.local_fraction * n) if m else 0
    n_global = n - n_local
    region = config.region_for(d)
    if config.sampler == "sobol":
        # Draw a power of two (keeps the sequence's balance, no scipy warning) and keep the first n_global.
        power = max(int(np.ceil(np.log2(max(n_global, 1)))), 0)
        unit = _sobol(d, rng).random_base2(power)[:n_global]
        global_z = (2.0 * unit - 1.0) * region
    else:
        global_z = rng.standard_normal((n_global, d)) * region
    centres = labelled_z[rng.integers(m, size=n_local)] if n_local else np.zeros((0, d))
    local_z = centres + config.local_scale * rng.standard_normal((n_local, d))
    flags = np.concatenate([np.zeros(n_global, dtype=bool), np.ones(n_local, dtype=bool)])
    return np.concatenate([global_z, local_z]), flags


def latent_candidates(
    model: LatentModel,
    config: CandidateConfig,
    labelled_z: np.ndarray,
    labelled_compositions: np.ndarray | None,
    rng: np.random.Generator,
    n_samples: int | None = None,
) -> Candidates:
    """Novel candidates: sample latent points (:func:`sample_latent`), decode them with
    ``config.target_p_single``, keep the feasible, new, distinct compositions (module docstring).

    Args:
        model: anything with ``encode`` / ``decode`` / ``predict_proba_samples`` (:class:`LatentModel`).
        config: the :class:`CandidateConfig` (its ``source`` is not consulted here).
        labelled_z: (m, d) latent points of the labelled set (centres of the local perturbations).
        labelled_compositions: (m', 30) compositions already labelled (excluded), or None.
        rng: the only source of randomness.
        n_samples: T; defaults to ``config.n_samples``.

    Returns:
        :class:`Candidates` with ``z`` the latent points that were decoded, ``compositions`` the
        filtered rows at 1 at.% resolution, ``pool_index`` all -1, ``local`` the perturbation flags.
        Empty (n = 0) when nothing is feasible.
    """
    if not isinstance(rng, np.random.Generator):
        raise ArcloopError(f"rng: expected numpy.random.Generator, got {type(rng).__name__}")
    T = _check_n_samples(config.n_samples if n_samples is None else n_samples)
    z, local = sample_latent(config, labelled_z, rng)
    decoded = np.asarray(model.decode(z, config.target_p_single), dtype=np.float64)
    if decoded.shape != (z.shape[0], N_ELEMENTS):
        raise ArcloopError(
            f"model.decode returned shape {decoded.shape}, expected ({z.shape[0]}, {N_ELEMENTS})"
        )
    feasibility = config.feasibility
    percent, keep = apply_feasibility(decoded, feasibility)
    labelled = _labelled_rows(labelled_compositions, feasibility.element_threshold)
    keep = _unique_and_new(percent, keep, labelled)
    if not keep.any():
        return Candidates.empty(z.shape[1], T or 1)
    compositions = percent[keep] / 100.0
    return Candidates(
        z=z[keep],
        compositions=compositions,
        p_samples=_probabilities(model, compositions, T),
        pool_index=np.full(int(keep.sum()), -1, dtype=np.int64),
        local=local[keep],
    )


def pool_candidates(
    model: LatentModel,
    pool_X: np.ndarray,
    pool_index: np.ndarray,
    config: CandidateConfig | None = None,
    *,
    labelled_compositions: np.ndarray | None = None,
    feasibility: FeasibilityConfig | None = None,
    deduplicate: str | None = None,
    n_samples: int | None = None,
) -> Candidates:
    """Real-alloy candidates: encode the unlabelled rows of the dataset.

    Args:
        model: a :class:`LatentModel`.
        pool_X: (n, 30) compositions of the unlabelled alloys (rows summing to 1).
        pool_index: (n,) their row numbers in the dataset (kept in ``Candidates.pool_index``).
        config: a :class:`CandidateConfig`; supplies ``feasibility``, ``deduplicate`` and
            ``n_samples`` (T) unless those keywords are given. Without it: no feasibility filter,
            ``deduplicate="exact"``, T = the model's own number of draws.
        labelled_compositions: compositions already labelled; pool rows that duplicate one of them
            (in the sense of ``deduplicate``) are dropped. Six compositions appear twice in the
            dataset, under the same or a different spelling of the formula.
        feasibility: if given, rows breaking its rules are dropped. The compositions themselves are
            returned unchanged (they are real alloys for the lookup oracle): the threshold only
            decides what counts as present, and the rules read the thresholded real composition,
            not its 1 at.% rounding. The campaign passes the target's ``element_threshold``, so the
            filter and the target count elements alike.
        deduplicate: what counts as the same alloy, within the pool and against the labelled set:
            "exact" (every fraction equal to 1e-9: the same composition), "percent" (equal at
            1 at.% resolution, as for generated candidates: 99 dataset rows share their rounded
            composition with another row, often with a different label) or "none".
        n_samples: T.

    Duplicates keep their first row. Returns an empty :class:`Candidates` when nothing is left.
    """
    if config is not None:
        feasibility = config.feasibility if feasibility is None else feasibility
        deduplicate = config.deduplicate if deduplicate is None else deduplicate
        n_samples = config.n_samples if n_samples is None else n_samples
    deduplicate = "exact" if deduplicate is None else deduplicate
    T = _check_n_samples(n_samples)
    if deduplicate not in ("exact", "percent", "none"):
        raise ArcloopError(f"deduplicate: expected 'exact', 'percent' or 'none', got {deduplicate!r}")
    X = validate_compositions(pool_X, name="pool_X")
    index = np.asarray(pool_index)
    if index.shape != (X.shape[0],) or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ArcloopError(
            f"pool_index: expected ({X.shape[0]},) integers to match pool_X, got {index.shape}"
        )
    if index.size and index.min() < 0:
        raise ArcloopError("pool_index: dataset row numbers must be >= 0")
    keep = np.ones(X.shape[0], dtype=bool)
    if feasibility is not None:
        keep = apply_feasibility(X, feasibility, rounded=False)[1]
    if deduplicate != "none":
        labelled = None
        if labelled_compositions is not None and np.asarray(labelled_compositions).size:
            labelled = validate_compositions(labelled_compositions, name="labelled_compositions")
        if deduplicate == "percent":
            threshold = feasibility.element_threshold if feasibility is not None else 0.0
            keys, known = round_to_percent(_threshold(X, threshold)[0]), _labelled_rows(labelled, threshold)
        else:
            keys = np.round(X * _EXACT_SCALE).astype(np.int64)
            known = None if labelled is None else np.round(labelled * _EXACT_SCALE).astype(np.int64)
        keep = _unique_and_new(keys, keep, known)
    if not keep.any():
        return Candidates.empty(_latent_dim(model), T or 1)
    kept = X[keep]
    z = np.asarray(model.encode(kept), dtype=np.float64)
    if z.ndim != 2 or z.shape[0] != kept.shape[0]:
        raise ArcloopError(f"model.encode returned shape {z.shape}, expected ({kept.shape[0]}, d)")
    return Candidates(
        z=z,
        compositions=kept,
        p_samples=_probabilities(model, kept, T),
        pool_index=index[keep].astype(np.int64),
    )
