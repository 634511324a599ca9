"""The belief readings and the seed-family share, on cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arcloop.data import ELEMENTS
from arcloop.errors import ArcloopError
from arcloop.metrics.belief import holdout_optimism, reported_positive_gap
from arcloop.metrics.discovery import outside_family_share


def alloy(*symbols: str) -> np.ndarray:
    row = np.zeros(30)
    for symbol in symbols:
        row[ELEMENTS.index(symbol)] = 1.0 / len(symbols)
    return row


def test_outside_family_share_by_hand() -> None:
    X = np.array(
        [
            alloy("Fe", "Co", "Ni", "Cr"),  # 3d
            alloy("Ti", "Nb", "Mo", "Ta"),  # refractory
            alloy("Fe", "Co", "Ni", "Mn", "Al"),  # 3d dominant (80 %)
            alloy("Pd", "Pt", "Ru", "Fe"),  # noble, not a discovery
        ]
    )
    found = np.array([True, True, True, False])
    assert outside_family_share(X, found, "3d") == pytest.approx(1 / 3)
    assert outside_family_share(X, found, "refractory") == pytest.approx(2 / 3)
    # Proposals that are not discoveries do not move it; a new outside discovery does.
    assert outside_family_share(X, found, "3d") == outside_family_share(X[:3], found[:3], "3d")
    assert outside_family_share(X, np.ones(4, bool), "3d") == pytest.approx(2 / 4)
    assert math.isnan(outside_family_share(X, np.zeros(4, bool), "3d"))
    with pytest.raises(ArcloopError, match="family: unknown family '4d'"):
        outside_family_share(X, found, "4d")


def test_reported_positive_gap_by_hand() -> None:
    # 10 proposals, 4 truly single phase; 3 of the 6 negatives dropped (observed -1), all paid.
    true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    observed = np.array([1, 1, 1, 1, 0, 0, 0, -1, -1, -1])
    paid = np.ones(10, bool)
    assert reported_positive_gap(observed, true, paid) == pytest.approx(4 / 7 - 4 / 10)
    # Told the truth: 0. Results lost independently of the label (one of each class): still 0.
    assert reported_positive_gap(true, true, paid) == 0.0
    lost = true.copy()
    lost[[0, 1, 4, 5, 6]] = -1  # 2 of 4 positives, 3 of 6 negatives: the same share, 2/5 = 4/10
    assert reported_positive_gap(lost, true, paid) == pytest.approx(0.0)
    # Abstained proposals (not paid, no result) are on neither side.
    abstained = np.append(observed, -1), np.append(true, 1), np.append(paid, False)
    assert reported_positive_gap(*abstained) == pytest.approx(4 / 7 - 4 / 10)
    assert math.isnan(reported_positive_gap(np.full(3, -1), np.array([1, 0, 1]), np.ones(3, bool)))
    with pytest.raises(ArcloopError, match="observed"):
        reported_positive_gap(np.array([2, 0]), np.array([1, 0]), np.ones(2, bool))


def test_reported_positive_gap_matches_a_loop_over_rows() -> None:
    rng = np.random.default_rng(4)
    true = rng.integers(-1, 2, 200)
    observed = np.where(rng.random(200) < 0.7, rng.integers(0, 2, 200), -1)
    paid = rng.random(200) < 0.9
    told = [o for o in observed if o >= 0]
    real = [t for t, p in zip(true, paid, strict=True) if p and t >= 0]
    expected = sum(o == 1 for o in told) / len(told) - sum(t == 1 for t in real) / len(real)
    assert reported_positive_gap(observed, true, paid) == pytest.approx(expected, abs=1e-12)


def test_holdout_optimism_by_hand() -> None:
    y = np.array([1, 0, 0, 0])  # true share 0.25
    assert holdout_optimism(np.array([0.9, 0.5, 0.5, 0.1]), y) == pytest.approx(0.5 - 0.25)
    assert holdout_optimism(np.array([0.4, 0.2, 0.2, 0.2]), y) == pytest.approx(
        0.0
    )  # calibrated in the large
    # Ranking the alloys differently at the same mean does not move it (that is model/roc_auc's job).
    assert holdout_optimism(np.array([0.1, 0.5, 0.5, 0.9]), y) == pytest.approx(0.25)
    assert math.isnan(holdout_optimism(np.zeros(0), np.zeros(0, int)))
    with pytest.raises(ArcloopError, match="p, y: expected the same length"):
        holdout_optimism(np.array([0.5]), y)
