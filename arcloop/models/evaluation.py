"""The paper's split protocol and the semi-supervised vs supervised-only comparison.

Protocol (Zeng, Khan & Post 2024): the 1,373 distinct alloys (the two repeated formulas kept once) are
split 90:10 train/test; the train part 70:30 labelled/unlabelled; the unlabelled part 80:20
unlabelled/validation. With scikit-learn's ``train_test_split`` (the paper's tool; no stratification)
and ``random_state = seed`` this gives 864 / 296 / 75 / 138 alloys. The validation alloys are used
for early stopping only. ``n_labelled`` below 864 keeps a seeded random subset of the labelled
alloys and moves the rest, labels hidden, to the unlabelled pool (the data-efficiency study).
The supervised-only baseline is the same head ensemble, trained on the labelled alloys alone with the
same optimiser, schedule and early stopping (``SSVAE(objective="supervised")``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from arcloop.data import alloy_fractions, alloy_labels, load_alloys
from arcloop.errors import ArcloopError
from arcloop.models.cache import fit_cached
from arcloop.models.ssvae import SSVAE

TEST_FRACTION = 0.1
UNLABELLED_FRACTION = 0.3
VALIDATION_FRACTION = 0.2
SUBSETS: tuple[str, ...] = ("train", "validation", "test")


@lru_cache(maxsize=1)
def _dataset() -> tuple[np.ndarray, np.ndarray]:
    keep = ~load_alloys()["formula"].duplicated().to_numpy()
    return alloy_fractions()[keep], alloy_labels()[keep]


def distinct_alloys() -> tuple[np.ndarray, np.ndarray]:
    """(1373, 30) fractions and (1373,) labels: the dataset with repeated formulas kept once (first)."""
    X, y = _dataset()
    return X.copy(), y.copy()


@dataclass(frozen=True)
class Split:
    """Index arrays into :func:`distinct_alloys`."""

    labelled: np.ndarray
    unlabelled: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def paper_split(seed: int, n_labelled: int | None = None, n_alloys: int | None = None) -> Split:
    """The paper's 90:10 / 70:30 / 80:20 split with ``random_state = seed`` (see the module docstring)."""
    n = len(_dataset()[1]) if n_alloys is None else n_alloys
    index = np.arange(n)
    train, test = train_test_split(index, test_size=TEST_FRACTION, random_state=seed)
    labelled, unlabelled = train_test_split(train, test_size=UNLABELLED_FRACTION, random_state=seed)
    unlabelled, validation = train_test_split(unlabelled, test_size=VALIDATION_FRACTION, random_state=seed)
    if n_labelled is not None and (isinstance(n_labelled, bool) or not 1 <= n_labelled <= len(labelled)):
        raise ArcloopError(f"labelled: expected an integer in [1, {len(labelled)}], got {n_labelled!r}")
    if n_labelled is not None and n_labelled < len(labelled):
        order = np.random.default_rng([seed, 7]).permutation(len(labelled))
        unlabelled = np.concatenate([unlabelled, labelled[order[n_labelled:]]])
        labelled = labelled[order[:n_labelled]]
    return Split(labelled, unlabelled, validation, test)


