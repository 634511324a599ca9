"""The oracle protocol: compositions in, a :class:`LabelBatch` out; instrument faults as exceptions.

An oracle is the simulated laboratory. It never guesses: an item it cannot label carries a
status other than ``ok`` and the label -1, never a made-up 0 or 1.

Randomness comes only from the ``rng`` argument of :meth:`Oracle.label` (a numpy Generator);
``rng=None`` means ``numpy.random.default_rng(oracle.seed)``. No oracle keeps random state
between calls, so a retried or resumed call with the same Generator state gives the same batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from annotated_types import Ge, Gt, Interval

from arcloop.errors import ArcloopError
from arcloop.materials import validate_compositions

OK = "ok"
FAILED = "failed"
DROPPED = "dropped"
ABSTAINED = "abstained"
STATUSES: tuple[str, ...] = (OK, FAILED, DROPPED, ABSTAINED)
"""Per-item status: labelled; the experiment failed; run but not reported; no answer possible."""
STATUS_DTYPE = np.dtype("<U9")
"""Wide enough for every status, so that assigning one into a status array never truncates it."""

MISSING_LABEL = -1
DEFAULT_COST_PER_LABEL = 1.0
"""Cost of one attempted label for every built-in oracle (``abstained`` items cost nothing)."""

# Parameter types shared by oracles and wrappers; pydantic enforces the bounds, and
# `arcloop oracles describe` prints them.
Probability = Annotated[float, Interval(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Ge(0.0)]
Positive = Annotated[float, Gt(0.0)]
Seed = Annotated[int, Ge(0)]


class OracleError(RuntimeError):
    """An instrument fault (not a user mistake): the caller may retry the call."""


class OracleFailure(OracleError):  # noqa: N818 (name fixed by the loop's contract)
    """The whole call failed, as an instrument run that crashes."""


class OracleTimeout(OracleError):  # noqa: N818 (name fixed by the loop's contract)
    """The call hung and was abandoned."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class LabelBatch:
    """Labels of n compositions, with per-item status and cost, and the call's wall time.

    ``labels`` (n,) int64: 1 single phase, 0 not, -1 wherever ``status`` is not ``ok``.
    ``status`` (n,) str from :data:`STATUSES`. ``cost`` (n,) float64, non-negative, in the
    oracle's cost unit (1.0 per attempted label by default). ``seconds``: wall seconds.
    The arrays are read-only; wrappers build new batches with :meth:`replace`.
    """

    labels: np.ndarray
    status: np.ndarray
    cost: np.ndarray
    seconds: float = 0.0
    _n: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = np.array(self.labels, dtype=np.int64).reshape(-1)
        status = np.array(self.status, dtype=np.str_).reshape(-1)
        unknown = ~np.isin(status, STATUSES)
        if unknown.any():
            raise ArcloopError(
                f"LabelBatch.status: unknown status {str(status[unknown][0])!r}; "
                f"use one of {', '.join(STATUSES)}"
            )
        status = status.astype(STATUS_DTYPE)
        cost = np.array(self.cost, dtype=np.float64).reshape(-1)
        n = labels.shape[0]
        if status.shape[0] != n or cost.shape[0] != n:
            raise ArcloopError(
                f"LabelBatch: labels, status and cost must have the same length, got "
                f"{n}, {status.shape[0]}, {cost.shape[0]}"
            )
        ok = status == OK
        if not np.isin(labels[ok], (0, 1)).all():
            raise ArcloopError("LabelBatch.labels: items with status 'ok' must be labelled 0 or 1")
        if (labels[~ok] != MISSING_LABEL).any():
            raise ArcloopError("LabelBatch.labels: items whose status is not 'ok' must carry the label -1")
        if not (np.isfinite(cost).all() and (cost >= 0.0).all()):
            raise ArcloopError("LabelBatch.cost: costs must be finite and non-negative")
        object.__setattr__(self, "labels", _frozen(labels))
        object.__setattr__(self, "status", _frozen(status))
        object.__setattr__(self, "cost", _frozen(cost))
        object.__setattr__(self, "seconds", float(self.seconds))
        object.__setattr__(self, "_n", n)

    def __len__(self) -> int:
        return self._n

    @property
    def ok(self) -> np.ndarray:
        """(n,) bool: items that carry a label."""
        return self.status == OK

    def counts(self) -> dict[str, int]:
        """Number of items per status, every status present as a key."""
        return {name: int((self.status == name).sum()) for name in STATUSES}

    def replace(
        self,
        *,
        labels: np.ndarray | None = None,
        status: np.ndarray | None = None,
        cost: np.ndarray | None = None,
        seconds: float | None = None,
    ) -> LabelBatch:
        """A new batch with some fields replaced (the rest shared)."""
        return LabelBatch(
            labels=self.labels if labels is None else labels,
            status=self.status if status is None else status,
            cost=self.cost if cost is None else cost,
            seconds=self.seconds if seconds is None else seconds,
        )

    def mark(self, mask: np.ndarray, status: str) -> LabelBatch:
        """Give the items in ``mask`` the status ``status`` (and the label -1 unless it is ``ok``)."""
        new_status = self.status.copy()
        new_status[mask] = status
        new_labels = self.labels.copy()
        if status != OK:
            new_labels[mask] = MISSING_LABEL
        return self.replace(labels=new_labels, status=new_status)


