"""One screening campaign as plain functions: set-up, one iteration, the loop with checkpoints.

The loop (a retrospective pool campaign, the protocol of Liang et al. 2021):

    picked = n_initial random distinct inputs
    while inputs remain and the budget lasts:
        surrogate.fit(X[picked], y[picked])            # a fresh fit each iteration
        belief  = surrogate's mean / spread / draws on the unmeasured inputs, as utility
        batch   = policy.select(belief, batch_size)    # distinct unmeasured inputs
        picked += batch                                # the experiment returns the measured value

Truth is the dataset: the "experiment" on an input returns the mean of its measured rows, and the
target set is fixed on those values (:mod:`arcloop.targets`). Every random draw is derived from
(seed, iteration, purpose), and the state (the picks in order and the readings) is checkpointed as
JSON after every iteration, so a resumed campaign is the uninterrupted one, bit for bit.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from arcloop.campaign.setup import derived_seed, rng_for
from arcloop.campaign.state import write_atomically
from arcloop.datasets import Dataset, load_dataset
from arcloop.errors import ArcloopError
from arcloop.metrics.diversity import campaign_bandwidth
from arcloop.screening.acquisitions import Belief, ProbabilityOfTarget, RandomChoice, ThompsonSampling
from arcloop.screening.config import ScreeningConfig
from arcloop.screening.readings import (
    acceleration_factor,
    experiments_to,
    explored_shape,
    top_fraction_curve,
)
from arcloop.targets import ResolvedTarget, composition_rules_mask, probability_of_target, resolve_target

STATE_FILE = "screening.json"
CONFIG_FILE = "config.yaml"
DENSE_READINGS = 50  # bias / diversity readings every iteration up to this many experiments, then every 10th


@dataclass(frozen=True)
class ScreeningSetup:
    """What a screening campaign derives from its config once."""

    config: ScreeningConfig
    dataset: Dataset
    values: np.ndarray  # (N,) the target property of every distinct input: the campaign's truth
    target: ResolvedTarget
    rules: np.ndarray  # (N,) bool: the input obeys the target's composition rules
    is_target: np.ndarray  # (N,) bool: truth says target
    standardised: np.ndarray  # (N, d) the readings' frame
    bandwidth: float  # the Vendi kernel's width in that frame (median pairwise distance of the pool)
    initial: np.ndarray  # rows of the initial experiments

    @property
    def n_pool(self) -> int:
        return len(self.values)

    @property
    def n_targets(self) -> int:
        return int(self.is_target.sum())

    @property
    def budget(self) -> int:
        """Experiments in all: the initial set plus iterations × batch size, at most the pool."""
        c = self.config
        if c.iterations is None:
            return self.n_pool
        return min(self.n_pool, c.n_initial + c.iterations * c.batch_size)


def prepare_screening(config: ScreeningConfig) -> ScreeningSetup:
    """Load the dataset, fix the target on it, draw the initial set. One-line errors for mistakes."""
    dataset = load_dataset(config.dataset)
    target = config.target
    if dataset.default_target:
        target = target.with_default_goal(dataset.default_target)
    if target.property is None:
        names = ", ".join(dataset.properties)
        raise ArcloopError(
            f"target: say what you look for, e.g. target: {{property: {next(iter(dataset.properties))}, "
            f"goal: maximize, top_fraction: 0.05}}; properties of {dataset.name}: {names}"
        )
    values = dataset.values(target.property)
    if target.has_rules() and dataset.input_kind != "composition":
        raise ArcloopError(
            f"target: composition rules need a composition dataset; {dataset.name} has parameters"
        )
    rules = (
        composition_rules_mask(target, dataset.X, dataset.input_names)
        if dataset.input_kind == "composition"
        else np.ones(len(values), dtype=bool)
    )
    resolved = resolve_target(target, values, rules)
    is_target = resolved.meets(values) & rules
    n = len(values)
    if config.n_initial >= n:
        raise ArcloopError(
            f"n_initial: {config.n_initial} initial experiments, but {dataset.name} has only {n} "
            "distinct inputs; lower n_initial"
        )
    if not is_target.any():
        raise ArcloopError(
            f"target: no input of {dataset.name} meets {resolved.describe()}; loosen the target"
        )
    standardised = dataset.standardised_inputs()
    try:
        bandwidth = campaign_bandwidth(standardised)
    except ArcloopError:
        bandwidth = 1.0
    initial = rng_for(config.seed, "initial").choice(n, size=config.n_initial, replace=False)
    return ScreeningSetup(
        config=config,
        dataset=dataset,
        values=values,
        target=resolved,
        rules=rules,
        is_target=is_target,
        standardised=standardised,
        bandwidth=bandwidth,
        initial=initial.astype(np.int64),
    )


@dataclass
class ScreeningState:
    """The picks in order (initial set first), per-pick predictions, the readings, the MLflow run."""

    fingerprint: str
    picked: list[int]
    iteration: int = 0
    predicted: list[list[float]] = field(default_factory=list)  # per non-initial pick: mean, std, P(target)
    metrics: list[dict[str, float]] = field(default_factory=list)  # per iteration, with "step"
    logged: int = 0  # readings already sent to MLflow
    mlflow_run_id: str | None = None
    fit_seconds: float = 0.0  # time inside the surrogate's fit and predictions

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_file(cls, path: Path, n_pool: int) -> ScreeningState:
        """The checkpoint at ``path``, checked: a damaged file is one line naming it, never code."""
        try:
            data = json.loads(path.read_text())
            state = cls(**data)
            picked = [int(v) for v in state.picked]
        except (ValueError, TypeError, OSError):
            raise ArcloopError(
                f"checkpoint {path}: damaged or not an arcloop screening state; "
                "delete the folder to start over"
            ) from None
        if len(set(picked)) != len(picked) or any(not 0 <= v < n_pool for v in picked):
            raise ArcloopError(
                f"checkpoint {path}: picks outside the dataset; delete the folder to start over"
            )
        state.picked = picked
        return state


def _needs_draws(policy: Any) -> bool:
    return isinstance(policy, (ThompsonSampling, ProbabilityOfTarget))


def belief_of(
    setup: ScreeningSetup, picked: np.ndarray, candidates: np.ndarray, iteration: int, policy: Any
) -> Belief:
    """Fit the surrogate on the measured inputs and describe the unmeasured ones, in utility units."""
    n = candidates.size
    if isinstance(policy, RandomChoice):
        zeros = np.zeros(n)
        return Belief(zeros, zeros, np.zeros((1, n)), 0.0, zeros)
    config = setup.config
    X = setup.dataset.features  # descriptors with the fractions, where the dataset has them
    surrogate = config.surrogate.build(random_state=derived_seed(config.seed, iteration, "surrogate"))
    surrogate.fit(X[picked], setup.values[picked])
    mean, std = surrogate.predict(X[candidates], return_std=True)
    utility = setup.target.utility(mean)
    std = np.asarray(std, dtype=np.float64)
    if _needs_draws(policy):
        raw = np.asarray(
            surrogate.sample_y(
                # the surrogate's own number of draws: a forest's trees, a GP's default 64
                X[candidates],
                random_state=derived_seed(config.seed, iteration, "policy"),
            )
        )
        draws = setup.target.utility(raw)
        p_target = probability_of_target(setup.target, raw, setup.rules[candidates])
    else:
        draws, p_target = utility[None, :], np.full(n, math.nan)
    best = float(np.max(setup.target.utility(setup.values[picked])))
    return Belief(utility, std, draws, best, p_target)


def iterate(setup: ScreeningSetup, state: ScreeningState, policy: Any) -> ScreeningState:
    """One iteration: fit, select a batch, measure it, read; returns the advanced state."""
    config = setup.config
    picked = np.asarray(state.picked, dtype=np.int64)
    taken = np.zeros(setup.n_pool, dtype=bool)
    taken[picked] = True
    candidates = np.flatnonzero(~taken)
    k = min(config.batch_size, setup.budget - picked.size, candidates.size)
    start = time.perf_counter()
    belief = belief_of(setup, picked, candidates, state.iteration, policy)
    batch = np.asarray(
        policy.select(belief, k, rng_for(config.seed, state.iteration, "policy")), dtype=np.int64
    )
    fit_seconds = time.perf_counter() - start
    if batch.size != k or np.unique(batch).size != k or batch.min() < 0 or batch.max() >= candidates.size:
        raise ArcloopError(f"policy {config.policy.name!r}: returned an invalid batch {batch.tolist()[:10]}")
    rows = candidates[batch]
    new_picked = [*state.picked, *(int(r) for r in rows)]
    predicted = [
        [float(setup.target.sense * belief.mean[j]), float(belief.std[j]), float(belief.p_target[j])]
        for j in batch
    ]
    fitted = None if isinstance(policy, RandomChoice) else belief
    metrics = readings(setup, np.asarray(new_picked), fitted, candidates)
    metrics["acquisition/p_target_batch"] = float(np.mean(belief.p_target[batch]))
    return ScreeningState(
        fingerprint=state.fingerprint,
        picked=new_picked,
        iteration=state.iteration + 1,
        predicted=[*state.predicted, *predicted],
        metrics=[*state.metrics, metrics],
        logged=state.logged,
        mlflow_run_id=state.mlflow_run_id,
        fit_seconds=state.fit_seconds + fit_seconds,
    )


def readings(
    setup: ScreeningSetup, picked: np.ndarray, belief: Belief | None, candidates: np.ndarray
) -> dict[str, float]:
    """The readings after the experiments ``picked`` (step = experiments paid). ``belief`` describes
    the candidates before this batch (None: no model, as for random or the initial set);
    ``model/rmse`` scores its mean against their true values, in utility units."""
    n = picked.size
    found = int(setup.is_target[picked].sum())
    top = found / setup.n_targets
    values = setup.values[picked]
    best = float(setup.target.sense * np.max(setup.target.utility(values)))
    optimum = float(setup.target.sense * np.max(setup.target.utility(setup.values[setup.rules])))
    metrics = {
        "step": float(n),
        "discovery/experiments": float(n),
        "discovery/targets_found": float(found),
        "discovery/top_fraction_found": top,
        "discovery/enhancement": top / (n / setup.n_pool),
        "discovery/best_value": best,
        "discovery/regret": abs(optimum - best),
        "model/rmse": math.nan,
    }
    if belief is not None:
        truth = setup.target.utility(setup.values[candidates])
        metrics["model/rmse"] = float(np.sqrt(np.mean((belief.mean - truth) ** 2)))
    if n <= DENSE_READINGS or n % 10 == 0 or n >= setup.budget:
        metrics.update(explored_shape(setup.standardised[picked], setup.bandwidth))
    return metrics


def summary(
    setup: ScreeningSetup,
    state: ScreeningState,
    levels: tuple[float, ...] = (0.5, 0.8),
    checkpoints: tuple[int, ...] = (25, 50, 100),
) -> dict[str, Any]:
    """The campaign's headline figures: Top % after the checkpoint experiment counts, experiments to
    each level, AF against the exact random expectation, EF at the checkpoints."""
    curve = top_fraction_curve(setup.is_target, np.asarray(state.picked), setup.n_targets)
    result: dict[str, Any] = {
        "dataset": setup.dataset.name,
        "n_pool": setup.n_pool,
        "n_targets": setup.n_targets,
        "target": setup.target.describe(),
        "experiments": len(state.picked),
        "targets_found": int(setup.is_target[state.picked].sum()),
        "fit_seconds": round(state.fit_seconds, 6),
    }
    for c in checkpoints:
        inside = c <= curve.size
        result[f"top_after_{c}"] = float(curve[c - 1]) if inside else math.nan
        result[f"ef_after_{c}"] = float(curve[c - 1] / (c / setup.n_pool)) if inside else math.nan
    for level in levels:
        tag = f"{round(100 * level)}"
        result[f"experiments_to_{tag}"] = experiments_to(curve, level)
        result[f"af_{tag}"] = acceleration_factor(curve, setup.n_pool, setup.n_targets, level)
    return result


def history_frame(setup: ScreeningSetup, state: ScreeningState) -> pd.DataFrame:
    """One row per experiment: order, iteration, input, measured value, target?, the prediction."""
    n_initial = setup.config.n_initial
    rows = []
    labels = setup.dataset.input_labels(np.asarray(state.picked))
    batch = setup.config.batch_size
    for j, (row, label) in enumerate(zip(state.picked, labels, strict=True)):
        pred = state.predicted[j - n_initial] if j >= n_initial else [math.nan] * 3
        rows.append(
            {
                "experiment": j + 1,
                "iteration": -1 if j < n_initial else (j - n_initial) // batch,
                "input": label,
                "row": row,
                setup.target.property: float(setup.values[row]),
                "target": bool(setup.is_target[row]),
                "predicted_mean": pred[0],
                "predicted_std": pred[1],
                "p_target": pred[2],
            }
        )
    return pd.DataFrame(rows)


Logger = Callable[[ScreeningState, bool], ScreeningState]


def run_screening(
    config: ScreeningConfig,
    resume: bool = False,
    log: Logger | None = None,
    on_iteration: Callable[[ScreeningState], None] | None = None,
) -> tuple[ScreeningSetup, ScreeningState]:
    """Run (or resume) the campaign to its budget. ``log(state, final)`` records readings (MLflow;
    returns the state with ``logged`` advanced); the state is checkpointed after every iteration."""
    state_dir = Path(config.state_dir)
    state_file = state_dir / STATE_FILE
    setup = prepare_screening(config)
    if state_file.is_file():
        if not resume:
            raise ArcloopError(
                f"state dir {state_dir} already holds a campaign; "
                "add --resume to continue it or choose another --state-dir"
            )
        state = ScreeningState.from_file(state_file, setup.n_pool)
        if state.fingerprint != config.fingerprint():
            raise ArcloopError(f"state dir {state_dir}: holds a different campaign (its config changed)")
    else:
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(
            state_dir / CONFIG_FILE, yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        )
        state = ScreeningState(fingerprint=config.fingerprint(), picked=[int(r) for r in setup.initial])
        state.metrics.append(readings(setup, setup.initial, None, np.zeros(0, dtype=np.int64)))
    if log is not None:
        state = log(state, False)
        write_atomically(state_file, state.to_json())
    policy = config.policy.build()
    while len(state.picked) < setup.budget:
        state = iterate(setup, state, policy)
        if log is not None:
            state = log(state, False)
        write_atomically(state_file, state.to_json())
        if on_iteration is not None:
            on_iteration(state)
    if log is not None:
        state = log(state, True)
    write_atomically(state_file, state.to_json())
    return setup, state
