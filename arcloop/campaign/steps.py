"""The steps of one iteration as plain functions: train, propose, label, measure (which advances the
state and records the history).

``arcloop.tasks`` wraps each in a Prefect task and ``arcloop.flows.campaign`` orders them;
:func:`arcloop.campaign.plain.run_plain` runs the same loop with no orchestration or tracking (the
overhead baseline); the set-up they read is :mod:`arcloop.campaign.setup`.
All randomness is derived from (seed, iteration, purpose[, attempt]) with ``numpy.random.SeedSequence``,
so a resumed campaign draws exactly what an uninterrupted one draws.

The measurement model (docs/design.md, "Truth and observations", "What counts as a discovery"):

- *Truth* is the campaign's oracle without its observation wrappers. It labels the initial set, the
  held-out set and every proposal; model health and discoveries are scored against it.
- *Observations* are the wrapped oracle's answers (noise, drops, failures): what the loop is told and
  trains on. Real experimental labels enter only through the ``lookup`` oracle.
- A proposal is a *hit* when its experiment returned a result and truth says it is a target, and a
  *discovery* when the hit is at least ``target.novelty`` at.% from every alloy of the reference set
  and every earlier discovery. No composition is proposed twice.
- One frame per iteration: every latent point a policy or metric sees is the current model's
  encoding of a composition (for generated candidates, of the decoded and rounded composition).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from arcloop.campaign.setup import (
    CampaignSetup,
    Proposal,
    candidate_rows,
    composition_keys,
    derived_seed,
    explored_compositions,
    explored_labels,
    rng_for,
    unlabelled_rows,
)
from arcloop.campaign.state import DAMAGED_ADVICE, CampaignState, reading
from arcloop.candidates import latent_candidates, pool_candidates
from arcloop.data import ELEMENTS
from arcloop.errors import ArcloopError
from arcloop.materials import format_formula
from arcloop.metrics import (
    SAME_COMPOSITION,
    campaign_bandwidth,
    discovery_mask,
    iteration_metrics,
    nearest_distance,
    procrustes_disparity,
    redundancy_mask,
)
from arcloop.models import SSVAE
from arcloop.models.cache import fit_cached
from arcloop.oracles import LabelBatch
from arcloop.oracles.lab import answers_later
from arcloop.policies import (
    Candidates,
    Context,
)
from arcloop.surrogates import BaseSurrogate
from arcloop.targets import composition_rules_mask

SURROGATE_FILE = "surrogate.npz"


def new_model(setup: CampaignSetup) -> SSVAE:
    """The SSVAE with the loop's presets (warm-started refits), overridden by the config's ``model``."""
    # The campaign's seed is the model's random_state (each fit then sets its own derived one).
    settings = {**SSVAE.campaign_defaults(), **setup.config.model.kwargs(), "random_state": setup.config.seed}
    try:
        return SSVAE(**settings)
    except TypeError as error:
        valid = ", ".join(sorted(SSVAE().get_params()))
        raise ArcloopError(f"model: {str(error).split('() ')[-1]}; valid settings: {valid}") from None


@dataclass
class Models:
    """What ``train`` fits: the SSVAE (the latent frame, the decoder; refitted when ``model.refit``
    says so) and the surrogate the policies read (P(single phase) and its posterior draws).
    Checkpointed together: the surrogate's
    warm-start state (e.g. the GP's kernel) is part of what a resumed campaign must continue from."""

    ssvae: SSVAE
    surrogate: BaseSurrogate | None = None
    surrogate_state: dict[str, np.ndarray] = field(default_factory=dict)  # read back, not yet applied

    def save(self, path: Path) -> None:
        """The SSVAE's weights at ``path`` (tensors only); the surrogate's warm-start state beside it
        (:data:`SURROGATE_FILE`, plain arrays), if it keeps one. Nothing in a checkpoint is code."""
        self.ssvae.save(path)
        # A forest is grown afresh each iteration: it has no state to keep (its trees would add ~1.7 MB).
        # (a plugin surrogate without ``warm_state`` restarts cold on resume; see BaseSurrogate)
        state = getattr(self.surrogate, "warm_state", dict)() if self.surrogate is not None else {}
        if state:
            with Path(path).with_name(SURROGATE_FILE).open("wb") as handle:
                np.savez(handle, **state)

    @classmethod
    def load(cls, path: Path) -> Models:
        """What :meth:`save` wrote; the surrogate itself is rebuilt from the config by ``train``, which
        then restores the state read here. A damaged file is one :class:`ArcloopError` line."""
        surrogate_path = Path(path).with_name(SURROGATE_FILE)
        state: dict[str, np.ndarray] = {}
        if surrogate_path.exists():
            stored = surrogate_path
            with reading(stored, "surrogate state"), np.load(stored, allow_pickle=False) as arrays:
                state = {name: arrays[name] for name in arrays.files}
        try:
            return cls(SSVAE.load(path), None, state)
        except ArcloopError as error:
            raise ArcloopError(f"{path}: damaged model weights ({error}); {DAMAGED_ADVICE}") from None


def new_surrogate(setup: CampaignSetup) -> BaseSurrogate:
    """The configured surrogate, seeded from the campaign seed (one object for the whole campaign)."""
    return setup.config.surrogate.build(random_state=derived_seed(setup.config.seed, "surrogate"))


def first_fit(setup: CampaignSetup, state: CampaignState) -> SSVAE:
    """The campaign's iteration-0 SSVAE, from the on-disk model cache or fitted and stored there.

    Its key is everything the fit reads (settings with the seed, the labelled and unlabelled
    arrays): campaigns that differ only in policy or surrogate share it, so a benchmark can fit it
    once per group before their campaigns start (:func:`arcloop.grid.first_fit_outcome`).
    """

    def first_model() -> SSVAE:
        return new_model(setup).set_params(
            random_state=derived_seed(setup.config.seed, state.iteration, "train")
        )

    unlabelled = setup.pool_X[unlabelled_rows(setup, state)]
    return fit_cached(
        first_model, state.labelled_X, state.labelled_y, unlabelled, key_parts=("campaign-first-fit",)
    )


def train(setup: CampaignSetup, state: CampaignState, models: Models | None) -> Models:
    """Fit the SSVAE (warm-started when its settings say so) on the labelled set and the unlabelled
    pool, then the surrogate on the labelled set (with the SSVAE's encodings and the model itself).
    After the first iteration the SSVAE is refitted only when ``setup.refits_model``; otherwise the
    first fit stays, and with it the latent frame of the readings.

    The first fit depends only on the seed, the scenario's initial set, the model settings and the
    data, so it comes from the on-disk model cache (:func:`arcloop.models.cache.fit_cached`): the
    campaigns of a benchmark that share a seed and scenario fit it once. Hit or miss, the model is
    read back from the stored file, so a campaign is the same bit for bit either way.
    """
    if models is None:
        ssvae = first_fit(setup, state)
        surrogate = new_surrogate(setup)
    else:
        ssvae = models.ssvae
        if setup.refits_model:
            ssvae.set_params(random_state=derived_seed(setup.config.seed, state.iteration, "train"))
            ssvae.fit(state.labelled_X, state.labelled_y, setup.pool_X[unlabelled_rows(setup, state)])
        surrogate = models.surrogate
        if surrogate is None:  # read back from a checkpoint: rebuilt from the config, state restored
            surrogate = new_surrogate(setup)
            if models.surrogate_state:
                surrogate.restore_warm_state(models.surrogate_state)
    z = ssvae.encode(state.labelled_X) if surrogate.reads_latent else None
    surrogate.fit(state.labelled_X, state.labelled_y, z=z, model=ssvae)
    return Models(ssvae, surrogate)


class SurrogateScorer:
    """The :class:`~arcloop.policies.LatentModel` candidate generation reads: the SSVAE's encoder and
    decoder, and the surrogate's posterior draws (at most T of them; never a draw repeated)."""

    def __init__(self, models: Models) -> None:
        if models.surrogate is None:
            raise ArcloopError("models.surrogate: not fitted; call train first")
        self.ssvae = models.ssvae
        self.surrogate = models.surrogate

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.ssvae.encode(X)

    def decode(self, z: np.ndarray, p_single: float | None = None) -> np.ndarray:
        return self.ssvae.decode(z, p_single)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The surrogate's (p_mean, draws) of compositions X, given their encodings in this frame."""
        return self.surrogate.predict(X, z=self.ssvae.encode(X) if self.surrogate.reads_latent else None)

    def predict_proba_samples(self, X: np.ndarray, n_samples: int | None = None) -> np.ndarray:
        draws = self.predict(X)[1]
        return draws if n_samples is None else draws[:n_samples]


def propose(setup: CampaignSetup, state: CampaignState, models: Models) -> Proposal:
    """Candidates from the configured source, in this iteration's frame, scored by the surrogate's
    draws, and the policy's batch."""
    config = setup.config
    model = SurrogateScorer(models)
    explored_X = explored_compositions(setup, state)
    explored_z = model.encode(explored_X)
    rng = rng_for(config.seed, state.iteration, "candidates")
    roundtrip = math.nan
    if config.candidates.source == "pool":
        rows = candidate_rows(setup, state)
        # A composition is proposed once: pool rows equal to an explored composition, or to an
        # earlier row, are not candidates (the dataset spells six alloys twice).
        # The filter counts elements as the target does (threshold and all), so no target is
        # filtered out by a rule that repeats the target's own element count.
        feasibility = config.candidates.feasibility.model_copy(
            update={"element_threshold": config.target.element_threshold}
        )
        candidates = pool_candidates(
            model,
            setup.pool_X[rows],
            rows,
            config.candidates,
            labelled_compositions=explored_X,
            feasibility=feasibility,
            deduplicate="exact",
        )
    else:
        sampled = latent_candidates(model, config.candidates, explored_z, explored_X, rng)
        candidates = sampled
        if len(sampled):
            # One frame: the point a candidate stands at is the encoding of what would be made.
            encoded = model.encode(sampled.compositions)
            roundtrip = float(np.linalg.norm(sampled.z - encoded, axis=1).mean())
            candidates = Candidates(
                z=encoded,
                compositions=sampled.compositions,
                p_samples=sampled.p_samples,
                pool_index=sampled.pool_index,
                local=sampled.local,
            )
    if len(candidates) == 0:
        raise ArcloopError(
            f"iteration {state.iteration}: no feasible candidates; loosen candidates.feasibility "
            "or draw more with candidates.n_candidates"
        )
    candidates = scored_for_discovery(setup, state, candidates)
    context = Context(
        labelled_z=explored_z,
        labels=explored_labels(setup, state),
        iteration=state.iteration,
        explored_compositions=explored_X,
        explored_origin=np.concatenate(
            [np.full(len(setup.initial), -1, dtype=np.int64), state.proposed_iteration]
        ),
    )
    batch = setup.policy.select(
        candidates, context, config.batch_size, rng_for(config.seed, state.iteration, "policy")
    )
    return Proposal(
        candidates=candidates,
        batch=np.asarray(batch, dtype=np.int64),
        explored_z=explored_z,
        roundtrip_error=roundtrip,
    )


def discovery_possible(setup: CampaignSetup, state: CampaignState, X: np.ndarray) -> np.ndarray:
    """(n,) bool: the composition part of "would be a discovery", known before any experiment: the
    target's composition rules, and at least ``target.novelty`` at.% from the reference set and from
    every earlier discovery."""
    config = setup.config
    possible = composition_rules_mask(config.target, X, ELEMENTS) if len(X) else np.ones(0, dtype=bool)
    known = np.concatenate([setup.reference_X, state.proposed_X[state.proposed_discovery]])
    distance = nearest_distance(X, known)
    possible &= (distance >= config.target.novelty) & (distance > SAME_COMPOSITION)
    return possible


def scored_for_discovery(setup: CampaignSetup, state: CampaignState, candidates: Candidates) -> Candidates:
    """The candidates with their draws turned from P(single phase) into P(discovery): each draw times
    :func:`discovery_possible`. Policies rank by what the campaign counts, so a candidate that could
    only re-find a known alloy, or miss the target's element count, is worth 0 to every policy but
    random (which ignores scores)."""
    possible = discovery_possible(setup, state, candidates.compositions)
    return Candidates(
        z=candidates.z,
        compositions=candidates.compositions,
        p_samples=candidates.p_samples * possible[None, :],
        pool_index=candidates.pool_index,
        local=candidates.local,
    )


def label(setup: CampaignSetup, proposal: Proposal, iteration: int, attempt: int) -> LabelBatch:
    """One call of the observing oracle. ``attempt`` (1, 2, ...) gives each retry its own random draw."""
    latent = proposal.z if setup.observe.requires_latent else None
    rng = rng_for(setup.config.seed, iteration, "oracle", attempt)
    return setup.observe.label(proposal.compositions, rng=rng, latent=latent)


ASKED = "asked"  # the outcome of a journal line written before the call


def journal_oracle_call(
    state_dir: Path, iteration: int, attempt: int, n: int, outcome: str, seconds: float | None = None
) -> None:
    """Append one line to ``oracle_calls.jsonl``, the audit trail of what was asked and paid.

    Each call has two lines: ``outcome: asked`` written (and closed) before the oracle is called,
    then its outcome (``ok`` or the error's name) with its duration. A call that a kill interrupted
    has the first line only: it may have been paid, and the resume asks it again.
    """
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {"iteration": iteration, "attempt": attempt, "n": n, "outcome": outcome}
    if seconds is not None:
        record["seconds"] = round(seconds, 6)
    with open(Path(state_dir) / "oracle_calls.jsonl", "a") as journal:
        journal.write(json.dumps(record) + "\n")


def measure(
    setup: CampaignSetup,
    state: CampaignState,
    models: Models,
    proposal: Proposal,
    labels: LabelBatch,
    attempts: int,
) -> tuple[CampaignState, dict[str, float]]:
    """Truth's verdict on the batch, this iteration's metrics, and the advanced state."""
    config = setup.config
    model = models.ssvae
    assert models.surrogate is not None
    compositions = proposal.compositions
    if answers_later(setup.truth):
        # A laboratory's result is the only truth a new alloy has (see arcloop.oracles.lab).
        true = np.asarray(labels.labels, dtype=np.int64).copy()
    else:
        judged = setup.truth.label(compositions, rng=rng_for(config.seed, state.iteration, "truth"))
        true = np.where(judged.status == "ok", judged.labels, -1).astype(np.int64)
    ok = labels.status == "ok"
    # A hit needs a result: a dropped or failed true target was paid for and is not found.
    hit = ok & setup.is_target(compositions, true)
    radius = config.target.novelty
    discovery = discovery_mask(
        compositions, hit, setup.reference_X, state.proposed_X[state.proposed_discovery], radius
    )
    redundant = redundancy_mask(compositions, state.proposed_X, radius)
    proposals = {
        "proposed_X": compositions,
        "proposed_pool_index": proposal.candidates.pool_index[proposal.batch],
        "proposed_iteration": np.full(len(compositions), state.iteration, dtype=np.int64),
        "proposed_status": labels.status,
        "proposed_observed": labels.labels,
        "proposed_true": true,
        "proposed_hit": hit,
        "proposed_discovery": discovery,
    }
    all_hits = np.concatenate([state.proposed_hit, hit])
    all_discoveries = np.concatenate([state.proposed_discovery, discovery])
    all_paid = np.concatenate([state.paid, labels.status != "abstained"])
    fraction = math.nan
    if setup.n_pool_targets:
        found = set(composition_keys(np.concatenate([state.proposed_X, compositions])[all_hits]))
        fraction = len(found & setup.pool_target_keys) / setup.n_pool_targets
    loop_X = setup.pool_X[setup.loop_rows]
    pool_z = model.encode(loop_X)
    bandwidth = state.vendi_bandwidth
    if bandwidth is None:
        # Fixed once per campaign, from the first model's view of the pool: values stay comparable.
        bandwidth = float(campaign_bandwidth(pool_z))
    health = model.latent_health(loop_X)
    health["roundtrip_error"] = proposal.roundtrip_error
    health["frame_drift"] = (
        procrustes_disparity(state.previous_pool_z, pool_z) if state.previous_pool_z.size else math.nan
    )
    holdout_X = setup.pool_X[setup.holdout]
    holdout_y = setup.truth_y[setup.holdout]
    metrics = iteration_metrics(
        explored_z=proposal.explored_z,
        batch_z=proposal.z,
        explored_compositions=explored_compositions(setup, state),
        batch_compositions=compositions,
        pool_compositions=setup.pool_X,
        vendi_bandwidth=bandwidth,
        hits=all_hits,
        discoveries=all_discoveries,
        paid=all_paid,
        redundant=redundant,
        fraction_found=fraction,
        candidate_p_samples=proposal.candidates.p_samples,
        batch_index=proposal.batch,
        holdout_p=SurrogateScorer(models).predict(holdout_X)[0] if len(holdout_X) else None,
        holdout_y=holdout_y if len(holdout_X) else None,
        # Encodings with a fixed phase input (the prior), so the classifier cannot leak the label in.
        mi_z=model.encode(holdout_X, y=model.prior_single) if len(holdout_X) else None,
        mi_y=holdout_y if len(holdout_X) else None,
        model_stats=health,
        surrogate_stats=models.surrogate.diagnostics(),
        proposal_compositions=np.concatenate([state.proposed_X, compositions]),
        family=config.scenario.family,
        observed=np.concatenate([state.proposed_observed, labels.labels]),
        true_labels=np.concatenate([state.proposed_true, true]),
    )
    metrics = {key: float(value) for key, value in metrics.items()}
    metrics["oracle/attempts"] = float(attempts)
    metrics["oracle/cost"] = float(np.sum(labels.cost))
    for status in ("dropped", "failed", "abstained"):
        metrics[f"oracle/{status}"] = float(np.sum(labels.status == status))
    known = np.concatenate([setup.reference_X, state.proposed_X[state.proposed_discovery]])
    rows = _history_rows(
        state.iteration,
        proposal,
        labels,
        proposals,
        redundant,
        nearest_distance(compositions, known),
        attempts,
    )
    advanced = state.with_batch(
        proposals=proposals,
        pool_z=pool_z,
        rows=rows,
        metrics=metrics,
        oracle_calls=state.oracle_calls + attempts,
    )
    return replace(advanced, vendi_bandwidth=bandwidth), metrics


def _history_rows(
    iteration: int,
    proposal: Proposal,
    labels: LabelBatch,
    proposals: dict[str, np.ndarray],
    redundant: np.ndarray,
    novelty: np.ndarray,
    attempts: int,
) -> list[dict[str, Any]]:
    """One row per proposal. Column names match the metric names: ``hit`` sums to ``discovery/hits``,
    ``discovery`` to ``discovery/discoveries``, ``redundant`` averages to ``discovery/redundancy``."""
    candidates = proposal.candidates
    batch = proposal.batch
    z = candidates.z[batch]
    rows = []
    for j, index in enumerate(batch):
        row: dict[str, Any] = {
            "iteration": iteration,
            "formula": format_formula(candidates.compositions[index]),
            **{f"z{d}": float(z[j, d]) for d in range(z.shape[1])},
            "p_discovery": float(candidates.p_mean[index]),
            "uncertainty": float(candidates.p_std[index]),
            "bald": float(candidates.bald[index]),
            "status": str(labels.status[j]),
            "observed_label": int(labels.labels[j]),
            "true_label": int(proposals["proposed_true"][j]),
            "hit": bool(proposals["proposed_hit"][j]),
            "discovery": bool(proposals["proposed_discovery"][j]),
            "redundant": bool(redundant[j]),
            # at.% to the nearest known alloy or earlier discovery (inf when nothing is known)
            "novelty_at_pct": float(min(novelty[j], 1e9)),
            "cost": float(labels.cost[j]),
            "attempts": attempts,
            "pool_index": int(candidates.pool_index[index]),
        }
        rows.append(row)
    return rows


def history_digest(state: CampaignState) -> str:
    """A hash of the full history: equal digests mean bit-identical campaigns."""
    return hashlib.sha256(json.dumps(state.history, sort_keys=True).encode()).hexdigest()
