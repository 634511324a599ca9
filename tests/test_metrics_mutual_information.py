"""Joint mutual information I(z; y): cases with a known answer, a brute-force count of the estimator's
formula in d dimensions, and scikit-learn as the independent count in one.

Tolerances come from the estimator's spread at n = 2000 (k = 3), measured over 100 seeds of each case
(2 cores, load ≈ 1.8): checkerboard mean 0.6932, sd 0.0003; independent mean 0.004, sd 0.007 (max 0.040);
1-D overlap mean 0.345, sd 0.010; 2-D overlap (an independent noise coordinate) mean 0.335, sd 0.009.
Shifted Gaussian class in d = 3 (:func:`test_the_estimate_follows_the_signal_and_its_quadrature_value`),
error against the quadrature value over 60 seeds: at most 0.035 for every shift, sd ≤ 0.014.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import digamma, xlogy
from scipy.stats import norm
from sklearn.feature_selection import mutual_info_classif

from arcloop.errors import ArcloopError
from arcloop.metrics import mutual_information

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


def test_disjoint_regions_give_ln2_that_no_single_coordinate_holds() -> None:
    z, y = checkerboard(np.random.default_rng(1))
    assert mutual_information(z, y) == pytest.approx(LN2, abs=0.003)
    # The information lives only in the pair: scikit-learn's per-coordinate estimate sees (almost) none.
    assert mutual_info_classif(z, y, n_neighbors=3, random_state=0).max() < 0.05


def brute_force_estimate(z: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """The documented estimator as plain loops over a full Chebyshev distance matrix (no trees, no jitter):
    coordinates over their standard deviation; for each point of a class of two or more, d_i the distance to
    its k_i-th nearest neighbour in its own class (k_i = min(k, class size − 1)), m_i the number of points of
    such classes strictly closer than d_i (i included); then ψ(N) − ⟨ψ(N_{y_i})⟩ + ⟨ψ(k_i)⟩ − ⟨ψ(m_i)⟩,
    clipped at 0."""
    scale = z.std(axis=0)
    points = z / np.where(scale > 0.0, scale, 1.0)
    distance = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2)
    size = np.array([int((y == label).sum()) for label in y])
    kept = np.flatnonzero(size > 1)
    sizes, ks, counts = [], [], []
    for i in kept:
        own = np.flatnonzero((y == y[i]) & (np.arange(len(y)) != i))
        k_i = min(k, own.size)
        d_i = np.sort(distance[i, own])[k_i - 1]
        sizes.append(size[i])
        ks.append(k_i)
        counts.append(sum(1 for j in kept if distance[i, j] < d_i))
    estimate = digamma(kept.size) - digamma(sizes).mean() + digamma(ks).mean() - digamma(counts).mean()
    return max(0.0, float(estimate))


def _cases(rng: np.random.Generator, n: int = 500) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    z_check, y_check = checkerboard(rng, n)
    z_over, y_over = overlap(rng, n)
    y_three = rng.integers(0, 3, n)
    y_single = np.r_[rng.integers(0, 2, n - 1), 2]  # class 2 has one point: left out
    return {
        "independent": (rng.normal(size=(n, 3)), rng.integers(0, 2, n)),  # raw < 0 at k = 1, 3, 7: the clip
        "checkerboard": (z_check, y_check),
        "overlap_and_noise": (np.column_stack([z_over[:, 0], rng.uniform(size=n)]), y_over),
        "three_classes": (rng.normal(size=(n, 3)) + np.outer(y_three, [1.0, 0.5, 0.0]), y_three),
        "a_lone_point": (rng.normal(size=(n, 2)) + 0.8 * y_single[:, None], y_single),
    }


@pytest.mark.parametrize(
    "case", ["independent", "checkerboard", "overlap_and_noise", "three_classes", "a_lone_point"]
)
def test_joint_estimate_is_the_brute_force_count_of_its_formula(case: str) -> None:
    z, y = _cases(np.random.default_rng(11))[case]
    for k in (1, 3, 7):
        assert mutual_information(z, y, n_neighbors=k) == pytest.approx(
            brute_force_estimate(z, y, k), abs=1e-12
        )


def _shifted_class_truth(shift: float) -> float:
    """I(z; y) for y ~ Bernoulli(½), z₀ | y ~ N(shift·y, 1), other coordinates independent noise: the
    information is z₀'s, H(y) − E H(y | z₀), by quadrature."""

    def integrand(x: float) -> float:
        p0, p1 = norm.pdf(x), norm.pdf(x, loc=shift)
        q = p1 / (p0 + p1)
        return 0.5 * (p0 + p1) * (LN2 + xlogy(q, q) + xlogy(1.0 - q, 1.0 - q))

    return quad(integrand, -12.0, 12.0 + shift)[0]


def test_the_estimate_follows_the_signal_and_its_quadrature_value() -> None:
    """Direction: in a 3-D code whose first coordinate carries the class with shift s, the estimate grows with
    s (0, 1, 2, 4; one draw of the noise for all, so the comparison is paired) and is within 0.05 of the
    quadrature value (0, 0.111, 0.337, 0.633). Stays put: rescaling or relabelling the coordinates."""
    rng = np.random.default_rng(12)
    y = rng.integers(0, 2, N)
    noise = rng.normal(size=(N, 3))
    estimates = []
    for shift in (0.0, 1.0, 2.0, 4.0):
        z = noise + np.outer(shift * y, [1.0, 0.0, 0.0])
        estimates.append(mutual_information(z, y))
        assert estimates[-1] == pytest.approx(_shifted_class_truth(shift), abs=0.05), shift
    assert estimates == sorted(estimates) and len(set(estimates)) == 4
    assert _shifted_class_truth(1.0) == pytest.approx(0.1114, abs=1e-4)
    z = noise + np.outer(2.0 * y, [1.0, 0.0, 0.0])
    assert mutual_information(z[:, [2, 0, 1]] * [1e3, 0.01, 7.0], y) == estimates[2]


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
    # Without a subsample the seed only draws the 1e-10 jitter, which moves no neighbour ranking here.
    assert mutual_information(z, y, seed=1) == mutual_information(z, y, seed=2)
    # max_points: the rows numpy.random.default_rng(seed) draws without replacement, as documented.
    sub = mutual_information(z, y, max_points=400, seed=1)
    chosen = np.sort(np.random.default_rng(1).choice(N, size=400, replace=False))
    assert sub == mutual_information(z[chosen], y[chosen])
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
