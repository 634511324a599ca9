"""A campaign's set-up: seeds per purpose, the split, truth and targets, the initial state, and the
rows a step reads (what is unlabelled, explored, a candidate)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arcloop.campaign.state import CampaignState, no_proposals
from arcloop.candidates import apply_feasibility
from arcloop.config import CampaignConfig
from arcloop.data import ELEMENTS, alloy_fractions, alloy_labels
from arcloop.errors import ArcloopError
from arcloop.materials import FAMILY_NAMES, dominant_family
from arcloop.oracles import Oracle, build_oracle
from arcloop.policies import (
    Candidates,
    Policy,
    build_policy,
)
from arcloop.targets import composition_rules_mask

PURPOSES = ("split", "initial", "train", "candidates", "policy", "oracle", "truth", "imbalance", "surrogate")


def derived_seed(seed: int, *parts: int | str) -> int:
    """A 32-bit seed for (campaign seed, iteration, purpose, ...): stable across processes and runs."""
    words = [seed] + [PURPOSES.index(p) + 1_000_003 if isinstance(p, str) else p for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def rng_for(seed: int, *parts: int | str) -> np.random.Generator:
    return np.random.default_rng(derived_seed(seed, *parts))


@dataclass(frozen=True)
class CampaignSetup:
    """What a campaign derives from its config once: data split, truth and observation, policy, targets."""

    config: CampaignConfig
    pool_X: np.ndarray  # (N, 30) every dataset alloy
    real_y: np.ndarray  # (N,) the experimental labels (used only through the lookup oracle)
    truth_y: np.ndarray  # (N,) truth's label of every dataset alloy, -1 where truth abstains
    holdout: np.ndarray  # dataset rows kept out of the loop, truth-labelled (model metrics)
    initial: np.ndarray  # dataset rows of the initial labelled set (truth labels)
    loop_rows: np.ndarray  # dataset rows the loop may use (not held out; imbalance-subsampled)
    truth: Oracle  # the oracle without its observation wrappers
    observe: Oracle  # the oracle as configured: what the loop is told
    policy: Policy
    reference_X: np.ndarray  # (r, 30) the known alloys a discovery must be new against
    pool_target_keys: frozenset[bytes]  # pool source: the distinct target compositions of the pool

    @property
    def oracle(self) -> Oracle:
        """The observing oracle (the one the loop calls and journals)."""
        return self.observe

    @property
    def n_pool_targets(self) -> int | None:
        """Pool source: number of distinct target compositions among the candidates; None otherwise."""
        return len(self.pool_target_keys) if self.config.candidates.source == "pool" else None

    @property
    def refits_model(self) -> bool:
        """Whether ``train`` refits the SSVAE on every batch (``model.refit``; see
        :class:`arcloop.config.ModelConfig` for what ``auto`` decides)."""
        refit = self.config.model.refit
        if refit != "auto":
            return refit == "every_iteration"
        if self.config.candidates.source != "pool":
            return True
        surrogate = self.config.surrogate.build(random_state=0)
        return bool(getattr(surrogate, "learns_through_model", getattr(surrogate, "reads_latent", False)))

    def is_target(self, compositions: np.ndarray, true_labels: np.ndarray) -> np.ndarray:
        """(n,) bool: truth says target (single phase and, if set, at least ``min_elements`` elements)."""
        return target_mask(self.config, compositions, true_labels)


@dataclass(frozen=True)
class Proposal:
    candidates: Candidates
    batch: np.ndarray  # (k,) indices into candidates
    explored_z: np.ndarray  # (m, d) the explored set (initial + every earlier proposal), this frame
    roundtrip_error: float = math.nan  # latent source: mean |z sampled - encode(round(decode(z)))|

    @property
    def compositions(self) -> np.ndarray:
        return self.candidates.compositions[self.batch]

    @property
    def z(self) -> np.ndarray:
        return self.candidates.z[self.batch]


def composition_keys(X: np.ndarray) -> list[bytes]:
    """One hashable key per row: the composition to 1e-9 in every fraction (the same formula)."""
    return [row.tobytes() for row in np.round(np.asarray(X) * 1e9).astype(np.int64)]


def _imbalanced_rows(
    config: CampaignConfig, rows: np.ndarray, pool_X: np.ndarray, truth_y: np.ndarray
) -> np.ndarray:
    """The ``imbalance`` scenario: keep every row of the group, each other row with probability 1/ratio."""
    scenario = config.scenario
    if scenario.imbalance_by == "family":
        in_group = dominant_family(pool_X[rows]) == FAMILY_NAMES.index(scenario.family)
        what = f"family {scenario.family}"
    else:
        in_group = truth_y[rows] == scenario.imbalance_class
        what = f"class {scenario.imbalance_class}"
    if not in_group.any():
        raise ArcloopError(f"scenario.imbalance_by: no loop alloy belongs to {what}; choose another group")
    kept = rng_for(config.seed, "imbalance").random(rows.size) < 1.0 / scenario.imbalance_ratio
    return rows[in_group | kept]


def prepare(config: CampaignConfig) -> CampaignSetup:
    """Split the dataset, label it by truth, draw the scenario's initial set, build the oracles and the
    policy. Fails early, with one line, on anything a user can get wrong."""
    check_alloy_target(config)
    pool_X, real_y = alloy_fractions(), alloy_labels()
    truth = build_oracle(config.oracle.model_copy(update={"wrappers": []}))
    observe = build_oracle(config.oracle)
    if truth.requires_latent:
        raise ArcloopError(
            f"oracle {config.oracle.name!r}: needs latent coordinates, so its truth would move with the "
            "model; give it a fixed frame (a function of the composition alone)"
        )
    answered = truth.label(pool_X, rng=rng_for(config.seed, "truth"))
    truth_y = np.where(answered.status == "ok", answered.labels, -1).astype(np.int64)
    n = len(pool_X)
    order = rng_for(config.seed, "split").permutation(n)
    n_holdout = round(config.scenario.holdout_fraction * n)
    holdout, loop_rows = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    holdout = holdout[truth_y[holdout] >= 0]
    scenario = config.scenario
    if scenario.kind == "imbalance":
        loop_rows = _imbalanced_rows(config, loop_rows, pool_X, truth_y)
    eligible = loop_rows[truth_y[loop_rows] >= 0]
    if scenario.kind == "family":
        family = FAMILY_NAMES.index(scenario.family)
        eligible = eligible[dominant_family(pool_X[eligible]) == family]
    if len(eligible) < scenario.n_initial:
        raise ArcloopError(
            f"scenario.n_initial: {scenario.n_initial} alloys requested, "
            f"only {len(eligible)} are eligible; "
            "lower n_initial"
        )
    initial = np.sort(
        rng_for(config.seed, "initial").choice(eligible, size=scenario.n_initial, replace=False)
    )
    if len(set(truth_y[initial].tolist())) < 2:
        raise ArcloopError(
            "scenario: truth labels the initial set with one class only; "
            "raise scenario.n_initial or change the seed"
        )
    policy = build_policy(config.policy, default_radius=config.target.novelty)
    available = np.setdiff1d(loop_rows, initial)
    pool_source = config.candidates.source == "pool"
    target_keys: frozenset[bytes] = frozenset()
    if pool_source:
        # Only rows the pool can offer count: those passing the feasibility rules.
        feasible = apply_feasibility(pool_X[available], config.candidates.feasibility)[1]
        rows = available[feasible]
        targets = target_mask(config, pool_X[rows], truth_y[rows])
        target_keys = frozenset(composition_keys(pool_X[rows[targets]]))
    if config.target.reference == "dataset":
        # What the literature knows: the packaged alloys, less the pool source's own candidates.
        known = np.setdiff1d(np.arange(n), available) if pool_source else np.arange(n)
        reference_X = pool_X[known]
    elif config.target.reference == "initial":
        reference_X = pool_X[initial]
    else:
        reference_X = np.zeros((0, pool_X.shape[1]))
    return CampaignSetup(
        config=config,
        pool_X=pool_X,
        real_y=real_y,
        truth_y=truth_y,
        holdout=holdout,
        initial=initial,
        loop_rows=loop_rows,
        truth=truth,
        observe=observe,
        policy=policy,
        reference_X=reference_X,
        pool_target_keys=target_keys,
    )


def target_mask(config: CampaignConfig, X: np.ndarray, true_labels: np.ndarray) -> np.ndarray:
    """(n,) bool: truth says single phase and the composition obeys the target's rules (at least
    ``min_elements`` elements, excluded elements, fraction and family-share bounds)."""
    hit = np.asarray(true_labels) == 1
    if len(X):
        hit &= composition_rules_mask(config.target, X, ELEMENTS)
    return hit


def check_alloy_target(config: CampaignConfig) -> None:
    """The alloy campaign (SSVAE, pool or latent source) looks for single-phase alloys: its target is
    ``single_phase`` equal to 1, with any composition rules. A continuous property or another goal
    belongs to a dataset campaign (``dataset:``, :mod:`arcloop.screening`)."""
    target = config.target
    other_goal = target.goal is not None or target.above is not None or target.below is not None
    if (target.property not in (None, "single_phase")) or other_goal or target.equals not in (None, 1):
        raise ArcloopError(
            "target: the alloy campaign looks for single_phase equals 1 (plus composition rules); "
            "for another property or goal set dataset: (e.g. dataset: hea) to run a screening campaign"
        )


def initial_state(setup: CampaignSetup) -> CampaignState:
    rows = setup.initial
    return CampaignState(
        fingerprint=setup.config.fingerprint(),
        iteration=0,
        labelled_X=setup.pool_X[rows],
        labelled_y=setup.truth_y[rows].astype(np.int64),
        labelled_origin=np.full(len(rows), -1, dtype=np.int64),
        labelled_pool_index=rows.astype(np.int64),
        previous_pool_z=np.zeros((0, 0)),
        **no_proposals(),
    )


def unlabelled_rows(setup: CampaignSetup, state: CampaignState) -> np.ndarray:
    """Dataset rows of the loop that are not labelled yet: the model's unlabelled data."""
    return np.setdiff1d(setup.loop_rows, state.labelled_pool_index[state.labelled_pool_index >= 0])


def explored_compositions(setup: CampaignSetup, state: CampaignState) -> np.ndarray:
    """(m, 30) the explored set: the initial set, then every proposal in order, whatever its status."""
    return np.concatenate([setup.pool_X[setup.initial], state.proposed_X])


def explored_labels(setup: CampaignSetup, state: CampaignState) -> np.ndarray:
    """(m,) what the loop was told about the explored set: truth for the initial set, then the
    observed labels (-1 where no result came back)."""
    return np.concatenate([setup.truth_y[setup.initial], state.proposed_observed]).astype(np.int64)


def candidate_rows(setup: CampaignSetup, state: CampaignState) -> np.ndarray:
    """Pool source: loop rows never proposed (labelled, dropped, failed or abstained) nor initial."""
    consumed = np.concatenate([setup.initial, state.proposed_pool_index[state.proposed_pool_index >= 0]])
    return np.setdiff1d(setup.loop_rows, consumed)
