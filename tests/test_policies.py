"""Policies on constructed arrays: contracts, the must-show comparisons, the registry and the CLI.

Builder-specific behaviour (exclusion, local penalisation, history in the entropy score) is in
tests/test_builders.py; here the acquisitions' own scores are checked under ``top_k`` unless said."""

from __future__ import annotations

import json
import math
import textwrap
import warnings
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from arcloop import registry
from arcloop.cli import main
from arcloop.errors import ArcloopError
from arcloop.metrics import direction_entropy, step_directions
from arcloop.policies import (
    BatchPolicy,
    Candidates,
    Context,
    EntropyAcquisition,
    Exclusion,
    LabelledDensity,
    PluginPolicy,
    Policy,
    PolicyConfig,
    TopK,
    UncertaintyAcquisition,
    build_policy,
    top_k,
)

BUILTINS = ("greedy", "uncertainty", "entropy", "random", "thompson", "novelty")
BUILDERS = ("top_k", "exclusion", "local_penalization")


def make_candidates(
    z: np.ndarray, p_samples: np.ndarray, compositions: np.ndarray | None = None
) -> Candidates:
    """Candidates over latent points z with given probability samples (by default one composition for
    all: only builders that ignore compositions, i.e. top_k, may be used on them)."""
    n = z.shape[0]
    X = np.full((n, 30), 1.0 / 30.0) if compositions is None else compositions
    return Candidates(z=z, compositions=X, p_samples=p_samples, pool_index=np.full(n, -1))


def top(acquisition) -> BatchPolicy:
    """The acquisition under the top_k builder (its scores decide alone)."""
    return BatchPolicy(acquisition, TopK())


