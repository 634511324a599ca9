"""Bagged trees grown one by one: the trees scikit-learn's forests grow, bit for bit, without the
forest's own per-tree work.

On the few hundred rows of a campaign, ``RandomForestRegressor.fit`` / ``RandomForestClassifier.fit``
spend more time cloning, seeding and re-validating each tree's parameters than growing it, once per
iteration. :func:`bagged_trees` grows the same trees with scikit-learn's public tree API:
tests/test_regressors.py and tests/test_surrogates.py compare them with the forests' own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from sklearn import config_context
from sklearn.tree import BaseDecisionTree
from sklearn.utils import check_random_state

Tree = TypeVar("Tree", bound=BaseDecisionTree)

TREE_SEED_BOUND = int(np.iinfo(np.int32).max)
"""Each tree's seed is drawn below this bound, as scikit-learn's ensembles draw it."""


def bagged_trees(
    X: np.ndarray,
    y: np.ndarray,
    make_tree: Callable[[np.random.RandomState], Tree],
    n_estimators: int,
    random_state: int | np.random.RandomState | None,
) -> list[Tree]:
    """``n_estimators`` trees from ``make_tree(generator)`` (an unfitted scikit-learn tree with the
    forest's tree parameters), each fitted on a bootstrap sample of (X, y), as a scikit-learn forest
    with ``bootstrap=True`` and the same ``random_state`` grows them.

    X: (n, d) float32, C-contiguous (the trees' own dtype). y: (n,) float64 — for a classifier the
    class indices (``np.unique(labels, return_inverse=True)``), as the forest passes them.
    Per tree, as in the forest's fit: the next integer seed drawn from ``random_state``; that seed
    draws the bootstrap sample (n rows with replacement, passed as row counts in ``sample_weight``)
    and, afresh, the tree's own random choices. Each returned tree's ``random_state`` is its seed.
    """
    seeds = check_random_state(random_state)
    targets = np.ascontiguousarray(y, dtype=np.float64).reshape(-1, 1)
    n = X.shape[0]
    # One generator re-seeded per tree: seeding an existing RandomState gives the state of a new
    # RandomState(seed), without building one (the costliest step of a small tree's fit).
    generator = np.random.RandomState(0)
    trees = []
    with config_context(skip_parameter_validation=True, assume_finite=True):
        for _ in range(n_estimators):
            seed = int(seeds.randint(TREE_SEED_BOUND))
            generator.seed(seed)
            counts = np.bincount(generator.randint(0, n, n), minlength=n).astype(np.float64)
            generator.seed(seed)
            tree = make_tree(generator)
            tree.fit(X, targets, sample_weight=counts, check_input=False)
            tree.random_state = seed  # the parameter it was grown with, not the shared generator
            trees.append(tree)
    return trees
