"""One iteration of the loop as plain functions: set-up, train, propose, label, measure, advance.

``arcloop.tasks`` wraps each in a Prefect task and ``arcloop.flows.campaign`` orders them;
:func:`run_plain` runs the same loop with no orchestration or tracking (the overhead baseline).
All randomness is derived from (seed, iteration, purpose[, attempt]) with ``numpy.random.SeedSequence``,
so a resumed campaign draws exactly what an uninterrupted one draws.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from arcloop.config import CampaignConfig
from arcloop.data import alloy_fractions, alloy_labels
from arcloop.errors import ArcloopError
from arcloop.materials import FAMILY_NAMES, dominant_family, format_formula, n_elements
from arcloop.metrics import campaign_bandwidth, iteration_metrics
from arcloop.models import SSVAE
from arcloop.oracles import LabelBatch, Oracle, build_oracle
from arcloop.policies import (
    Candidates,
    Context,
    Policy,
    apply_feasibility,
    build_policy,
    latent_candidates,
    pool_candidates,
)
from arcloop.state import CampaignState

PURPOSES = ("split", "initial", "train", "candidates", "policy", "oracle")


def derived_seed(seed: int, *parts: int | str) -> int:
    """A 32-bit seed for (campaign seed, iteration, purpose, ...): stable across processes and runs."""
    words = [seed] + [PURPOSES.index(p) + 1_000_003 if isinstance(p, str) else p for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def rng_for(seed: int, *parts: int | str) -> np.random.Generator:
    return np.random.default_rng(derived_seed(seed, *parts))


@dataclass(frozen=True)
class CampaignSetup:
    """What a campaign derives from its config once: data split, oracle, policy, targets."""

    config: CampaignConfig
    pool_X: np.ndarray  # (N, 30) every dataset alloy
    pool_y: np.ndarray  # (N,) real labels
    holdout: np.ndarray  # dataset rows kept out of the loop (model metrics)
    initial: np.ndarray  # dataset rows of the initial labelled set
    loop_rows: np.ndarray  # dataset rows the loop may use (not held out)
    oracle: Oracle
    policy: Policy
    n_targets: int | None  # pool source: targets among the unlabelled pool at the start
    base_rate: float  # random expectation of a hit per label

    def is_target(self, compositions: np.ndarray, labels: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return target_mask(self.config, compositions, labels, ok)


@dataclass(frozen=True)
class Proposal:
    candidates: Candidates
    batch: np.ndarray  # (k,) indices into candidates
    labelled_z: np.ndarray  # (m, d) the labelled set in this iteration's latent space

    @property
    def compositions(self) -> np.ndarray:
        return self.candidates.compositions[self.batch]

    @property
    def z(self) -> np.ndarray:
        return self.candidates.z[self.batch]


def prepare(config: CampaignConfig) -> CampaignSetup:
    """Split the dataset, draw the scenario's initial set, build oracle and policy. Fails early."""
    pool_X, pool_y = alloy_fractions(), alloy_labels()
    n = len(pool_X)
    order = rng_for(config.seed, "split").permutation(n)
    n_holdout = round(config.scenario.holdout_fraction * n)
    holdout, loop_rows = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    scenario = config.scenario
    eligible = loop_rows
    if scenario.kind == "family":
        family = FAMILY_NAMES.index(scenario.family)
        eligible = loop_rows[dominant_family(pool_X[loop_rows]) == family]
    if len(eligible) < scenario.n_initial:
        raise ArcloopError(
            f"scenario.n_initial: {scenario.n_initial} alloys requested, "
            f"only {len(eligible)} are eligible; "
            "lower n_initial"
        )
    initial = np.sort(
        rng_for(config.seed, "initial").choice(eligible, size=scenario.n_initial, replace=False)
    )
    if len(set(pool_y[initial].tolist())) < 2:
        raise ArcloopError(
            "scenario: the initial labelled set holds one class only; "
            "raise scenario.n_initial or change the seed"
        )
    oracle = build_oracle(config.oracle)
    policy = build_policy(config.policy)
    candidates_source = config.candidates.source
    available = np.setdiff1d(loop_rows, initial)
    n_targets: int | None = None
    if candidates_source == "pool":
        # Only rows the pool can offer count: those passing the feasibility rules.
        ok = apply_feasibility(pool_X[available], config.candidates.feasibility)[1]
        targets = target_mask(config, pool_X[available], pool_y[available], ok)
        n_targets = int(targets.sum())
        base_rate = n_targets / max(int(ok.sum()), 1)
    else:
        base_rate = _oracle_base_rate(config, pool_X[loop_rows])
    return CampaignSetup(
        config=config,
        pool_X=pool_X,
        pool_y=pool_y,
        holdout=holdout,
        initial=initial,
        loop_rows=loop_rows,
        oracle=oracle,
        policy=policy,
        n_targets=n_targets,
        base_rate=base_rate,
    )