@runtime_checkable
class Oracle(Protocol):
    """What the campaign loop needs from an oracle (built-in, wrapped or plugin)."""

    requires_latent: bool

    def label(
        self,
        compositions: np.ndarray,
        rng: np.random.Generator | None = None,
        latent: np.ndarray | None = None,
    ) -> LabelBatch:
        """Label (n, 30) compositions; ``latent`` (n, d) is needed when ``requires_latent``."""
        ...


def resolve_rng(rng: np.random.Generator | None, seed: int) -> np.random.Generator:
    """The Generator a call draws from: ``rng`` itself, or a fresh one built from ``seed``."""
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise ArcloopError(
            "rng: expected a numpy Generator (numpy.random.default_rng(seed)) or None, "
            f"got {type(rng).__name__}"
        )
    return rng


def check_latent(latent: Any, n: int, name: str, required: bool, dim: int | None = None) -> np.ndarray | None:
    """Validate latent coordinates for n items: (n, d) finite float64, or None when not required."""
    if latent is None:
        if required:
            raise ArcloopError(
                f"latent: the {name!r} oracle labels latent points; call label(compositions, latent=Z) "
                "with Z of shape (n, latent_dim)"
            )
        return None
    array = np.asarray(latent, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != n:
        raise ArcloopError(
            f"latent: expected shape ({n}, d) to match the {n} compositions, got {array.shape}"
        )
    if dim is not None and array.shape[1] != dim:
        raise ArcloopError(
            f"latent: the {name!r} oracle is defined on a {dim}-D latent space, "
            f"got {array.shape[1]} columns; "
            "set its latent_dim parameter to match the model"
        )
    if not np.isfinite(array).all():
        raise ArcloopError("latent: coordinates must be finite")
    return array


class BaseOracle:
    """Convenience base for oracles: validation, the rng rule, cost and timing in one place.

    Subclasses set ``name`` and implement :meth:`_label`, returning (labels, status) arrays;
    labels of non-``ok`` items are overwritten with -1 here. Every attempted item costs
    ``cost_per_label``; ``abstained`` items cost nothing (no experiment was run).
    """

    name: ClassVar[str] = "base"
    requires_latent: ClassVar[bool] = False
    params: dict[str, Any]

    def __init__(self, seed: int = 0, cost_per_label: float = DEFAULT_COST_PER_LABEL) -> None:
        self.seed = int(seed)
        self.cost_per_label = float(cost_per_label)
        if not hasattr(self, "params"):
            self.params = {"seed": self.seed, "cost_per_label": self.cost_per_label}

    def label(
        self,
        compositions: np.ndarray,
        rng: np.random.Generator | None = None,
        latent: np.ndarray | None = None,
    ) -> LabelBatch:
        """Label (n, 30) compositions (rows of atomic fractions summing to 1)."""
        start = time.perf_counter()
        X = validate_compositions(compositions)
        Z = check_latent(latent, X.shape[0], self.name, self.requires_latent, self._latent_dim())
        generator = resolve_rng(rng, self.seed)
        if X.shape[0] == 0:  # an exhausted candidate source sends an empty batch; models refuse one
            return LabelBatch(
                np.zeros(0, np.int64), np.zeros(0, np.str_), np.zeros(0), time.perf_counter() - start
            )
        labels, status = self._label(X, generator, Z)
        status = np.asarray(status, dtype=np.str_)
        labels = np.where(status == OK, np.asarray(labels, dtype=np.int64), MISSING_LABEL)
        cost = np.where(status == ABSTAINED, 0.0, self.cost_per_label)
        return LabelBatch(labels, status, cost, time.perf_counter() - start)

    def _latent_dim(self) -> int | None:
        return None

    def _label(
        self, X: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Plain-data description: ``OracleConfig.model_validate(oracle.spec())`` rebuilds it."""
        return {"name": self.name, "params": dict(self.params), "wrappers": []}

    def diagnostics(self) -> dict[str, Any]:
        """Figures that `arcloop oracles describe` prints (none by default)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.name}({args})"


def all_ok(n: int) -> np.ndarray:
    """(n,) status array with every item ``ok``."""
    return np.full(n, OK, dtype=STATUS_DTYPE)


def agreement(predicted: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """How 0/1 predictions agree with 0/1 truth: accuracy, balanced accuracy, precision, recall.

    ``confusion`` is [[tn, fp], [fn, tp]]; ratios with an empty denominator are NaN.
    """
    p = np.asarray(predicted, dtype=np.int64)
    t = np.asarray(truth, dtype=np.int64)
    tp = int(((p == 1) & (t == 1)).sum())
    tn = int(((p == 0) & (t == 0)).sum())
    fp = int(((p == 1) & (t == 0)).sum())
    fn = int(((p == 0) & (t == 1)).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    recall = ratio(tp, tp + fn)
    specificity = ratio(tn, tn + fp)
    return {
        "n": int(t.size),
        "accuracy": ratio(tp + tn, t.size),
        "balanced_accuracy": (recall + specificity) / 2.0,
        "precision": ratio(tp, tp + fp),
        "recall": recall,
        "predicted_positive_rate": ratio(tp + fp, t.size),
        "confusion": [[tn, fp], [fn, tp]],
    }
