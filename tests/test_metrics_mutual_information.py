"""Joint mutual information I(z; y): cases with a known answer, and scikit-learn as the independent count.

Tolerances come from the estimator's spread at n = 2000 (k = 3), measured over 100 seeds of each case
(2 cores, load ≈ 1.8): checkerboard mean 0.6932, sd 0.0003; independent mean 0.004, sd 0.007 (max 0.040);
1-D overlap mean 0.345, sd 0.010; 2-D overlap (an independent noise coordinate) mean 0.335, sd 0.009.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_classif

from arcloop.errors import ArcloopError
from arcloop.metrics import max_marginal_mutual_information, mutual_information

N = 2000
LN2 = math.log(2.0)


def checkerboard(rng: np.random.Generator, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """y ~ Bernoulli(½); z | y uniform on two opposite squares of a 2×2 checkerboard (0.2 gaps between).

    The four squares are disjoint, so y is a function of z: I(z; y) = H(y) = ln 2. Each coordinate alone is
    independent of y (both classes put half their mass on each side of 0): I(z_j; y) = 0.
    """
    y = rng.integers(0, 2, n)
    side = rng.choice([-1.0, 1.0], n)
    a = rng.uniform(0.1, 1.0, n) * side
    b = rng.uniform(0.1, 1.0, n) * side * np.where(y == 1, 1.0, -1.0)
    return np.column_stack([a, b]), y


def overlap(rng: np.random.Generator, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """y ~ Bernoulli(½); z | y=0 ~ U[0, 2], z | y=1 ~ U[1, 3]: I(z; y) = ½ ln 2.

    p(z) = ¼ on [0, 1] and [2, 3], ½ on [1, 2]. On [0, 1] ∪ [2, 3] (probability ½) z decides y, so
    H(y | z) = 0 there; on [1, 2] (probability ½) both classes have density ¼, so p(y | z) = ½ and
    H(y | z) = ln 2. Hence H(y | z) = ½ ln 2 and I = H(y) − H(y | z) = ln 2 − ½ ln 2 = ½ ln 2.
    """
    y = rng.integers(0, 2, n)
    return (rng.uniform(0.0, 2.0, n) + y)[:, None], y


def test_disjoint_regions_give_ln2_and_the_max_marginal_reading_misses_it() -> None:
    z, y = checkerboard(np.random.default_rng(1))
    assert mutual_information(z, y) == pytest.approx(LN2, abs=0.003)
    # The per-coordinate reading sees nothing: the information lives only in the pair.
    assert max_marginal_mutual_information(z, y) < 0.05


def test_independent_code_gives_about_zero() -> None:
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(N, 3)), rng.integers(0, 2, N)
    assert 0.0 <= mutual_information(z, y) < 0.04


def test_overlapping_classes_give_half_ln2_in_1d_and_with_a_noise_coordinate() -> None:
    half = 0.5 * LN2
    z, y = overlap(np.random.default_rng(3))
    assert mutual_information(z, y) == pytest.approx(half, abs=0.035)
    noise = np.random.default_rng(4).uniform(0.0, 1.0, N)
    # An independent coordinate adds no information: still ½ ln 2, not ½ ln 2 + anything.
    assert mutual_information(np.column_stack([z[:, 0], noise]), y) == pytest.approx(half, abs=0.035)
    # The same coordinate twice carries the same information once (a sum of marginals would double it).
    assert mutual_information(np.column_stack([z[:, 0], 3.0 * z[:, 0]]), y) == pytest.approx(half, abs=0.035)


@pytest.mark.parametrize("case", ["overlap", "gaussians", "three_classes"])
def test_one_dimensional_estimate_is_sklearns(case: str) -> None:
    rng = np.random.default_rng(5)
    if case == "overlap":
        z, y = overlap(rng, 1500)
    elif case == "gaussians":
        y = rng.integers(0, 2, 1500)
        z = rng.normal(loc=1.5 * y, scale=1.0)[:, None]
    else:
        y = rng.integers(0, 3, 1500)
        z = rng.normal(loc=y, scale=0.7)[:, None] * 40.0  # units do not matter
    for k in (1, 3, 7):
        expected = mutual_info_classif(z, y, discrete_features=False, n_neighbors=k, random_state=0)[0]
        assert mutual_information(z, y, n_neighbors=k) == pytest.approx(expected, abs=1e-9)


def test_duplicates_are_split_by_the_seeded_jitter() -> None:
    y = np.repeat([0, 1], 500)
    z = y[:, None].astype(float)  # every point duplicated 499 times: zero k-NN radii without the jitter
    assert mutual_information(z, y) == pytest.approx(LN2, abs=0.003)
    stacked = np.column_stack([z[:, 0], np.zeros(1000)])  # a constant coordinate is left unscaled
    assert mutual_information(stacked, y) == pytest.approx(LN2, abs=0.003)


def test_seeding_subsampling_and_edge_cases() -> None:
    z, y = overlap(np.random.default_rng(6))
    assert mutual_information(z, y, seed=1) == mutual_information(z, y, seed=1)
    sub = mutual_information(z, y, max_points=400, seed=1)
    assert sub == mutual_information(z, y, max_points=400, seed=1)
    assert sub != mutual_information(z, y, max_points=400, seed=2)
    assert mutual_information(z, np.ones(N, dtype=int)) == 0.0
    assert math.isnan(mutual_information(z[:3], y[:3]))
    # A class of one point is left out; with a single class left the answer is 0.
    assert mutual_information(z[:10], np.array([1] + [0] * 9)) == 0.0
    with pytest.raises(ArcloopError, match="y:"):
        mutual_information(z, y[:10])
    for bad in (np.array(["a", "b", "a", "b"]), np.array([0.0, 0.5, 1.0, 1.0])):
        with pytest.raises(ArcloopError, match="y:"):
            mutual_information(z[:4], bad)
    with pytest.raises(ArcloopError, match="n_neighbors"):
        mutual_information(z, y, n_neighbors=0)


def test_max_marginal_reading_is_sklearns_per_coordinate_maximum() -> None:
    rng = np.random.default_rng(7)
    z = rng.normal(size=(1500, 3))
    y = (z[:, 1] > 0).astype(int)
    per_coordinate = mutual_info_classif(z, y, n_neighbors=3, random_state=0)
    assert max_marginal_mutual_information(z, y) == pytest.approx(per_coordinate.max())
    assert max_marginal_mutual_information(z, np.ones(1500, dtype=int)) == 0.0