def target_mask(config: CampaignConfig, X: np.ndarray, labels: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """A discovery: labelled ``ok``, single phase, and (optionally) at least ``min_elements`` elements."""
    hit = ok & (labels == 1)
    if config.target.min_elements is not None and len(X):
        hit &= n_elements(X, config.target.element_threshold) >= config.target.min_elements
    return hit


def _oracle_base_rate(config: CampaignConfig, X: np.ndarray) -> float:
    """Share of targets among the dataset's alloys as the (unwrapped) oracle labels them.

    The random expectation for generated candidates: there is no finite pool, so the reference is
    'an alloy of the kind already known'. NaN for an oracle that needs latent coordinates.
    """
    bare = build_oracle(config.oracle.model_copy(update={"wrappers": []}))
    if bare.requires_latent:
        return float("nan")
    batch = bare.label(X, rng=rng_for(config.seed, "oracle", 0, 0))
    ok = batch.status == "ok"
    if not ok.any():
        return float("nan")
    return float(target_mask(config, X[ok], batch.labels[ok], np.ones(int(ok.sum()), dtype=bool)).mean())


def initial_state(setup: CampaignSetup) -> CampaignState:
    rows = setup.initial
    return CampaignState(
        fingerprint=setup.config.fingerprint(),
        iteration=0,
        labelled_X=setup.pool_X[rows],
        labelled_y=setup.pool_y[rows].astype(np.int64),
        labelled_origin=np.full(len(rows), -1, dtype=np.int64),
        labelled_pool_index=rows.astype(np.int64),
        hit_sequence=np.zeros(0, dtype=bool),
    )


def unlabelled_rows(setup: CampaignSetup, state: CampaignState) -> np.ndarray:
    """Dataset rows of the loop that are not labelled yet (the pool, and the model's unlabelled data)."""
    return np.setdiff1d(setup.loop_rows, state.labelled_pool_index[state.labelled_pool_index >= 0])


def new_model(setup: CampaignSetup) -> SSVAE:
    """The SSVAE with the loop's presets (warm-started refits), overridden by the config's ``model``."""
    settings = {**SSVAE.campaign_defaults(), **setup.config.model.kwargs(), "seed": setup.config.seed}
    try:
        return SSVAE(**settings)
    except TypeError as error:
        valid = ", ".join(sorted(SSVAE.CONFIG_KEYS))
        raise ArcloopError(f"model: {str(error).split('() ')[-1]}; valid settings: {valid}") from None


def train(setup: CampaignSetup, state: CampaignState, model: SSVAE | None) -> SSVAE:
    """Fit (warm-started when the model's settings say so) on the labelled set and the unlabelled pool."""
    model = model if model is not None else new_model(setup)
    model.seed = derived_seed(setup.config.seed, state.iteration, "train")
    model.fit(state.labelled_X, state.labelled_y, setup.pool_X[unlabelled_rows(setup, state)])
    return model


def propose(setup: CampaignSetup, state: CampaignState, model: SSVAE) -> Proposal:
    """Candidates from the configured source, and the policy's batch among them."""
    config = setup.config
    labelled_z = model.encode(state.labelled_X)
    rng = rng_for(config.seed, state.iteration, "candidates")
    if config.candidates.source == "pool":
        rows = unlabelled_rows(setup, state)
        # Every dataset row is its own experiment, even where two share a composition: the
        # lookup oracle answers per row, and the target count above counts rows.
        candidates = pool_candidates(model, setup.pool_X[rows], rows, config.candidates, deduplicate="none")
    else:
        candidates = latent_candidates(model, config.candidates, labelled_z, state.labelled_X, rng)
    if len(candidates) == 0:
        raise ArcloopError(
            f"iteration {state.iteration}: no feasible candidates; loosen candidates.feasibility "
            "or draw more with candidates.n_candidates"
        )
    context = Context(labelled_z=labelled_z, labels=state.labelled_y, iteration=state.iteration)
    batch = setup.policy.select(
        candidates, context, config.batch_size, rng_for(config.seed, state.iteration, "policy")
    )
    return Proposal(candidates=candidates, batch=np.asarray(batch, dtype=np.int64), labelled_z=labelled_z)


def label(setup: CampaignSetup, proposal: Proposal, iteration: int, attempt: int) -> LabelBatch:
    """One oracle call. ``attempt`` (1, 2, ...) gives each retry its own random draw."""
    latent = proposal.z if setup.oracle.requires_latent else None
    rng = rng_for(setup.config.seed, iteration, "oracle", attempt)
    return setup.oracle.label(proposal.compositions, rng=rng, latent=latent)


def journal_oracle_call(
    state_dir: Path, iteration: int, attempt: int, n: int, outcome: str, seconds: float
) -> None:
    """Append one line per oracle call to ``oracle_calls.jsonl``: the audit trail of what was asked."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    record = {
        "iteration": iteration,
        "attempt": attempt,
        "n": n,
        "outcome": outcome,
        "seconds": round(seconds, 6),
    }
    with open(Path(state_dir) / "oracle_calls.jsonl", "a") as journal:
        journal.write(json.dumps(record) + "\n")


def measure(
    setup: CampaignSetup,
    state: CampaignState,
    model: SSVAE,
    proposal: Proposal,
    labels: LabelBatch,
    attempts: int,
) -> tuple[CampaignState, dict[str, float]]:
    """Metrics of this iteration and the advanced state (labels joined, history rows appended)."""
    ok = labels.status == "ok"
    compositions = proposal.compositions
    hits = setup.is_target(compositions, labels.labels, ok)
    bandwidth = state.vendi_bandwidth
    if bandwidth is None:
        # Fixed once per campaign, from the first model's view of the pool: values stay comparable.
        bandwidth = float(campaign_bandwidth(model.encode(setup.pool_X[setup.loop_rows])))
    holdout_X = setup.pool_X[setup.holdout]
    health = model.latent_health(setup.pool_X[setup.loop_rows])
    hit_sequence = np.concatenate([state.hit_sequence, hits[ok]])
    metrics = iteration_metrics(
        explored_z=proposal.labelled_z,
        batch_z=proposal.z,
        explored_compositions=state.labelled_X,
        batch_compositions=compositions,
        pool_compositions=setup.pool_X,
        vendi_bandwidth=bandwidth,
        hit_sequence=hit_sequence,
        batch_hits=hits[ok],
        n_targets=setup.n_targets,
        base_rate=setup.base_rate,
        candidate_p_samples=proposal.candidates.p_samples,
        batch_index=proposal.batch,
        holdout_p=model.predict_proba(holdout_X) if len(holdout_X) else None,
        holdout_y=setup.pool_y[setup.holdout] if len(holdout_X) else None,
        labelled_z=proposal.labelled_z,
        labelled_y=state.labelled_y,
        model_stats=health,
    )
    metrics = {key: float(value) for key, value in metrics.items()}
    metrics["oracle/attempts"] = float(attempts)
    metrics["oracle/cost"] = float(np.sum(labels.cost))
    metrics["oracle/dropped"] = float(np.sum(labels.status == "dropped"))
    metrics["oracle/failed"] = float(np.sum(labels.status == "failed"))
    metrics["oracle/labels_used"] = float(len(state.hit_sequence) + int(ok.sum()))
    rows = _history_rows(state.iteration, proposal, labels, hits, attempts)
    pool_index = proposal.candidates.pool_index[proposal.batch]
    advanced = state.with_batch(
        compositions=compositions,
        labels=labels.labels,
        ok=ok,
        pool_index=pool_index,
        hits=hits[ok],
        rows=rows,
        metrics=metrics,
        oracle_calls=state.oracle_calls + attempts,
    )
    return replace(advanced, vendi_bandwidth=bandwidth), metrics


def _history_rows(
    iteration: int, proposal: Proposal, labels: LabelBatch, hits: np.ndarray, attempts: int
) -> list[dict[str, Any]]:
    candidates = proposal.candidates
    batch = proposal.batch
    z = candidates.z[batch]
    rows = []
    for j, index in enumerate(batch):
        row: dict[str, Any] = {
            "iteration": iteration,
            "formula": format_formula(candidates.compositions[index]),
            **{f"z{d}": float(z[j, d]) for d in range(z.shape[1])},
            "p_mean": float(candidates.p_mean[index]),
            "uncertainty": float(candidates.p_std[index]),
            "bald": float(candidates.bald[index]),
            "label": int(labels.labels[j]),
            "status": str(labels.status[j]),
            "cost": float(labels.cost[j]),
            "hit": bool(hits[j]),
            "attempts": attempts,
            "pool_index": int(candidates.pool_index[index]),
        }
        rows.append(row)
    return rows


def history_digest(state: CampaignState) -> str:
    """A hash of the full history: equal digests mean bit-identical campaigns."""
    return hashlib.sha256(json.dumps(state.history, sort_keys=True).encode()).hexdigest()


def run_plain(config: CampaignConfig, timings: dict[str, list[float]] | None = None) -> CampaignState:
    """The whole loop as plain function calls: no Prefect, no MLflow, no checkpoint.

    ``timings`` (optional) collects seconds per step name, for the benchmark.
    """
    clock = timings if timings is not None else {}

    def timed(name: str, function: Any, *args: Any) -> Any:
        start = time.perf_counter()
        result = function(*args)
        clock.setdefault(name, []).append(time.perf_counter() - start)
        return result

    setup = timed("prepare", prepare, config)
    state = initial_state(setup)
    model: SSVAE | None = None
    for _ in range(config.iterations):
        model = timed("train", train, setup, state, model)
        proposal = timed("propose", propose, setup, state, model)
        labels = timed("label", label, setup, proposal, state.iteration, 1)
        state, _metrics = timed("measure", measure, setup, state, model, proposal, labels, 1)
    return state
