"""Batch builders on constructed arrays: exclusion's guarantees, hand-computed cases, brute-force
references, the entropy score's history and Thompson slots under a builder."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcloop.metrics import direction_bin_index, step_directions
from arcloop.policies import (
    BatchPolicy,
    Candidates,
    Context,
    EntropyAcquisition,
    Exclusion,
    GreedyAcquisition,
    LocalPenalization,
    StaticScorer,
    TopK,
    UncertaintyAcquisition,
    build_policy,
    composition_distance,
)
from arcloop.policies.entropy import history_direction_counts

BUILTINS = ("greedy", "uncertainty", "entropy", "random", "thompson", "novelty")
E = np.eye(30)


class Fixed:
    """An acquisition with given static scores (any sign)."""

    name = "fixed"

    def __init__(self, scores: np.ndarray) -> None:
        self.values = np.asarray(scores, dtype=np.float64)

    def start(self, candidates, context, k, rng):
        return StaticScorer(self.values)


def brute_distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(len A, len B) at.% distances, half the L1 distance × 100, every pair (no tree, no walk)."""
    A, B = np.atleast_2d(A), np.atleast_2d(B)
    return 100.0 * 0.5 * np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    """n compositions, each a centre moved by up to 30 at.% towards a random composition."""
    t = rng.uniform(0.0, 0.3, size=(n, 1))
    noise = rng.dirichlet(np.full(30, 0.5), size=n)
    return (1.0 - t) * centres[rng.integers(len(centres), size=n)] + t * noise


def case(seed: int, n: int, m: int, d: int = 2, T: int = 4, iteration: int = 2):
    rng = np.random.default_rng(seed)
    centres = rng.dirichlet(np.full(30, 0.5), size=int(rng.integers(1, 5)))
    candidates = Candidates(
        z=rng.normal(size=(n, d)),
        compositions=clustered(rng, n, centres),
        p_samples=rng.uniform(size=(T, n)),
        pool_index=np.full(n, -1),
    )
    context = Context(
        rng.normal(size=(m, d)),
        rng.integers(-1, 2, size=m),
        iteration=iteration,
        explored_compositions=clustered(rng, m, centres),
        explored_origin=rng.integers(-1, iteration, size=m),
    )
    return candidates, context


def reference_exclusion(scores: np.ndarray, X: np.ndarray, explored: np.ndarray, radius: float, k: int):
    """Brute force: walk all candidates by (−score, index); keep one if it is at least ``radius`` from
    every explored composition and every kept one."""
    keep: list[int] = []
    near_explored = (
        (brute_distance(X, explored) < radius).any(axis=1) if len(explored) else np.zeros(len(X), bool)
    )
    for i in np.lexsort((np.arange(len(scores)), -scores)):
        if len(keep) == k:
            break
        if near_explored[i] or any(brute_distance(X[[i]], X[[j]])[0, 0] < radius for j in keep):
            continue
        keep.append(int(i))
    return np.asarray(keep, dtype=np.int64)


# --- the distance ---------------------------------------------------------------------------------


def test_composition_distance_is_atomic_percent_moved():
    fe, ni = E[0], E[1]
    assert composition_distance(fe, ni) == 100.0
    assert composition_distance(0.95 * fe + 0.05 * ni, fe) == pytest.approx(5.0, abs=1e-12)
    equi = np.full(30, 1 / 30)
    np.testing.assert_allclose(composition_distance(E[:3], equi), brute_distance(E[:3], equi[None])[:, 0])


