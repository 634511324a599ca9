"""The paper's three inverse-design modes (Zeng, Khan & Post 2024, section "inverse design").

- :func:`screen`: rank candidate compositions by the phase head's probability of single phase.
- :func:`generate`: decode latent points with a target phase probability, clean the compositions, and
  re-check them with the head (the decoder is conditioned on φ, but only the head judges).
- :func:`flip`: the iterative loop: encode as the current (source) phase, decode as the target phase,
  re-check, repeat until p ≥ cutoff (or ≤ 1 − cutoff for a multi-phase target) or a step limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arcloop.errors import ArcloopError
from arcloop.materials import format_formula, integer_percentages, parse_formula, validate_compositions
from arcloop.models.ssvae import SSVAE

PRINCIPAL_ELEMENT_FRACTION = 0.05
"""Default cut for decoded compositions: the 2-D decoder spreads a few percent over many elements
(a mean over the alloys near z), and 5 at.% is the lower bound of a principal element in the usual
definition of a high-entropy alloy (Yeh et al. 2004)."""


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value <= 1.0:
        raise ArcloopError(f"{name}: expected a probability in [0, 1], got {value!r}")
    return float(value)


def screen(model: SSVAE, X: np.ndarray, cutoff: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Screen (n, 30) compositions with the head.

    Returns (indices with p ≥ cutoff, most probable first; ties by index) and p for all n rows.
    """
    cutoff = _check_probability(cutoff, "cutoff")
    p = model.predict_positive(X)
    passing = np.flatnonzero(p >= cutoff)
    return passing[np.argsort(-p[passing], kind="stable")], p


def clean_compositions(X: np.ndarray, min_fraction: float = PRINCIPAL_ELEMENT_FRACTION) -> np.ndarray:
    """Drop fractions below ``min_fraction`` (the decoder's softmax never gives exact zeros), renormalise.

    The largest fraction of a row is always kept, so every row stays on the simplex.
    """
    if isinstance(min_fraction, bool) or not 0.0 <= min_fraction < 1.0:
        raise ArcloopError(f"min_fraction: expected a number in [0, 1), got {min_fraction!r}")
    largest = X.max(axis=1, keepdims=True) == X
    kept = np.where((min_fraction <= X) | largest, X, 0.0)
    return kept / kept.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Generated:
    """Compositions (n, 30) decoded from latent points, and the head's re-checked p (n,)."""

    compositions: np.ndarray
    p_single: np.ndarray


def generate(
    model: SSVAE,
    Z: np.ndarray,
    p_single: float | np.ndarray = 1.0,
    min_fraction: float = PRINCIPAL_ELEMENT_FRACTION,
) -> Generated:
    """Decode latent points Z (n, d) with the target phase probability, clean, and re-check with the head."""
    compositions = clean_compositions(model.decode(Z, p_single), min_fraction)
    return Generated(compositions, model.predict_positive(compositions))


@dataclass(frozen=True)
class FlipStep:
    """One composition of a flip trajectory: step 0 is the start. ``z`` is its posterior mean (φ marginal)."""

    step: int
    formula: str
    composition: np.ndarray
    p_single: float
    z: np.ndarray

    def as_dict(self) -> dict[str, object]:
        return {"step": self.step, "formula": self.formula, "p_single": self.p_single, "z": self.z.tolist()}


def _to_percent(composition: np.ndarray) -> np.ndarray:
    """Round to integer atomic percentages, so that the reported formula is exactly what was scored."""
    return integer_percentages(composition) / 100.0


def flip(
    model: SSVAE,
    start: str | np.ndarray,
    cutoff: float = 0.6,
    max_steps: int = 10,
    target: int = 1,
    min_fraction: float = PRINCIPAL_ELEMENT_FRACTION,
) -> list[FlipStep]:
    """The iterative flip loop from a formula or a (30,) composition; returns the trajectory.

    Each step encodes the current composition as the source phase (1 − target), decodes the latent
    mean as the target phase, drops elements below ``min_fraction``, rounds to integer atomic percent
    and re-checks with the head. Stops at p ≥ cutoff (target 1) or p ≤ 1 − cutoff (target 0), or
    after ``max_steps`` steps. Step 0 is the start as given (its formula as typed, if a string).
    """
    cutoff = _check_probability(cutoff, "cutoff")
    if target not in (0, 1):
        raise ArcloopError(f"target: expected 1 (single phase) or 0 (multiple phases), got {target!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ArcloopError(f"max_steps: expected a positive integer, got {max_steps!r}")
    x = parse_formula(start) if isinstance(start, str) else np.asarray(start, dtype=np.float64).reshape(-1)
    x = validate_compositions(x.reshape(1, -1), name="start")[0]

    def reached(p: float) -> bool:
        return p >= cutoff if target == 1 else p <= 1.0 - cutoff

    def record(step: int, composition: np.ndarray, formula: str) -> FlipStep:
        row = composition.reshape(1, -1)
        p = float(model.predict_positive(row)[0])
        return FlipStep(step, formula, composition, p, model.encode(row)[0])

    trajectory = [record(0, x, start if isinstance(start, str) else format_formula(x))]
    for step in range(1, max_steps + 1):
        if reached(trajectory[-1].p_single):
            break
        z = model.encode(trajectory[-1].composition.reshape(1, -1), y=1 - target)
        decoded = clean_compositions(model.decode(z, p_single=float(target)), min_fraction)[0]
        composition = _to_percent(decoded)
        trajectory.append(record(step, composition, format_formula(composition)))
    return trajectory