def random_case(seed: int, n: int = 300, d: int = 2, T: int = 8, m: int = 40, ties: bool = True):
    """Random latent points and samples; Dirichlet(0.3) compositions over 30 elements, which lie more than
    20 at.% apart (checked below), so no builder excludes anything."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d))
    p = rng.uniform(size=(T, n))
    if ties:  # coarse probabilities so that p̄ has many exact ties
        p = np.round(p * 4) / 4
    X = rng.dirichlet(np.full(30, 0.3), size=n)
    explored = rng.dirichlet(np.full(30, 0.3), size=m)
    context = Context(
        rng.normal(size=(m, d)),
        rng.integers(-1, 2, size=m),
        iteration=2,
        explored_compositions=explored,
        explored_origin=rng.integers(-1, 2, size=m),
    )
    return make_candidates(z, p, X), context


def reference_direction_entropy(U: np.ndarray, bins: int) -> float:
    """Independent d = 2 definition: normalised entropy of np.histogram of the angles over [-π, π)."""
    theta = np.arctan2(U[:, 1], U[:, 0])
    counts, _ = np.histogram(theta, bins=bins, range=(-np.pi, np.pi))
    q = counts[counts > 0] / counts.sum()
    return float(-(q * np.log(q)).sum() / np.log(bins))


# --- values -------------------------------------------------------------------------------------


def test_candidate_scores_match_their_definitions():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(16, 50))
    p[:, 0] = 0.3  # all samples agree: no epistemic uncertainty
    p[:, 1] = 0.0
    c = make_candidates(rng.normal(size=(50, 2)), p)

    def h(q):
        q = np.clip(q, 1e-300, 1.0)
        r = np.clip(1.0 - q, 1e-300, 1.0)
        return -(q * np.log(q) + r * np.log(r))

    np.testing.assert_allclose(c.p_mean, p.sum(axis=0) / 16)
    np.testing.assert_allclose(c.p_std, np.sqrt(((p - p.mean(axis=0)) ** 2).mean(axis=0)))
    np.testing.assert_allclose(c.predictive_entropy, h(p.mean(axis=0)), atol=1e-12)
    np.testing.assert_allclose(c.bald, h(p.mean(axis=0)) - h(p).mean(axis=0), atol=1e-12)
    assert c.bald[0] == pytest.approx(0.0, abs=1e-15) and c.bald[1] == 0.0
    assert not c.p_mean.flags.writeable and not c.z.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"p_samples": np.full((4, 9), 0.5)}, "p_samples"),
        ({"p_samples": np.full((4, 10), 1.5)}, "p_samples"),
        ({"p_samples": np.full(10, 0.5)}, "p_samples"),
        ({"compositions": np.full((10, 29), 1 / 29)}, "compositions"),
        ({"compositions": np.full((10, 30), 0.5)}, "compositions"),
        ({"pool_index": np.zeros(9, dtype=np.int64)}, "pool_index"),
        ({"pool_index": np.zeros(10)}, "pool_index"),
        ({"z": np.full((10, 2), np.nan)}, "z"),
        ({"local": np.zeros(10)}, "local"),
    ],
)
def test_candidates_reject_inconsistent_arrays(kwargs, field):
    arrays = {
        "z": np.zeros((10, 2)),
        "compositions": np.full((10, 30), 1 / 30),
        "p_samples": np.full((4, 10), 0.5),
        "pool_index": np.full(10, -1),
    }
    with pytest.raises(ArcloopError, match=field) as info:
        Candidates(**{**arrays, **kwargs})
    assert "\n" not in str(info.value)


def test_context_validation():
    with pytest.raises(ArcloopError, match="labels"):
        Context(np.zeros((3, 2)), np.zeros(2, dtype=np.int64))
    with pytest.raises(ArcloopError, match="labels"):
        Context(np.zeros((2, 2)), np.array([0, 2]))
    with pytest.raises(ArcloopError, match="labelled_z"):
        Context(np.zeros(3), np.zeros(3, dtype=np.int64))
    with pytest.raises(ArcloopError, match="iteration"):
        Context(np.zeros((1, 2)), np.zeros(1, dtype=np.int64), iteration=-1)
    one = {"labelled_z": np.zeros((2, 2)), "labels": np.zeros(2, dtype=np.int64), "iteration": 3}
    for bad, field in [
        ({"explored_compositions": np.full((3, 30), 1 / 30)}, "explored_compositions"),
        ({"explored_compositions": np.full((2, 29), 1 / 29)}, "explored_compositions"),
        ({"explored_compositions": np.full((2, 30), 0.5)}, "explored_compositions"),
        ({"explored_origin": np.zeros(3, dtype=np.int64)}, "explored_origin"),
        ({"explored_origin": np.zeros(2)}, "explored_origin"),
        ({"explored_origin": np.array([-2, 0])}, "explored_origin"),
        ({"explored_origin": np.array([0, 3])}, "explored_origin"),  # not earlier than iteration 3
    ]:
        with pytest.raises(ArcloopError, match=field) as info:
            Context(**one, **bad)
        assert "\n" not in str(info.value)
    good = Context(**one, explored_compositions=np.full((2, 30), 1 / 30), explored_origin=np.array([-1, 2]))
    assert not good.explored_compositions.flags.writeable and good.explored_origin.dtype == np.int64
    assert Context.empty(3).n_labelled == 0


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=40),
    k=st.integers(min_value=1, max_value=50),
)
def test_top_k_is_a_stable_sort_prefix(scores, k):
    values = np.asarray(scores, dtype=np.float64)
    expected = np.lexsort((np.arange(values.size), -values))[:k]
    np.testing.assert_array_equal(top_k(values, k), expected)


# --- contract shared by every policy ----------------------------------------------------------


def test_random_case_compositions_are_far_apart():
    candidates, context = random_case(3)
    X = np.vstack([candidates.compositions, context.explored_compositions])
    d = 50.0 * np.abs(X[:, None, :] - X[None, :, :]).sum(axis=2)
    assert d[~np.eye(len(X), dtype=bool)].min() > 20.0


@pytest.mark.parametrize(("name", "builder"), list(product(BUILTINS, BUILDERS)))
def test_policy_contract(name, builder):
    policy = build_policy(name, builder=builder)
    assert isinstance(policy, Policy) and isinstance(policy, BatchPolicy) and policy.name == name
    candidates, context = random_case(3)
    first = policy.select(candidates, context, 16, np.random.default_rng(7))
    again = policy.select(candidates, context, 16, np.random.default_rng(7))
    assert first.dtype == np.int64 and first.shape == (16,)
    assert len(set(first.tolist())) == 16 and first.min() >= 0 and first.max() < candidates.n
    np.testing.assert_array_equal(first, again)
    # more than there are: all of them, once each
    small = Candidates(
        z=candidates.z[:5],
        compositions=candidates.compositions[:5],
        p_samples=candidates.p_samples[:, :5],
        pool_index=candidates.pool_index[:5],
    )
    everything = policy.select(small, context, 16, np.random.default_rng(0))
    assert sorted(everything.tolist()) == [0, 1, 2, 3, 4]
    # nothing labelled yet is allowed
    assert len(policy.select(candidates, Context.empty(2), 4, np.random.default_rng(0))) == 4


@pytest.mark.parametrize(("name", "builder"), list(product(BUILTINS, BUILDERS)))
def test_policy_errors(name, builder):
    policy = build_policy(name, builder=builder)
    candidates, context = random_case(4, n=20)
    rng = np.random.default_rng(0)
    for bad_k in (0, -3, 2.5, True, "4"):
        with pytest.raises(ArcloopError, match="k"):
            policy.select(candidates, context, bad_k, rng)
    with pytest.raises(ArcloopError, match="empty"):
        policy.select(Candidates.empty(2, 8), context, 3, rng)
    with pytest.raises(ArcloopError, match="latent dimension"):
        policy.select(candidates, Context(np.zeros((4, 3)), np.ones(4, dtype=np.int64)), 3, rng)
    with pytest.raises(ArcloopError, match="rng"):
        policy.select(candidates, context, 3, 42)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    d=st.integers(1, 4),
    m=st.integers(0, 30),
    k=st.integers(1, 70),
)
def test_every_policy_returns_distinct_valid_indices(seed, n, d, m, k):
    candidates, context = random_case(seed, n=n, d=d, m=m, T=3)
    for name, builder in product(BUILTINS, BUILDERS):
        chosen = build_policy(name, builder=builder).select(
            candidates, context, k, np.random.default_rng(seed)
        )
        assert chosen.shape == (min(k, n),)
        assert np.unique(chosen).size == chosen.size
        assert ((chosen >= 0) & (chosen < n)).all()


# --- must show: the reductions to greedy ------------------------------------------------------


@pytest.mark.parametrize(("seed", "d", "k"), list(product((0, 1, 2), (1, 2, 3), (1, 7, 40))))
def test_zero_weights_reduce_to_greedy(seed, d, k):
    candidates, context = random_case(seed, d=d, ties=True)
    rng = np.random.default_rng(0)
    greedy = build_policy("greedy", builder="top_k").select(candidates, context, k, rng)
    for acquisition in (
        UncertaintyAcquisition(alpha=0.0, lam=0.0),
        UncertaintyAcquisition(alpha=0.0, lam=0.0, uncertainty="bald"),
        EntropyAcquisition(beta=0.0),
        EntropyAcquisition(beta=0.0, mode="both", top_m=5),
    ):
        np.testing.assert_array_equal(top(acquisition).select(candidates, context, k, rng), greedy)
    # and greedy is the top of p̄ with ties to the lower index
    order = np.lexsort((np.arange(candidates.n), -candidates.p_mean))
    np.testing.assert_array_equal(greedy, order[:k])


# --- must show: the bias penalty leaves a dense labelled cluster ---------------------------------


def dense_cluster_case():
    """Cluster A at (0, 0): p̄ ≈ 0.9 and 200 labelled points on it.
    Cluster B at (4, 4): p̄ ≈ 0.8, nothing labelled."""
    rng = np.random.default_rng(11)
    za = rng.normal(scale=0.1, size=(30, 2))
    zb = np.array([4.0, 4.0]) + rng.normal(scale=0.1, size=(30, 2))
    pa = 0.9 + rng.uniform(-0.02, 0.02, size=(8, 30))
    pb = 0.8 + rng.uniform(-0.02, 0.02, size=(8, 30))
    candidates = make_candidates(np.vstack([za, zb]), np.hstack([pa, pb]))
    context = Context(rng.normal(scale=0.15, size=(200, 2)), rng.integers(0, 2, size=200), iteration=5)
    return candidates, context


def test_bias_penalty_avoids_dense_labelled_cluster():
    candidates, context = dense_cluster_case()
    rng = np.random.default_rng(0)
    greedy = build_policy("greedy", builder="top_k").select(candidates, context, 10, rng)
    assert (greedy < 30).all()  # greedy re-samples the over-explored cluster A
    steered = top(UncertaintyAcquisition(alpha=0.0, lam=0.05)).select(candidates, context, 10, rng)
    assert (steered >= 30).all()  # λ·B pushes the whole batch to the unexplored cluster B
    bias = UncertaintyAcquisition().bias(candidates, context)
    assert bias[:30].min() > 10.0 and bias[30:].max() < 1e-6


@pytest.mark.parametrize("d", [3, 4, 5])
def test_bias_penalty_in_higher_dimensions_matches_full_scoring(d):
    # d >= 4 evaluates B on a pruned prefix; the batch must equal the top-k of the full scores.
    rng = np.random.default_rng(d)
    z = rng.normal(size=(9000, d))
    p = 1.0 / (1.0 + np.exp(-(2.0 - np.linalg.norm(z, axis=1) + 0.3 * rng.normal(size=(6, 9000)))))
    candidates = make_candidates(z, p)
    context = Context(0.4 * rng.normal(size=(300, d)), np.ones(300, dtype=np.int64))
    for lam in (0.01, 0.3, 5.0):
        acquisition = UncertaintyAcquisition(alpha=0.5, lam=lam, bandwidth=0.5)
        expected = top_k(acquisition.scores(candidates, context), 12)
        np.testing.assert_array_equal(top(acquisition).select(candidates, context, 12, rng), expected)


@pytest.mark.parametrize(("d", "tolerance"), [(1, 5e-3), (2, 5e-3), (3, 2.5e-2), (4, 1e-6), (6, 1e-6)])
def test_labelled_density_matches_direct_kernel_sums(d, tolerance):
    # d <= 3: binned grid (approximate, documented error); d >= 4: direct float32 sums.
    rng = np.random.default_rng(d)
    labelled = rng.normal(scale=0.5, size=(150, d))
    z = np.vstack([rng.normal(size=(300, d)), labelled[:100] + 0.2 * rng.normal(size=(100, d))])
    h = 0.3
    dist = np.linalg.norm(z[:, None, :] - labelled[None, :, :], axis=2)
    exact = np.where(dist <= 4 * h, np.exp(-0.5 * (dist / h) ** 2), 0.0).sum(axis=1)
    density = LabelledDensity(labelled, h)
    assert density.is_cheap == (d <= 3)
    assert np.abs(density(z) - exact).max() <= tolerance * exact.max()
    assert LabelledDensity(np.zeros((0, d)), h)(z).sum() == 0.0


def test_uncertainty_bonus_prefers_uncertain_candidates():
    # equal p̄ = 0.5; candidate 1 has spread samples, candidate 0 none
    p = np.array([[0.5, 0.1, 0.5], [0.5, 0.9, 0.4]])
    p[:, 2] = [0.55, 0.55]
    candidates = make_candidates(np.zeros((3, 2)) + np.arange(3)[:, None], p)
    context = Context.empty(2)
    rng = np.random.default_rng(0)
    assert build_policy("greedy", builder="top_k").select(candidates, context, 1, rng)[0] == 2
    for kind in ("std", "bald"):
        policy = top(UncertaintyAcquisition(alpha=1.0, lam=0.0, uncertainty=kind))
        assert policy.select(candidates, context, 1, rng)[0] == 1


# --- must show: entropy-weighted batches spread directions -------------------------------------


def one_direction_case():
    """Labelled point at the origin; 60 candidates along the angle π/8 (a bin centre) with p̄ 0.95 → 0.80;
    two candidates in each of the seven other direction bins with p̄ = 0.6."""
    zs, ps = [], []
    for i in range(60):
        r = 1.0 + 0.05 * i
        zs.append([r * math.cos(math.pi / 8), r * math.sin(math.pi / 8)])
        ps.append(0.95 - 0.0025 * i)
    for b in range(8):
        angle = -math.pi + (b + 0.5) * 2 * math.pi / 8
        if abs(angle - math.pi / 8) < 1e-9:
            continue
        for r in (1.0, 1.7):
            zs.append([r * math.cos(angle), r * math.sin(angle)])
            ps.append(0.6)
    z, p = np.array(zs), np.array(ps)
    rng = np.random.default_rng(5)
    samples = np.clip(p[None, :] + rng.uniform(-0.01, 0.01, size=(4, p.size)), 0, 1)
    return make_candidates(z, samples), Context(np.zeros((1, 2)), np.ones(1, dtype=np.int64))


def test_entropy_policy_spreads_step_directions():
    candidates, context = one_direction_case()
    rng = np.random.default_rng(0)
    k = 8
    greedy = build_policy("greedy", builder="top_k").select(candidates, context, k, rng)
    spread = build_policy("entropy", beta=5.0, bins=8, builder="top_k").select(candidates, context, k, rng)

    def batch_entropy(idx):
        U = step_directions(candidates.z[idx], context.labelled_z)
        ours = direction_entropy(U, 8)  # the bias/ metric the campaign logs
        assert ours == pytest.approx(reference_direction_entropy(U, 8), abs=1e-12)
        return ours

    assert batch_entropy(greedy) == pytest.approx(0.0, abs=1e-12)
    assert batch_entropy(spread) > 0.9  # eight picks over eight bins: close to uniform
    assert batch_entropy(spread) > batch_entropy(greedy)
    # a moderate β trades less: the entropy is in between and the first pick is still greedy's
    middle = build_policy("entropy", beta=0.2, builder="top_k").select(candidates, context, k, rng)
    assert middle[0] == greedy[0]
    assert batch_entropy(greedy) <= batch_entropy(middle) <= batch_entropy(spread)


def test_coverage_mode_spreads_over_cells():
    rng = np.random.default_rng(8)
    hot = 0.25 + 0.04 * rng.normal(size=(40, 2))  # one cell, [0, 0.5)², high p̄
    cold = rng.uniform(-3, 3, size=(40, 2))
    z = np.vstack([hot, cold])
    p = np.concatenate([np.full(40, 0.9), np.full(40, 0.7)])
    candidates = make_candidates(z, np.tile(p, (3, 1)))
    context = Context(rng.uniform(-3, 3, size=(20, 2)), np.zeros(20, dtype=np.int64))
    rng0 = np.random.default_rng(0)
    cells = lambda idx: len({tuple(c) for c in np.floor(z[idx] / 0.5).astype(int)})  # noqa: E731
    greedy = build_policy("greedy", builder="top_k").select(candidates, context, 10, rng0)
    covered = build_policy("entropy", beta=5.0, mode="coverage", cell=0.5, builder="top_k").select(
        candidates, context, 10, rng0
    )
    both = build_policy("entropy", beta=5.0, mode="both", cell=0.5, builder="top_k").select(
        candidates, context, 10, rng0
    )
    assert cells(greedy) <= 2
    assert cells(covered) >= 9 and cells(both) >= 6


# --- must show: Thompson sampling is distributed as designed --------------------------------------


def thompson_case():
    """T = 10 rows over 5 candidates: row t ranks the candidates by a designed permutation."""
    rankings = [[0, 1, 2, 3, 4]] * 5 + [[1, 2, 0, 3, 4]] * 3 + [[2, 0, 1, 4, 3]] * 2
    p = np.zeros((10, 5))
    for t, ranking in enumerate(rankings):
        for position, candidate in enumerate(ranking):
            p[t, candidate] = 0.9 - 0.1 * position
    return make_candidates(np.arange(10, dtype=float).reshape(5, 2), p), rankings


def test_thompson_first_slot_follows_posterior_argmax_frequencies():
    candidates, rankings = thompson_case()
    expected = np.bincount([r[0] for r in rankings], minlength=5) / len(rankings)
    policy = build_policy("thompson", builder="top_k")
    N = 4000
    picks = np.array(
        [policy.select(candidates, Context.empty(2), 1, np.random.default_rng(s))[0] for s in range(N)]
    )
    observed = np.bincount(picks, minlength=5) / N
    tolerance = 4.0 * np.sqrt(expected * (1 - expected) / N) + 1e-12
    assert (np.abs(observed - expected) <= tolerance).all()
    assert observed[3] == 0 and observed[4] == 0  # never anyone's argmax


def test_thompson_batch_distribution_matches_enumeration():
    candidates, rankings = thompson_case()
    T = len(rankings)
    # exact law of an ordered pair: rows t1 != t2, each ordered pair of distinct draws equally likely
    # (one draw per slot, without replacement); slot 2 skips slot 1's pick
    expected: dict[tuple[int, int], float] = {}
    for t1, t2 in product(range(T), repeat=2):
        if t1 == t2:
            continue
        first = rankings[t1][0]
        second = next(c for c in rankings[t2] if c != first)
        expected[(first, second)] = expected.get((first, second), 0.0) + 1.0 / (T * (T - 1))
    policy = build_policy("thompson", builder="top_k")
    N = 4000
    counts: dict[tuple[int, int], int] = {}
    for s in range(N):
        a, b = policy.select(candidates, Context.empty(2), 2, np.random.default_rng(s)).tolist()
        counts[(a, b)] = counts.get((a, b), 0) + 1
    assert set(counts) <= set(expected)
    for pair, prob in expected.items():
        observed = counts.get(pair, 0) / N
        assert abs(observed - prob) <= 4.0 * math.sqrt(prob * (1 - prob) / N)


def test_random_is_uniform_and_novelty_is_far():
    candidates, context = random_case(9, n=6, m=10)
    policy = build_policy("random", builder="top_k")
    N = 3000
    picks = np.array([policy.select(candidates, context, 1, np.random.default_rng(s))[0] for s in range(N)])
    observed = np.bincount(picks, minlength=6) / N
    assert np.abs(observed - 1 / 6).max() <= 4.0 * math.sqrt((1 / 6) * (5 / 6) / N)

    rng = np.random.default_rng(3)
    labelled = 0.2 * rng.normal(size=(50, 2))
    angles = rng.uniform(-np.pi, np.pi, size=100)
    radii = np.repeat([1.0, 2.0, 3.0, 6.0], 25)
    z = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    candidates = make_candidates(z, np.full((2, 100), 0.5))
    context = Context(labelled, np.ones(50, dtype=np.int64))
    policy = build_policy("novelty", n_neighbors=3, builder="top_k")
    chosen = policy.select(candidates, context, 25, np.random.default_rng(0))
    assert sorted(chosen.tolist()) == list(range(75, 100))  # the outer ring
    dist = np.sort(np.linalg.norm(z[:, None] - labelled[None], axis=2), axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(policy.acquisition.novelty(candidates, context), dist)


# --- registry and CLI --------------------------------------------------------------------------


def test_registry_lists_builtins_with_documented_params():
    assert registry.available("policies")[: len(BUILTINS)] == BUILTINS
    assert registry.available("builders") == BUILDERS
    entries = registry.listing("policies", "builders")
    listed = {entry["name"]: entry for entry in entries}
    for name in (*BUILTINS, *BUILDERS):
        assert listed[name]["source"] == "builtin" and listed[name]["summary"]
        assert listed[name]["kind"] == ("policy" if name in BUILTINS else "builder")
        for spec in listed[name]["params"].values():
            assert set(spec) == {"default", "type", "doc", "required", "bounds"} and spec["doc"]
    assert listed["uncertainty"]["params"]["bandwidth"]["bounds"] == "> 0"
    assert listed["entropy"]["params"]["mode"]["type"] == "'direction' | 'coverage' | 'both'"
    assert listed["uncertainty"]["params"]["alpha"]["default"] == 1.0
    assert set(listed["entropy"]["params"]) == {"beta", "mode", "bins", "cell", "top_m"}
    assert listed["top_k"]["params"] == {}
    for name in ("exclusion", "local_penalization"):
        assert listed[name]["params"]["radius"]["default"] is None
    assert [e["kind"] for e in entries][-len(BUILDERS) :] == ["builder"] * len(BUILDERS)
    json.dumps(entries)


def test_registry_errors_are_one_line_and_named():
    with pytest.raises(ArcloopError, match=r"'greedyy' is unknown.*greedy, uncertainty") as info:
        build_policy("greedyy")
    assert "\n" not in str(info.value)
    with pytest.raises(ArcloopError, match=r"unknown parameter.*alhpa.*valid parameters: alpha"):
        build_policy("uncertainty", alhpa=1.0)
    for name, params, field in [
        ("uncertainty", {"alpha": -1.0}, "alpha"),
        ("uncertainty", {"alpha": "big"}, "alpha"),
        ("uncertainty", {"lam": float("nan")}, "lam"),
        ("uncertainty", {"uncertainty": "variance"}, "uncertainty"),
        ("uncertainty", {"bandwidth": 0.0}, "bandwidth"),
        ("entropy", {"bins": 1}, "bins"),
        ("entropy", {"mode": "angles"}, "mode"),
        ("entropy", {"top_m": 2.5}, "top_m"),
        ("novelty", {"n_neighbors": True}, "n_neighbors"),
        ("greedy", {"alpha": 1.0}, "alpha"),
    ]:
        with pytest.raises(ArcloopError, match=field) as info:
            build_policy({"name": name, "params": params})
        assert "\n" not in str(info.value)
    for builder, field in [
        ({"name": "exclusoin"}, r"builder 'exclusoin' is unknown.*top_k, exclusion"),
        (
            {"name": "exclusion", "params": {"radius": -1}},
            r"exclusion.radius: .*greater than or equal to 0 \(got -1\)",
        ),
        (
            {"name": "exclusion", "params": {"radius": "far"}},
            r"exclusion.radius: Input should be a valid number",
        ),
        ({"name": "local_penalization", "params": {"radius": 0}}, r"local_penalization.radius: .*than 0"),
        ({"name": "top_k", "params": {"radius": 3}}, r"top_k: unknown parameter 'radius'"),
        ({"name": "exclusion", "paramz": {}}, r"policy.builder: expected a mapping"),
    ]:
        with pytest.raises(ArcloopError, match=field) as info:
            build_policy({"name": "greedy", "builder": builder})
        assert "\n" not in str(info.value)
    with pytest.raises(ArcloopError, match="is a batch builder, not a policy"):
        build_policy("exclusion")
    with pytest.raises(ArcloopError, match="default_radius"):
        build_policy("greedy", -1.0)


def test_policy_config_validates_and_builds():
    config = PolicyConfig.model_validate(
        {"name": "uncertainty", "params": {"alpha": 2.0, "uncertainty": "bald"}}
    )
    assert config.builder is None  # the policy's own default builder
    policy = build_policy(config)
    assert isinstance(policy.acquisition, UncertaintyAcquisition)
    assert policy.acquisition.alpha == 2.0 and policy.acquisition.uncertainty == "bald"
    assert isinstance(policy.builder, Exclusion) and policy.builder.radius == 5.0
    assert build_policy(config, 3.0).builder.radius == 3.0  # None: the campaign's radius
    assert build_policy(config, alpha=0.5).acquisition.alpha == 0.5
    fixed = PolicyConfig.model_validate(
        {"name": "greedy", "builder": {"name": "local_penalization", "params": {"radius": 2.5}}}
    )
    assert build_policy(fixed, 7.0).builder.radius == 2.5  # an explicit radius wins
    assert isinstance(build_policy(fixed, builder="top_k").builder, TopK)
    # random's default is top_k: the uniform baseline of the literature; exclusion on request.
    assert isinstance(build_policy(PolicyConfig(name="random")).builder, TopK)
    spread = PolicyConfig.model_validate({"name": "random", "builder": {"name": "exclusion"}})
    assert isinstance(build_policy(spread).builder, Exclusion)
    with pytest.raises(ValidationError, match="'nope' is unknown"):
        PolicyConfig.model_validate({"name": "nope"})
    with pytest.raises(ValidationError, match="beta"):
        PolicyConfig.model_validate({"name": "entropy", "params": {"beta": -1}})
    with pytest.raises(ValidationError, match="extra"):
        PolicyConfig.model_validate({"name": "greedy", "paramz": {}})


def test_policy_config_errors_name_the_builder_field():
    from arcloop.config import validated

    for data, message in [
        ({"name": "greedy", "builder": {"params": {"radius": -1}}}, "policy.builder: exclusion.radius: "),
        ({"name": "greedy", "builder": {"name": "nearest"}}, "policy.builder: builder 'nearest' is unknown"),
        ({"name": "greedy", "builder": {"name": "top_k", "radius": 1}}, "policy.builder.radius: Extra"),
    ]:
        with pytest.raises(ArcloopError) as info:
            validated(PolicyConfig, data, "policy")
        assert str(info.value).startswith(message) and "\n" not in str(info.value)


PLUGIN_MODULE = textwrap.dedent(
    '''
    from typing import Annotated

    import numpy as np
    from pydantic import Field

    class LowestPolicy:
        """Picks the lowest p̄ (a deliberately bad plugin, with the select-only protocol)."""

        def __init__(self, offset: Annotated[int, Field(ge=0, description="added to nothing")] = 0):
            self.offset = offset

        def select(self, candidates, context, k, rng):
            return np.argsort(candidates.p_mean, kind="stable")[: min(k, candidates.n)].astype(np.int64)

    class DuplicatingPolicy:
        def select(self, candidates, context, k, rng):
            return np.zeros(k, dtype=np.int64)

    class LowScore:
        """An acquisition plugin: score 1 − p̄, so the builder applies."""

        def start(self, candidates, context, k, rng):
            from arcloop.policies import StaticScorer

            return StaticScorer(1.0 - candidates.p_mean)
    '''
)


def test_plugins_are_discovered_through_entry_points(tmp_path, monkeypatch):
    (tmp_path / "arcloop_lowest_plugin.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "arcloop_lowest_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: arcloop-lowest-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[arcloop.policies]\n"
        "lowest = arcloop_lowest_plugin:LowestPolicy\n"
        "duplicating = arcloop_lowest_plugin:DuplicatingPolicy\n"
        "lowscore = arcloop_lowest_plugin:LowScore\n"
        "greedy = arcloop_lowest_plugin:LowestPolicy\n"
        "exclusion = arcloop_lowest_plugin:LowestPolicy\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = registry.available("policies")
        assert "lowest" in names and names.count("greedy") == 1 and "exclusion" not in names
        assert sum("is a built-in" in str(w.message) for w in caught) == 2
        entry = next(e for e in registry.listing("policies") if e["name"] == "lowest")
        assert entry["source"] == "arcloop-lowest-plugin" and entry["kind"] == "policy"
        assert entry["params"] == {
            "offset": {
                "default": 0,
                "type": "int",
                "doc": "added to nothing",
                "required": False,
                "bounds": ">= 0",
            }
        }
        candidates, context = random_case(0, n=30)
        lowest = build_policy("lowest")
        assert isinstance(lowest, PluginPolicy) and lowest.builder is None
        chosen = lowest.select(candidates, context, 3, np.random.default_rng(0))
        assert (candidates.p_mean[chosen] <= np.sort(candidates.p_mean)[2]).all()
        with pytest.raises(ArcloopError, match="k"):
            lowest.select(candidates, context, 0, np.random.default_rng(0))
        with pytest.raises(ArcloopError, match="'duplicating': select returned 3 indices"):
            build_policy("duplicating").select(candidates, context, 3, np.random.default_rng(0))
        # an acquisition plugin gets the configured builder: exclusion keeps near-duplicates apart
        twins = Candidates(
            z=candidates.z[:3],
            compositions=np.vstack(
                [np.eye(30)[0], 0.99 * np.eye(30)[0] + 0.01 * np.eye(30)[1], np.eye(30)[2]]
            ),
            p_samples=np.array([[0.1, 0.2, 0.9]]),
            pool_index=np.full(3, -1),
        )
        low = build_policy("lowscore")
        assert isinstance(low, BatchPolicy) and low.name == "lowscore"
        np.testing.assert_array_equal(
            low.select(twins, Context.empty(2), 3, np.random.default_rng(0)), [0, 2]
        )
        np.testing.assert_array_equal(
            build_policy("lowscore", builder="top_k").select(
                twins, Context.empty(2), 3, np.random.default_rng(0)
            ),
            [0, 1, 2],
        )
        with pytest.raises(ArcloopError, match="unknown parameter"):
            build_policy("lowest", scale=2)
        assert build_policy("greedy").name == "greedy"  # built-ins cannot be overridden
    finally:
        monkeypatch.undo()
    assert "lowest" not in registry.available("policies")


def test_cli_policies_list(capsys):
    assert main(["policies", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed][: len(BUILTINS)] == list(BUILTINS)
    assert [entry["name"] for entry in listed][-len(BUILDERS) :] == list(BUILDERS)
    assert all(set(entry) == {"name", "kind", "summary", "params", "source"} for entry in listed)
    assert main(["policies", "list"]) == 0
    text = capsys.readouterr().out
    assert "  uncertainty  [builtin]  score p̄ + α·U" in text
    assert "alpha: float (default 1.0, >= 0)  weight α of the uncertainty bonus" in text
    assert (
        "  exclusion  [builtin]  batch builder" in text
        and "radius: float | None (default null, >= 0)" in text
    )
