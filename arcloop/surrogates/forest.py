"""``forest``: a random forest (or extra trees) on descriptors + fractions; draws are trees."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

from arcloop.materials import descriptor_matrix, validate_compositions
from arcloop.params import validated_init
from arcloop.surrogates.base import BaseSurrogate, check_xy
from arcloop.surrogates.trees import bagged_trees


def forest_features(X: np.ndarray, features: str) -> np.ndarray:
    """(n, 8) descriptors, or (n, 38) descriptors then the 30 fractions (X already validated)."""
    F = descriptor_matrix(X, validate=False)
    return F if features == "descriptors" else np.hstack([F, X])


class ForestSurrogate(BaseSurrogate):
    """scikit-learn random forest (``kind="random"``) or extra trees (``"extra"``), a practitioner's default.

    The trees are those ``RandomForestClassifier`` / ``ExtraTreesClassifier(bootstrap=True)`` grow with
    the same ``n_estimators``, ``min_samples_leaf`` and ``random_state``, bit for bit
    (:func:`arcloop.surrogates.trees.bagged_trees`; tests/test_surrogates.py compares them).

    Inputs: the 8 descriptors (:func:`arcloop.materials.descriptor_matrix`) and, with
    ``features="descriptors+fractions"`` (default), the 30 atomic fractions. p_mean is the forest's
    ``predict_proba`` (the mean over all ``n_estimators`` trees). The draws are the probabilities of
    single phase of the first S = min(``n_draws``, ``n_estimators``) trees (all of them by default, so
    the mean of the draws is p_mean): the trees are i.i.d.
    given the data (each grown on its own bootstrap sample with its own feature draws), so any S of
    them are S samples of the bagging posterior. A tree predicts with the class share of its leaf,
    so a draw is not only 0 or 1. No warm start: a forest is grown again on each fit, because its
    data change. Far from the data a tree extrapolates its last
    split, so the spread of the draws does not grow outside the hull of the data: the forest's
    uncertainty is disagreement between bootstrap fits, not distance (tests/test_surrogates.py).
    """

    name: ClassVar[str] = "forest"

    @validated_init
    def __init__(
        self,
        n_estimators: Annotated[int, Field(ge=1)] = 200,
        kind: Literal["random", "extra"] = "random",
        features: Literal["descriptors+fractions", "descriptors"] = "descriptors+fractions",
        min_samples_leaf: Annotated[int, Field(ge=1)] = 1,
        n_draws: Annotated[int, Field(ge=1)] | None = None,
        random_state: Annotated[int, Field(ge=0)] = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.kind = kind
        self.features = features
        self.min_samples_leaf = min_samples_leaf
        self.n_draws = n_draws
        self.random_state = random_state
        self.trees_: list[DecisionTreeClassifier] | None = None
        self.classes_: np.ndarray | None = None

    def fit(
        self, X: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, model: object = None
    ) -> ForestSurrogate:
        """Grow the forest on (m, 30) compositions and 0/1 labels; ``z`` and ``model`` are ignored."""
        compositions, labels = check_xy(X, y, self.name)
        self.classes_, encoded = np.unique(labels.astype(np.int64), return_inverse=True)
        tree = DecisionTreeClassifier if self.kind == "random" else ExtraTreeClassifier
        leaf = self.min_samples_leaf
        features = np.ascontiguousarray(forest_features(compositions, self.features), dtype=np.float32)
        self.trees_ = bagged_trees(
            features,
            encoded.astype(np.float64),
            # bootstrap samples for extra trees too: the draws are then bootstrap fits, as the forest's
            lambda generator: tree(max_features="sqrt", min_samples_leaf=leaf, random_state=generator),
            self.n_estimators,
            self.random_state,
        )
        return self

    def _single_column(self, proba: np.ndarray) -> np.ndarray:
        """The probability of class 1 from a (..., n_classes) table (0 if only class 0 was seen)."""
        assert self.classes_ is not None
        classes = self.classes_.tolist()
        if 1 in classes:
            return proba[..., classes.index(1)]
        return np.zeros(proba.shape[:-1])

    def tree_probabilities(self, X: np.ndarray) -> np.ndarray:
        """(n_estimators, n) float64: each tree's probability of single phase (its leaf's class share).

        Each tree's leaf for every row (``apply``), then that leaf's class shares: the same numbers
        as ``tree.predict_proba`` per tree (tests/test_surrogates.py), without scikit-learn's
        per-call input checks.
        """
        self._check_fitted(self.trees_ is not None)
        assert self.trees_ is not None
        F = forest_features(validate_compositions(X, name=f"{self.name}.X"), self.features)
        F32 = np.ascontiguousarray(F, dtype=np.float32)
        out = np.empty((len(self.trees_), F.shape[0]))
        for t, tree in enumerate(self.trees_):
            value = tree.tree_.value[:, 0, :]  # (nodes, n_classes)
            shares = value / value.sum(axis=1, keepdims=True)
            out[t] = self._single_column(shares[tree.apply(F32, check_input=False)])
        return out

    def predict(self, X: np.ndarray, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(p_mean (n,) float64 over all trees, draws (S, n) float32 of the first S trees)."""
        trees = self.tree_probabilities(X)
        return trees.mean(axis=0), trees[: self.n_draws or self.n_estimators].astype(np.float32)
