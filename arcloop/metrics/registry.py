"""Every per-iteration reading declared once: its name, meaning, direction and where it is shown.

MLflow, the checkpoint's metrics (the campaign history), the benchmark report, the trajectory figures
and the progress bar all read this table when they run, so one name has one meaning everywhere.
:func:`arcloop.metrics.iteration_metrics` returns exactly the names of :func:`declared` (plus
pass-through ``model/...`` and ``surrogate/...`` diagnostics). The built-in readings are computed in
:mod:`arcloop.metrics.iteration`; a reading added with :func:`register` carries its own ``compute``,
which gets the iteration's :class:`MetricInputs`, and needs no other edit to appear everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MetricInputs:
    """What one iteration's readings are computed from (checked arrays; see
    :func:`arcloop.metrics.iteration_metrics` for each one's meaning and frame)."""

    explored_z: np.ndarray  # (m, d) current-frame encodings of everything explored before this batch
    batch_z: np.ndarray  # (k, d) this batch, same frame
    hits: np.ndarray  # (P,) bool per proposal so far, this batch last: truth says target
    discoveries: np.ndarray  # (P,) bool: new distinct target
    paid: np.ndarray  # (P,) bool: label paid for
    explored_compositions: np.ndarray | None  # (m, 30)
    batch_compositions: np.ndarray | None  # (k, 30)
    holdout_p: np.ndarray | None  # (h,) surrogate's P(single phase) on the held-out alloys
    holdout_y: np.ndarray | None  # (h,) their TRUE labels


@dataclass(frozen=True)
class MetricSpec:
    """One reading. ``higher_is_better`` None: a description, not a score (e.g. a count of labels)."""

    name: str
    doc: str
    higher_is_better: bool | None = None
    unit: str = ""
    fmt: str = "{:.3g}"
    progress: bool = False  # shown in the campaign progress bar
    report: bool = False  # summarised in the benchmark report (final and AUC over iterations)
    trajectory: bool = False  # plotted in the campaign's metric_trajectories.png
    markdown: bool = False  # a column (its final value) of the report's Markdown table
    compute: Callable[[MetricInputs], float] | None = None  # None: computed by arcloop.metrics.iteration

    @property
    def short(self) -> str:
        """The name after the group, as the progress bar prints it."""
        return self.name.split("/", 1)[1]