# --- exclusion: the guarantees, against brute force --------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 60),
    m=st.integers(0, 25),
    k=st.integers(1, 20),
    radius=st.floats(0.0, 25.0, allow_nan=False),
    with_explored=st.booleans(),
)
def test_exclusion_never_spends_two_slots_on_one_discovery(seed, n, m, k, radius, with_explored):
    candidates, context = case(seed, n, m)
    if not with_explored:
        context = Context(context.labelled_z, context.labels, context.iteration)
    X = candidates.compositions
    explored = context.explored_compositions if with_explored else np.zeros((0, 30))
    builder = {"name": "exclusion", "params": {"radius": radius}}
    for name in BUILTINS:
        batch = build_policy(name, builder=builder).select(
            candidates, context, k, np.random.default_rng(seed)
        )
        assert batch.dtype == np.int64 and np.unique(batch).size == batch.size <= min(k, n)
        assert ((batch >= 0) & (batch < n)).all()
        pairs = brute_distance(X[batch], X[batch])[~np.eye(batch.size, dtype=bool)]
        assert (pairs >= radius - 1e-9).all(), name
        if len(explored):
            assert (brute_distance(X[batch], explored) >= radius - 1e-9).all(), name
        # and it never stops early: a short batch means every other candidate is excluded
        if batch.size < min(k, n):
            rest = np.setdiff1d(np.arange(n), batch)
            blocked = (brute_distance(X[rest], X[batch]) < radius + 1e-9).any(axis=1)
            if len(explored):
                blocked |= (brute_distance(X[rest], explored) < radius + 1e-9).any(axis=1)
            assert blocked.all(), name
    # a static score: exactly the brute-force walk
    scores = np.round(np.random.default_rng(seed + 1).uniform(size=n), 1)  # ties on purpose
    ours = BatchPolicy(Fixed(scores), Exclusion(radius)).select(
        candidates, context, k, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(ours, reference_exclusion(scores, X, explored, radius, k))


@pytest.mark.parametrize(("seed", "k"), list(product((0, 1, 2), (1, 5, 16))))
def test_top_k_greedy_is_the_old_greedy_and_radius_zero_is_top_k(seed, k):
    candidates, context = case(seed, 200, 30)
    old = np.lexsort((np.arange(200), -candidates.p_mean))[:k]  # the old GreedyPolicy.select
    greedy = build_policy("greedy", builder="top_k").select(candidates, context, k, np.random.default_rng(0))
    np.testing.assert_array_equal(greedy, old)
    for name in BUILTINS:
        top = build_policy(name, builder="top_k").select(candidates, context, k, np.random.default_rng(seed))
        zero = build_policy(name, builder={"name": "exclusion", "params": {"radius": 0}}).select(
            candidates, context, k, np.random.default_rng(seed)
        )
        np.testing.assert_array_equal(zero, top, err_msg=name)
        assert top.size == k


def twins_case():
    """Three near-identical compositions (≤ 2 at.% apart) with p̄ 0.9, 0.89, 0.88, one far with p̄ 0.5."""
    X = np.vstack([E[0], 0.99 * E[0] + 0.01 * E[1], 0.98 * E[0] + 0.02 * E[2], 0.5 * E[3] + 0.5 * E[4]])
    p = np.array([[0.9, 0.89, 0.88, 0.5]])
    return Candidates(z=np.arange(8.0).reshape(4, 2), compositions=X, p_samples=p, pool_index=np.full(4, -1))


def test_exclusion_takes_one_twin_then_the_far_candidate():
    candidates = twins_case()
    rng = np.random.default_rng(0)
    top = build_policy("greedy", builder="top_k").select(candidates, Context.empty(2), 3, rng)
    np.testing.assert_array_equal(top, [0, 1, 2])
    excl = build_policy("greedy").select(candidates, Context.empty(2), 3, rng)  # default: exclusion, 5 at.%
    np.testing.assert_array_equal(excl, [0, 3])  # a shorter batch, never a second twin
    # with the far one already explored, only one twin is left to take
    explored = Context(np.zeros((1, 2)), np.array([-1]), explored_compositions=candidates.compositions[[3]])
    np.testing.assert_array_equal(build_policy("greedy").select(candidates, explored, 3, rng), [0])
    # without explored compositions only the picks are kept apart
    blind = Context(np.zeros((1, 2)), np.array([-1]))
    np.testing.assert_array_equal(build_policy("greedy").select(candidates, blind, 3, rng), [0, 3])
    # a radius below the twins' spacing (1 at.% between 0 and 1, 2 at.% between 0 and 2) lets them in
    np.testing.assert_array_equal(build_policy("greedy", 1.5).select(candidates, blind, 3, rng), [0, 2, 3])


# --- local penalisation: hand-computed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rho", "c", "expected"),
    [
        # φ(4) = 1 − exp(−16/50) = 0.273851: B is worth 0.8 · 0.273851 = 0.219081 after A
        (5.0, 0.2192, [0, 2, 1]),
        (5.0, 0.2189, [0, 1, 2]),
        # φ(4) = 1 − exp(−16/8) = 0.864665: B is worth 0.691732 after A
        (2.0, 0.6918, [0, 2, 1]),
        (2.0, 0.6916, [0, 1, 2]),
    ],
)
def test_local_penalization_matches_hand_computation(rho, c, expected):
    # A = Fe, B = Fe96 Ni4 (4 at.% from A), C = Cr (100 at.% from both): φ(100) = 1 to double precision.
    X = np.vstack([E[0], 0.96 * E[0] + 0.04 * E[1], E[2]])
    candidates = Candidates(
        z=np.zeros((3, 2)), compositions=X, p_samples=np.array([[0.9, 0.8, c]]), pool_index=np.full(3, -1)
    )
    policy = BatchPolicy(GreedyAcquisition(), LocalPenalization(rho))
    np.testing.assert_array_equal(
        policy.select(candidates, Context.empty(2), 3, np.random.default_rng(0)), expected
    )