def classification_scores(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(accuracy at 0.5, ROC AUC); AUC is NaN when y has one class only."""
    accuracy = float(((p >= 0.5).astype(np.int64) == y).mean())
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return accuracy, auc


def _fit_and_score(model: SSVAE, X: np.ndarray, y: np.ndarray, split: Split, prefix: str) -> dict[str, float]:
    started = time.perf_counter()
    model.fit(
        X[split.labelled], y[split.labelled], X[split.unlabelled], X[split.validation], y[split.validation]
    )
    return _scores(model, X, y, split, prefix, time.perf_counter() - started)


def _scores(
    model: SSVAE, X: np.ndarray, y: np.ndarray, split: Split, prefix: str, seconds: float
) -> dict[str, float]:
    """Accuracy and AUC per subset, the fit's ``seconds`` and its kept epoch."""
    row: dict[str, float] = {f"{prefix}seconds": seconds}
    for subset, index in zip(SUBSETS, (split.labelled, split.validation, split.test), strict=True):
        accuracy, auc = classification_scores(model.predict_positive(X[index]), y[index])
        row[f"{prefix}{subset}_accuracy"] = accuracy
        row[f"{prefix}{subset}_auc"] = auc
    row[f"{prefix}best_epoch"] = float(model.history_["best_epoch"])
    return row


def train_on_split(
    seed: int,
    n_labelled: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    cached: bool = False,
    retrain: bool = False,
    on_fit: Callable[[], None] | None = None,
) -> tuple[SSVAE, dict[str, float]]:
    """Fit an SSVAE (``seed``: the split's and the model's ``random_state``) on one split; returns it
    and its scores.

    ``cached``: take the model from :mod:`arcloop.models.cache` if this fit was made before
    (``retrain``: fit anyway); ``seconds`` is then the stored fit's duration, not the look-up's.
    """
    X, y = _dataset()
    split = paper_split(seed, n_labelled)
    settings = {**(model_kwargs or {}), "random_state": seed}
    if not cached:
        return (model := SSVAE(**settings)), _fit_and_score(model, X, y, split, "")
    model = fit_cached(
        settings,
        X[split.labelled],
        y[split.labelled],
        X[split.unlabelled],
        key_parts=("paper_split", seed, n_labelled),
        X_val=X[split.validation],
        y_val=y[split.validation],
        retrain=retrain,
        on_fit=on_fit,
    )
    return model, _scores(model, X, y, split, "", float(model.history_.get("seconds", float("nan"))))


def evaluate_seed(
    seed: int,
    n_labelled: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    supervised: bool = True,
) -> dict[str, float]:
    """Scores of one split: the SSVAE's and (``supervised``) the supervised-only head's (``supervised_*``)."""
    X, y = _dataset()
    split = paper_split(seed, n_labelled)
    kwargs = {**(model_kwargs or {}), "random_state": seed}
    row: dict[str, float] = {
        "seed": seed,
        "n_labelled": len(split.labelled),
        "n_unlabelled": len(split.unlabelled),
        "n_validation": len(split.validation),
        "n_test": len(split.test),
    }
    row.update(_fit_and_score(SSVAE(**kwargs), X, y, split, ""))
    if supervised:
        baseline = SSVAE(**{**kwargs, "objective": "supervised"})
        row.update(_fit_and_score(baseline, X, y, split, "supervised_"))
    return row


def summarise(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    """Mean and standard deviation (ddof 0) of every score over seeds, median seconds per fit."""
    summary: dict[str, Any] = {
        "seeds": [int(r["seed"]) for r in per_seed],
        "n_labelled": int(per_seed[0]["n_labelled"]),
    }
    for prefix in ("", "supervised_"):
        for subset in SUBSETS:
            for metric in ("accuracy", "auc"):
                key = f"{prefix}{subset}_{metric}"
                if key in per_seed[0]:
                    values = np.array([r[key] for r in per_seed])
                    summary[f"{key}_mean"] = float(values.mean())
                    summary[f"{key}_std"] = float(values.std())
        if f"{prefix}seconds" in per_seed[0]:
            summary[f"{prefix}seconds_per_fit_median"] = float(
                np.median([r[f"{prefix}seconds"] for r in per_seed])
            )
    summary["per_seed"] = per_seed
    return summary


def evaluate(
    seeds: list[int],
    n_labelled: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    supervised: bool = True,
) -> dict[str, Any]:
    """:func:`evaluate_seed` for every seed, then :func:`summarise`."""
    if not seeds:
        raise ArcloopError("seeds: give at least one split seed, e.g. 0-4")
    return summarise([evaluate_seed(seed, n_labelled, model_kwargs, supervised) for seed in seeds])