METRICS: tuple[MetricSpec, ...] = (
    # discovery: against truth, per proposal (see arcloop.campaign.setup and docs/design.md)
    MetricSpec(
        "discovery/hits_batch",
        "proposals of this batch that truth says are targets (result returned)",
        True,
        "proposals",
        "{:.0f}",
    ),
    MetricSpec(
        "discovery/hits",
        "cumulative hits: proposals that truth says are targets (result returned)",
        True,
        "proposals",
        "{:.0f}",
        progress=True,
        report=True,
        trajectory=True,
    ),
    MetricSpec(
        "discovery/discoveries_batch",
        "hits of this batch that are new (>= target.novelty at.% from known alloys and earlier discoveries)",
        True,
        "alloys",
        "{:.0f}",
    ),
    MetricSpec(
        "discovery/discoveries",
        "cumulative distinct new targets: hits >= target.novelty at.% from known alloys and each other",
        True,
        "alloys",
        "{:.0f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
    ),
    MetricSpec(
        "discovery/labels_paid",
        "cumulative proposals paid for (labelled, dropped or failed; abstentions are free)",
        None,
        "labels",
        "{:.0f}",
        report=True,
    ),
    MetricSpec(
        "discovery/yield",
        "discoveries per label paid (dropped and failed labels in the denominator)",
        True,
        "1/label",
        "{:.3f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
    ),
    MetricSpec(
        "discovery/redundancy",
        "share of the batch within target.novelty at.% of an earlier proposal or batch member",
        False,
        "share",
        "{:.2f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
    ),
    MetricSpec(
        "discovery/fraction_found",
        "pool source: share of the pool's distinct target compositions found (NaN for generated ones)",
        True,
        "share",
        "{:.3f}",
        report=True,
    ),
    MetricSpec(
        "discovery/outside_family_share",
        "share of the distinct discoveries whose dominant element family is not the scenario's `family` "
        "(for a seed-family start: found outside the family it started in); composition space",
        None,
        "share",
        "{:.3f}",
        report=True,
    ),
    # bias of the explored set, in the current model's latent frame
    MetricSpec(
        "bias/isoscore",
        "IsoScore of the explored set (initial set + every proposal), current latent frame; 1 isotropic",
        True,
        "",
        "{:.2f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
    ),
    MetricSpec(
        "bias/top_eigen_share",
        "share of the explored set's variance along its first principal axis, current frame",
        False,
        "share",
        "{:.2f}",
        report=True,
    ),
    MetricSpec(
        "bias/effective_rank", "effective rank of the explored set's singular values, current frame", True
    ),
    MetricSpec(
        "bias/mean_resultant_length",
        "length of the mean unit step of the batch from its nearest explored point; 1 = all steps one way",
        False,
    ),
    MetricSpec("bias/orientation_erank", "effective rank of the batch steps' orientation tensor", True),
    MetricSpec(
        "bias/direction_entropy",
        "normalised entropy of the batch steps' directions, in [0, 1]",
        True,
        "",
        "{:.2f}",
        progress=True,
        report=True,
        trajectory=True,
    ),
    MetricSpec(
        "bias/family_evenness",
        "evenness of element-family shares of the explored set",
        True,
        "",
        "{:.2f}",
        report=True,
        trajectory=True,
    ),
    MetricSpec(
        "bias/family_js_divergence",
        "Jensen-Shannon divergence (bits) of explored vs dataset element-family shares",
        False,
        "bits",
        "{:.3f}",
        report=True,
        markdown=True,
    ),
    MetricSpec(
        "bias/lengthscale_anisotropy",
        "latent GP surrogate: largest / smallest ARD length-scale of its kernel on z (1 = isotropic); "
        "NaN for other surrogates",
        None,
        "ratio",
        "{:.2f}",
        report=True,
    ),
    # diversity, current latent frame
    MetricSpec(
        "diversity/vendi_batch",
        "Vendi score of the batch (RBF kernel, bandwidth fixed per campaign), current frame",
        True,
        "",
        "{:.2f}",
        report=True,
    ),
    MetricSpec(
        "diversity/vendi_explored",
        "Vendi score of the explored set, current frame",
        True,
        "",
        "{:.1f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
    ),
    MetricSpec(
        "diversity/mean_pairwise_distance", "mean latent distance between batch members, current frame", True
    ),
    MetricSpec(
        "diversity/novelty",
        "mean latent distance of the batch to its 5 nearest earlier explored points, current frame",
        True,
        "",
        "{:.3g}",
        report=True,
        trajectory=True,
    ),
    # model health against truth on the fixed held-out set: the surrogate policies read (p̄), the SSVAE
    MetricSpec(
        "model/accuracy", "accuracy of the surrogate's p >= 0.5 against truth on the held-out alloys", True
    ),
    MetricSpec(
        "model/roc_auc",
        "surrogate's ROC AUC against truth on the held-out alloys",
        True,
        "",
        "{:.3f}",
        trajectory=True,
    ),
    MetricSpec(
        "model/ece", "surrogate's expected calibration error (10 bins) against truth, held-out alloys", False
    ),
    MetricSpec(
        "model/mutual_information",
        "joint I(z; y) (nats), held-out alloys encoded without the classifier, truth labels",
        None,
        "nats",
    ),
    MetricSpec(
        "model/roundtrip_error",
        "latent source: mean distance of a sampled z to the encoding of its decoded, rounded composition",
        False,
        "latent units",
    ),
    MetricSpec(
        "model/frame_drift",
        "Procrustes residual of the loop rows' encoding against the previous iteration's",
        False,
        "share",
    ),
    MetricSpec("model/elbo", "ELBO per alloy of the loop's alloys (nats)", True, "nats"),
    MetricSpec("model/active_units", "latent dimensions with Var_x E[z|x] > 0.01", None, "dims"),
    # belief (what the loop was told / its surrogate predicts) against truth; composition space
    MetricSpec(
        "belief/reported_positive_gap",
        "share single phase among the labels the loop was told minus truth's share among the experiments "
        "it paid for (its proposals); 0 when told the truth, > 0 when negatives go unreported",
        None,
        "share",
        "{:.3f}",
        report=True,
    ),
    MetricSpec(
        "belief/holdout_optimism",
        "surrogate's mean P(single phase) on the held-out alloys minus truth's single-phase share of them "
        "(0: calibrated in the large; > 0: believes single phase commoner than it is)",
        None,
        "share",
        "{:.3f}",
        report=True,
    ),
    # acquisition
    MetricSpec("acquisition/bald_ratio", "mean BALD of the batch / mean over the candidates", None),
    MetricSpec(
        "acquisition/entropy_ratio", "mean predictive entropy of the batch / mean over the candidates", None
    ),
)

METRIC_NAMES: tuple[str, ...] = tuple(spec.name for spec in METRICS)
"""The built-in readings' names (what :func:`declared` holds when nothing was registered)."""

_registered: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> None:
    """Add a reading with its own ``compute``: from then on every consumer shows it as flagged."""
    if spec.name in METRIC_NAMES or spec.name in _registered:
        raise ValueError(f"metric {spec.name!r} is already declared")
    if spec.compute is None or "/" not in spec.name:
        raise ValueError(f"metric {spec.name!r}: give a 'group/name' and a compute(MetricInputs) function")
    _registered[spec.name] = spec


def declared() -> tuple[MetricSpec, ...]:
    """Every reading: the built-ins, then those registered, in order."""
    return (*METRICS, *_registered.values())


def registered() -> tuple[MetricSpec, ...]:
    """The readings added with :func:`register` (each with its ``compute``)."""
    return tuple(_registered.values())


def progress_metrics() -> tuple[MetricSpec, ...]:
    return tuple(spec for spec in declared() if spec.progress)


def report_metrics() -> tuple[str, ...]:
    return tuple(spec.name for spec in declared() if spec.report)


def trajectory_metrics() -> tuple[str, ...]:
    return tuple(spec.name for spec in declared() if spec.trajectory)


def markdown_metrics() -> tuple[str, ...]:
    return tuple(spec.name for spec in declared() if spec.markdown)