@pytest.mark.parametrize(("c", "expected"), [(-0.1356, [0, 2, 1]), (-0.1358, [0, 1, 2])])
def test_local_penalization_shifts_negative_scores(c, expected):
    # scores 0.4, 0.3, c, −0.3 (D far from everything): shift by 0.3, so B is worth 0.6 · 0.273851 =
    # 0.164311 after A and C is worth c + 0.3.
    X = np.vstack([E[0], 0.96 * E[0] + 0.04 * E[1], E[2], E[3]])
    candidates = Candidates(
        z=np.zeros((4, 2)), compositions=X, p_samples=np.full((1, 4), 0.5), pool_index=np.full(4, -1)
    )
    policy = BatchPolicy(Fixed(np.array([0.4, 0.3, c, -0.3])), LocalPenalization(5.0))
    np.testing.assert_array_equal(
        policy.select(candidates, Context.empty(2), 3, np.random.default_rng(0)), expected
    )


def reference_local_penalization(scores: np.ndarray, X: np.ndarray, rho: float, k: int) -> list[int]:
    """Brute force: every slot evaluates every candidate (n × |S| distances)."""
    batch: list[int] = []
    for _ in range(min(k, len(scores))):
        rest = [i for i in range(len(scores)) if i not in batch]
        shift = min(0.0, min(scores[i] for i in rest))
        values = []
        for i in rest:
            value = scores[i] - shift + 1e-9
            for j in batch:
                d = brute_distance(X[[i]], X[[j]])[0, 0]
                value *= 1.0 - math.exp(-(d**2) / (2.0 * rho**2))
            values.append(value)
        best = max(values)
        batch.append(min(i for i, v in zip(rest, values, strict=True) if v == best))
    return batch


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rho=st.floats(0.5, 20.0), k=st.integers(1, 8), signed=st.booleans())
def test_local_penalization_equals_brute_force(seed, rho, k, signed):
    # 600 candidates: the exact pruned walk spans several blocks of 256.
    candidates, context = case(seed, 600, 0)
    scores = np.round(np.random.default_rng(seed).uniform(size=600), 2) - (0.5 if signed else 0.0)
    ours = BatchPolicy(Fixed(scores), LocalPenalization(rho)).select(
        candidates, context, k, np.random.default_rng(0)
    )
    assert ours.tolist() == reference_local_penalization(scores, candidates.compositions, rho, k)


