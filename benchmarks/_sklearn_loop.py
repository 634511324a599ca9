"""The speed reference of the screening benchmarks: a random forest + LCB loop written with
scikit-learn and numpy only."""

from __future__ import annotations

import time

import numpy as np
from sklearn.ensemble import RandomForestRegressor


def rf_lcb_loop(
    X: np.ndarray, utility: np.ndarray, initial: list[int], steps: int, seed: int
) -> tuple[float, list[int]]:
    """``steps`` picks after ``initial``: standardise X and the utility (larger is better) on the
    measured rows, ``RandomForestRegressor(100)``, mean + 2 std over the trees, the best unmeasured
    input. Returns the seconds of the loop and the picks in order (initial ones first)."""
    picked = [int(i) for i in initial]
    start = time.perf_counter()
    for t in range(steps):
        rest = np.setdiff1d(np.arange(len(utility)), picked)
        Xl, yl = X[picked], utility[picked]
        mu, sd = Xl.mean(0), Xl.std(0)
        sd[sd == 0] = 1
        ym, ys = yl.mean(), (yl.std() or 1.0)
        forest = RandomForestRegressor(n_estimators=100, random_state=seed * 100_000 + t)
        forest.fit((Xl - mu) / sd, (yl - ym) / ys)
        trees = np.stack([tree.predict((X[rest] - mu) / sd) for tree in forest.estimators_])
        picked.append(int(rest[np.argmax(trees.mean(0) + 2.0 * trees.std(0))]))
    return time.perf_counter() - start, picked