def test_local_penalization_looks_past_the_first_block():
    # 300 near-copies of Fe (≤ 0.6 at.% apart, p̄ 0.9 → 0.8) and one far alloy ranked 301st (p̄ 0.5).
    # After the first copy every other copy is worth at most 0.9 · (1 − exp(−0.6²/50)) < 0.01: the far
    # alloy (0.5) must come second, although it lies beyond the first block of the walk.
    n = 300
    X = np.vstack([E[0] + 0.006 * (E[1] - E[0]) * np.arange(n)[:, None] / n, E[2]])
    p = np.concatenate([np.linspace(0.9, 0.8, n), [0.5]])
    candidates = Candidates(
        z=np.zeros((n + 1, 2)), compositions=X, p_samples=p[None], pool_index=np.full(n + 1, -1)
    )
    batch = BatchPolicy(GreedyAcquisition(), LocalPenalization(5.0)).select(
        candidates, Context.empty(2), 2, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(batch, [0, n])


# --- entropy: the history counts --------------------------------------------------------------------


def unit(theta: float) -> np.ndarray:
    return np.array([math.cos(theta), math.sin(theta)])


def test_history_steps_start_from_what_was_known_before_each_batch():
    # O initial; P1 (iteration 0) at O + u(π/8); P2, P3 (iteration 1): P2 = P1 + u(5π/8),
    # P3 = P2 + 0.1·u(π/8). P3's nearest explored point is P2 (same batch), but the step counted is
    # from P1, the nearest point known before its batch: direction ≈ 5π/8 − 0.1 rad, cell 6, not 4.
    origin = np.zeros(2)
    P1 = origin + unit(math.pi / 8)
    P2 = P1 + unit(5 * math.pi / 8)
    P3 = P2 + 0.1 * unit(math.pi / 8)
    z = np.vstack([origin, P1, P2, P3])
    context = Context(z, np.array([1, 0, -1, 1]), iteration=2, explored_origin=np.array([-1, 0, 1, 1]))
    counts = history_direction_counts(context, 8)
    expected = np.zeros(8)
    expected[4], expected[6] = 1, 2  # by hand: ⌊(θ + π) / 2π · 8⌋ for θ = π/8, 5π/8, 1.864
    np.testing.assert_array_equal(counts, expected)
    # the same from the metric's own functions, batch by batch
    metric = np.zeros(8)
    for batch, before in (([1], [0]), ([2, 3], [0, 1])):
        cells = direction_bin_index(step_directions(z[batch], z[before]), 8)
        metric += np.bincount(cells, minlength=8)
    np.testing.assert_array_equal(counts, metric)
    assert history_direction_counts(Context(z, np.array([1, 0, -1, 1]), iteration=2), 8).sum() == 0


def direction_history_case(with_history: bool):
    """Initial point at O; five proposals of iteration 0 along π/8 (cell 4). Candidate a continues along
    π/8 (p̄ 0.8), candidate b goes the opposite way from O (−7π/8, cell 0; p̄ 0.7)."""
    proposals = np.vstack([r * unit(math.pi / 8) for r in (0.5, 1.0, 1.5, 2.0, 2.5)])
    z = np.vstack([np.zeros((1, 2)), proposals])
    origin = np.array([-1, 0, 0, 0, 0, 0]) if with_history else None
    context = Context(z, np.array([1, 1, 0, 1, 0, 1]), iteration=1, explored_origin=origin)
    cz = np.vstack([3.0 * unit(math.pi / 8), 0.5 * unit(-7 * math.pi / 8)])
    X = np.vstack([E[0], E[1]])
    candidates = Candidates(z=cz, compositions=X, p_samples=np.array([[0.8, 0.7]]), pool_index=np.full(2, -1))
    return candidates, context


@pytest.mark.parametrize("mode", ["direction", "both"])
def test_entropy_history_of_directions_redirects_the_batch(mode):
    # History h_4 = 5: a gains 0; b gains (6 ln 6 − 5 ln 5) / ln(5 + 1) = 1.509, so with β = 0.5 b scores
    # 0.7 + 0.754 > 0.8. Without history both gain 0 (one step has no entropy) and a wins on p̄.
    # (mode "both": both candidates sit in empty coverage cells, so coverage adds the same to each.)
    gain_b = (6 * math.log(6) - 5 * math.log(5)) / math.log(6)
    assert 0.7 + 0.5 * gain_b > 0.8
    for with_history, expected in ((True, 1), (False, 0)):
        candidates, context = direction_history_case(with_history)
        for builder in ("top_k", "exclusion"):
            policy = build_policy("entropy", beta=0.5, mode=mode, cell=0.1, builder=builder)
            assert policy.select(candidates, context, 1, np.random.default_rng(0))[0] == expected
        greedy = build_policy("greedy", builder="top_k").select(
            candidates, context, 1, np.random.default_rng(0)
        )
        zero = build_policy("entropy", beta=0.0, mode=mode, builder="top_k")
        np.testing.assert_array_equal(zero.select(candidates, context, 1, np.random.default_rng(0)), greedy)


@pytest.mark.parametrize(("beta", "expected"), [(0.0670, 1), (0.0655, 0)])
def test_entropy_direction_gain_is_normalised_by_the_history_length(beta, expected):
    # b beats a when 0.7 + β·(6 ln 6 − 5 ln 5)/ln 6 > 0.8, i.e. β > 0.1 / 1.50875 = 0.06628.
    candidates, context = direction_history_case(True)
    policy = build_policy("entropy", beta=beta, builder="top_k")
    assert policy.select(candidates, context, 1, np.random.default_rng(0))[0] == expected


def test_entropy_coverage_counts_the_explored_set():
    # Ten explored points in cell A = [0, 0.5)²; candidate a in A (p̄ 0.8), b in an empty cell (p̄ 0.7).
    # With them: a gains (12 ln 12 − 11 ln 11 − 11 ln 11 + 10 ln 10) / ln 12 = 0.037, b gains
    # (12 ln 12 − 11 ln 11) / ln 12 = 1.385 (one more explored point sits in a third cell), so b wins at
    # β = 0.5. Without the ten, both cells are empty, both gain the same and a wins on p̄.
    rng = np.random.default_rng(0)
    in_a = rng.uniform(0.05, 0.45, size=(10, 2))
    far = np.array([[3.1, 3.1]])
    cz = np.array([[0.25, 0.25], [1.25, 1.25]])
    X = np.vstack([E[0], E[1]])
    candidates = Candidates(z=cz, compositions=X, p_samples=np.array([[0.8, 0.7]]), pool_index=np.full(2, -1))

    def gain(N: int, c: int) -> float:
        total = (N + 1) * math.log(N + 1) - N * math.log(N)
        return (total - (c + 1) * math.log(c + 1) + (c * math.log(c) if c else 0.0)) / math.log(N + 1)

    assert 0.7 + 0.5 * gain(11, 0) > 0.8 + 0.5 * gain(11, 10)
    policy = build_policy("entropy", beta=0.5, mode="coverage", cell=0.5, builder="top_k")
    with_a = Context(np.vstack([far, in_a]), np.zeros(11, dtype=np.int64))
    without = Context(far, np.zeros(1, dtype=np.int64))
    assert policy.select(candidates, with_a, 1, np.random.default_rng(0))[0] == 1
    assert policy.select(candidates, without, 1, np.random.default_rng(0))[0] == 0


def test_entropy_under_exclusion_looks_beyond_its_top_m():
    # The 10 best by p̄ are near-copies of an explored alloy; top_m = 4 would offer only them. Exclusion
    # removes them and the scorer draws in the next candidates by p̄: a full batch of the far ones.
    n_twins, n_far = 10, 6
    base = 0.5 * E[0] + 0.5 * E[1]
    twins = base + 0.001 * (E[2] - E[0]) * np.arange(n_twins)[:, None]
    far = E[5 : 5 + n_far]
    X = np.vstack([twins, far])
    p = np.concatenate([np.linspace(0.95, 0.9, n_twins), np.linspace(0.6, 0.5, n_far)])
    rng = np.random.default_rng(1)
    candidates = Candidates(
        z=rng.normal(size=(16, 2)), compositions=X, p_samples=p[None], pool_index=np.full(16, -1)
    )
    context = Context(np.zeros((1, 2)), np.array([1]), explored_compositions=base[None])
    for mode in ("direction", "coverage"):
        policy = build_policy("entropy", beta=0.5, mode=mode, top_m=4)
        batch = policy.select(candidates, context, 5, np.random.default_rng(0))
        assert batch.size == 5 and (batch >= n_twins).all()


# --- thompson under a builder ---------------------------------------------------------------------


def thompson_twins_case():
    """T = 10 rows over 5 candidates (rankings as in test_policies), candidates 0 and 1 near-identical."""
    rankings = [[0, 1, 2, 3, 4]] * 5 + [[1, 2, 0, 3, 4]] * 3 + [[2, 0, 1, 4, 3]] * 2
    p = np.zeros((10, 5))
    for t, ranking in enumerate(rankings):
        for position, candidate in enumerate(ranking):
            p[t, candidate] = 0.9 - 0.1 * position
    X = np.vstack([E[0], 0.98 * E[0] + 0.02 * E[1], E[2], E[3], E[4]])
    candidates = Candidates(
        z=np.arange(10.0).reshape(5, 2), compositions=X, p_samples=p, pool_index=np.full(5, -1)
    )
    return candidates, rankings


def thompson_reference(rankings, rows, blocked_with):
    """Slot s takes the first candidate of ranking rows[s] that is not taken and not blocked by a pick."""
    batch: list[int] = []
    for row in rows:
        pick = next(
            (c for c in rankings[row] if c not in batch and not any(blocked_with(c, b) for b in batch)), None
        )
        if pick is None:
            break
        batch.append(pick)
    return batch


def test_thompson_slot_s_uses_draw_row_s():
    candidates, rankings = thompson_twins_case()
    twins = lambda a, b: {a, b} == {0, 1}  # noqa: E731 - the only pair within 5 at.%
    policy = build_policy("thompson")  # exclusion, 5 at.%
    for seed in range(200):
        rows = np.random.default_rng(seed).choice(10, size=3, replace=False)
        chosen = policy.select(candidates, Context.empty(2), 3, np.random.default_rng(seed)).tolist()
        assert chosen == thompson_reference(rankings, rows, twins)
        chosen_top = build_policy("thompson", builder="top_k").select(
            candidates, Context.empty(2), 3, np.random.default_rng(seed)
        )
        assert chosen_top.tolist() == thompson_reference(rankings, rows, lambda a, b: False)


def test_thompson_with_exclusion_matches_exact_enumeration():
    candidates, rankings = thompson_twins_case()
    T = len(rankings)
    expected: dict[tuple[int, int], float] = {}
    for t1, t2 in product(range(T), repeat=2):
        first = rankings[t1][0]
        second = next(c for c in rankings[t2] if c != first and {c, first} != {0, 1})
        expected[(first, second)] = expected.get((first, second), 0.0) + 1.0 / T**2
    assert all(pair != (0, 1) and pair != (1, 0) for pair in expected)
    policy = build_policy("thompson")
    N = 4000
    counts: dict[tuple[int, int], int] = {}
    for s in range(N):
        a, b = policy.select(candidates, Context.empty(2), 2, np.random.default_rng(s)).tolist()
        counts[(a, b)] = counts.get((a, b), 0) + 1
    assert set(counts) <= set(expected)
    for pair, prob in expected.items():
        observed = counts.get(pair, 0) / N
        assert abs(observed - prob) <= 4.0 * math.sqrt(prob * (1 - prob) / N)


# --- the pruned uncertainty ranking (d >= 4) under exclusion -------------------------------------


@pytest.mark.parametrize("d", [4, 6])
def test_pruned_uncertainty_ranking_equals_full_scores_under_exclusion(d):
    rng = np.random.default_rng(d)
    n = 9000
    z = rng.normal(size=(n, d))
    p = 1.0 / (1.0 + np.exp(-(2.0 - np.linalg.norm(z, axis=1) + 0.3 * rng.normal(size=(6, n)))))
    centres = rng.dirichlet(np.full(30, 0.5), size=3)
    candidates = Candidates(
        z=z, compositions=clustered(rng, n, centres), p_samples=p, pool_index=np.full(n, -1)
    )
    context = Context(
        0.4 * rng.normal(size=(300, d)),
        np.ones(300, dtype=np.int64),
        explored_compositions=clustered(rng, 300, centres),
    )
    acquisition = UncertaintyAcquisition(alpha=0.5, lam=0.3, bandwidth=0.5)
    full = acquisition.scores(candidates, context)
    for builder in (TopK(), Exclusion(8.0)):
        ours = BatchPolicy(acquisition, builder).select(candidates, context, 12, rng)
        reference = BatchPolicy(Fixed(full), builder).select(candidates, context, 12, rng)
        np.testing.assert_array_equal(ours, reference)
    assert ours.size == 12


def test_entropy_acquisition_parameters_are_kept():
    acquisition = EntropyAcquisition()
    assert (acquisition.beta, acquisition.mode, acquisition.bins, acquisition.cell, acquisition.top_m) == (
        0.5,
        "direction",
        8,
        0.5,
        512,
    )
