"""Candidate generation and the feasibility filter, with a small deterministic stand-in model."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from arcloop.candidates import (
    CandidateConfig,
    FeasibilityConfig,
    apply_feasibility,
    latent_candidates,
    pool_candidates,
)
from arcloop.candidates.sources import sample_latent
from arcloop.data import ELEMENTS, alloy_fractions, load_alloys
from arcloop.errors import ArcloopError
from arcloop.materials import integer_percentages, parse_formula
from arcloop.policies import (
    LatentModel,
    build_policy,
)
from arcloop.policies.base import Context


class LinearModel:
    """Test double of the LatentModel protocol: linear encoder, softmax decoder, logistic head.

    decode(z, p) = softmax(sharpness · (z V + p c)): a few elements dominate, many tiny fractions
    remain (as with a VAE decoder). predict_proba_samples perturbs the logit with a fixed-seed noise.
    """

    def __init__(self, latent_dim: int = 2, seed: int = 0, sharpness: float = 3.0) -> None:
        rng = np.random.default_rng(seed)
        self.W = rng.normal(size=(30, latent_dim))
        self.V = rng.normal(size=(latent_dim, 30))
        self.c = rng.normal(size=30)
        self.w = rng.normal(size=30) * 3.0
        self.sharpness = sharpness

    def encode(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X) - 1.0 / 30.0) @ self.W

    def decode(self, z: np.ndarray, p_single: float | np.ndarray) -> np.ndarray:
        logits = self.sharpness * (np.asarray(z) @ self.V + np.asarray(p_single).reshape(-1, 1) * self.c)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba_samples(self, X: np.ndarray, n_samples: int = 32) -> np.ndarray:
        noise = np.random.default_rng(123).normal(scale=0.5, size=(n_samples, 1))
        logit = np.asarray(X) @ self.w
        return 1.0 / (1.0 + np.exp(-(logit[None, :] + noise)))


def check_feasible(compositions: np.ndarray, feasibility: FeasibilityConfig) -> None:
    """Independent check of the rules on returned rows (at 1 at.% resolution)."""
    percent = compositions * 100.0
    np.testing.assert_allclose(percent, np.round(percent), atol=1e-9)
    np.testing.assert_allclose(compositions.sum(axis=1), 1.0, atol=1e-12)
    present = compositions > 0
    counts = present.sum(axis=1)
    assert (counts >= feasibility.min_elements).all() and (counts <= feasibility.max_elements).all()
    assert (compositions <= feasibility.max_fraction + 1e-12).all()
    for symbol in feasibility.forbidden:
        assert not present[:, ELEMENTS.index(symbol)].any()
    if feasibility.allowed is not None:
        outside = [i for i, s in enumerate(ELEMENTS) if s not in feasibility.allowed]
        assert not present[:, outside].any()


# --- rounding and the filter ------------------------------------------------------------------


def test_feasibility_thresholds_before_counting_and_rounding():
    rows = np.array(
        [parse_formula("Fe50Ni49Cr1"), parse_formula("Fe40Ni30Cr30"), parse_formula("Fe98Ni1Cr1")]
    )
    feasibility = FeasibilityConfig(min_elements=2, max_elements=2, element_threshold=0.02)
    percent, feasible = apply_feasibility(rows, feasibility)
    # Cr (1 %) is dropped and the row renormalised: Fe 50/99, Ni 49/99 -> 51 / 49
    assert percent[0, ELEMENTS.index("Fe")] == 51 and percent[0, ELEMENTS.index("Ni")] == 49
    assert percent[0].sum() == 100 and percent[0, ELEMENTS.index("Cr")] == 0
    assert feasible.tolist() == [True, False, False]  # three elements; a single element after thresholding
    three = FeasibilityConfig(min_elements=3, max_elements=3, element_threshold=0.0)
    assert apply_feasibility(rows, three)[1].tolist() == [True, True, True]


def test_feasibility_element_and_fraction_rules():
    rows = np.array(
        [
            parse_formula(f)
            for f in ("Fe25Ni25Cr25Co25", "Nb25Ta25W25Mo25", "Fe70Ni30", "Ti50Zr50", "Al10Fe90")
        ]
    )
    assert apply_feasibility(rows, FeasibilityConfig(forbidden=("Fe",)))[1].tolist() == [
        False,
        True,
        False,
        True,
        False,
    ]
    allowed = FeasibilityConfig(allowed=("Nb", "Ta", "W", "Mo", "Ti", "Zr"))
    assert apply_feasibility(rows, allowed)[1].tolist() == [False, True, False, True, False]
    capped = FeasibilityConfig(max_fraction=0.5)
    assert apply_feasibility(rows, capped)[1].tolist() == [True, True, False, True, False]
    with pytest.raises(ArcloopError, match="non-negative"):
        apply_feasibility(-rows, capped)
    with pytest.raises(ArcloopError, match="shape"):
        apply_feasibility(rows[:, :29], capped)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"allowed": ["Fe", "Xx"]}, "allowed: unknown element 'Xx'"),
        ({"forbidden": ["Th"]}, "forbidden: unknown element 'Th'"),
        ({"min_elements": 5, "max_elements": 3}, "min_elements (5) > max_elements (3)"),
        ({"allowed": ["Fe", "Ni"], "forbidden": ["Ni"]}, "allowed and forbidden both list Ni"),
        ({"allowed": ["Fe", "Ni"], "min_elements": 3}, "exceeds the 2 permitted elements"),
        ({"max_fraction": 0.3, "max_elements": 3}, "no composition is feasible"),
        ({"element_threshold": 0.9}, "element_threshold"),
        ({"min_elements": 0}, "min_elements"),
        ({"max_elemnts": 4}, "max_elemnts"),
    ],
)
def test_feasibility_config_errors_name_the_field(data, fragment):
    with pytest.raises(ValidationError) as info:
        FeasibilityConfig.model_validate(data)
    assert fragment in str(info.value)


def test_candidate_config_errors():
    for data, fragment in [
        ({"source": "grid"}, "source"),
        ({"n_candidates": 0}, "n_candidates"),
        ({"region": -1.0}, "region"),
        ({"region": [1.0, 0.0]}, "region"),
        ({"local_fraction": 1.5}, "local_fraction"),
        ({"target_p_single": 2.0}, "target_p_single"),
        ({"feasibility": {"allowed": ["Qq"]}}, "Qq"),
    ]:
        with pytest.raises(ValidationError) as info:
            CandidateConfig.model_validate(data)
        assert fragment in str(info.value)
    config = CandidateConfig(region=(2.0, 1.0, 3.0))
    with pytest.raises(ArcloopError, match="region: 3 values for a 2-dimensional latent space"):
        config.region_for(2)
    assert CandidateConfig().region_for(3).tolist() == [2.5, 2.5, 2.5]
    assert CandidateConfig(sampler="prior").region_for(2).tolist() == [1.0, 1.0]


# --- latent source ---------------------------------------------------------------------------


def test_sample_latent_regions_and_local_share():
    labelled = np.array([[10.0, 10.0], [-10.0, 10.0]])
    config = CandidateConfig(n_candidates=1000, region=(2.0, 0.5), local_fraction=0.2, local_scale=0.1)
    z, local = sample_latent(config, labelled, np.random.default_rng(0))
    assert z.shape == (1000, 2) and local.sum() == 200
    box = z[~local]
    assert (np.abs(box[:, 0]) <= 2.0).all() and (np.abs(box[:, 1]) <= 0.5).all()
    assert np.abs(box[:, 0]).max() > 1.9  # the Sobol points fill the box
    nearest = np.min(np.linalg.norm(z[local][:, None] - labelled[None], axis=2), axis=1)
    assert nearest.max() < 0.1 * 6
    # nothing labelled: everything global
    z0, local0 = sample_latent(config, np.zeros((0, 2)), np.random.default_rng(0))
    assert not local0.any() and z0.shape == (1000, 2)
    prior = CandidateConfig(n_candidates=4000, sampler="prior", region=2.0, local_fraction=0.0)
    zp, _ = sample_latent(prior, labelled, np.random.default_rng(1))
    assert 1.9 < zp.std() < 2.1


def test_latent_candidates_are_feasible_distinct_new_and_deterministic():
    model = LinearModel()
    assert isinstance(model, LatentModel)
    feasibility = FeasibilityConfig(min_elements=2, max_elements=5, element_threshold=0.03, max_fraction=0.8)
    config = CandidateConfig(n_candidates=1500, feasibility=feasibility, n_samples=6)
    labelled_z = np.random.default_rng(2).normal(size=(20, 2))
    first = latent_candidates(model, config, labelled_z, None, np.random.default_rng(5))
    again = latent_candidates(model, config, labelled_z, None, np.random.default_rng(5))
    other = latent_candidates(model, config, labelled_z, None, np.random.default_rng(6))
    assert 50 < first.n < 1500
    for name in ("z", "compositions", "p_samples", "local"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.z[:10], other.z[:10])
    check_feasible(first.compositions, feasibility)
    assert len({tuple(np.round(r * 100).astype(int)) for r in first.compositions}) == first.n
    assert first.p_samples.shape == (6, first.n) and (first.pool_index == -1).all()
    assert first.local.any() and not first.local.all()
    # z is the decoded latent point: decoding it again and filtering gives the stored composition
    percent, _ = apply_feasibility(model.decode(first.z[:20], 1.0), feasibility)
    np.testing.assert_allclose(percent / 100.0, first.compositions[:20])
    # what is labelled is never proposed again
    labelled = first.compositions[::3]
    second = latent_candidates(model, config, labelled_z, labelled, np.random.default_rng(5))
    known = {tuple(np.round(r * 100).astype(int)) for r in labelled}
    assert not known & {tuple(np.round(r * 100).astype(int)) for r in second.compositions}
    assert second.n == first.n - labelled.shape[0]


def test_latent_candidates_feed_every_policy():
    model = LinearModel(latent_dim=3, seed=4)
    config = CandidateConfig(n_candidates=600, n_samples=8)
    labelled_z = np.random.default_rng(0).normal(size=(12, 3))
    candidates = latent_candidates(model, config, labelled_z, None, np.random.default_rng(1))
    context = Context(labelled_z, np.ones(12, dtype=np.int64), iteration=1)
    for name in ("greedy", "uncertainty", "entropy", "random", "thompson", "novelty"):
        chosen = build_policy(name).select(candidates, context, 8, np.random.default_rng(0))
        assert np.unique(chosen).size == 8


def test_latent_candidates_empty_when_nothing_is_feasible():
    model = LinearModel()
    impossible = FeasibilityConfig(allowed=("Li", "Sc"), min_elements=2, max_fraction=0.5)
    config = CandidateConfig(n_candidates=200, feasibility=impossible, n_samples=4)
    empty = latent_candidates(model, config, np.zeros((0, 2)), None, np.random.default_rng(0))
    assert empty.n == 0 and empty.z.shape == (0, 2) and empty.p_samples.shape == (4, 0)
    with pytest.raises(ArcloopError, match="empty"):
        build_policy("greedy").select(empty, Context.empty(2), 4, np.random.default_rng(0))


def test_latent_candidates_reject_bad_models_and_arguments():
    class WrongDecoder(LinearModel):
        def decode(self, z, p_single):
            return super().decode(z, p_single)[:, :10]

    config = CandidateConfig(n_candidates=50)
    with pytest.raises(ArcloopError, match=r"model\.decode returned shape"):
        latent_candidates(WrongDecoder(), config, np.zeros((0, 2)), None, np.random.default_rng(0))
    with pytest.raises(ArcloopError, match="labelled_z"):
        latent_candidates(LinearModel(), config, np.zeros(2), None, np.random.default_rng(0))
    with pytest.raises(ArcloopError, match="rng"):
        latent_candidates(LinearModel(), config, np.zeros((0, 2)), None, 3)
    with pytest.raises(ArcloopError, match="region"):
        latent_candidates(LinearModel(), CandidateConfig(region=(1.0, 2.0, 3.0)), np.zeros((0, 2)), None,
                          np.random.default_rng(0))  # fmt: skip


# --- pool source -----------------------------------------------------------------------------


def test_pool_candidates_keep_real_alloys_and_their_rows():
    X = alloy_fractions()
    model = LinearModel()
    rows = np.arange(100, 400)
    pool = pool_candidates(model, X[rows], rows, deduplicate="none", n_samples=5)
    np.testing.assert_array_equal(pool.pool_index, rows)
    np.testing.assert_array_equal(pool.compositions, X[rows])  # unchanged, not rounded
    np.testing.assert_allclose(pool.z, model.encode(X[rows]))
    assert pool.p_samples.shape == (5, rows.size) and not (pool.pool_index < 0).any()
    # by default one row per distinct composition (the first), whatever the formula's spelling
    distinct = pool_candidates(model, X[rows], rows, n_samples=5)
    first_rows = {}
    for row in rows:
        first_rows.setdefault(tuple(np.round(X[row], 12)), row)
    assert sorted(distinct.pool_index.tolist()) == sorted(first_rows.values())

    no_iron = FeasibilityConfig(forbidden=("Fe",))
    filtered = pool_candidates(model, X[rows], rows, feasibility=no_iron, n_samples=5)
    has_iron = X[filtered.pool_index, ELEMENTS.index("Fe")] > 0
    assert not has_iron.any() and filtered.n == int((X[rows, ELEMENTS.index("Fe")] == 0).sum())

    # at 1 at.% resolution some of these real alloys coincide: one row per rounded composition stays
    coarse = pool_candidates(model, X[rows], rows, deduplicate="percent", n_samples=5)
    rounded = {tuple(integer_percentages(x)) for x in X[rows]}
    assert coarse.n == len(rounded) < rows.size
    assert {tuple(integer_percentages(x)) for x in coarse.compositions} == rounded


def test_pool_candidates_drop_repeated_compositions_and_labelled_ones():
    alloys = load_alloys()
    X = alloy_fractions()
    key = [tuple(np.round(x, 12)) for x in X]
    hf = int(np.flatnonzero(alloys["formula"].to_numpy() == "Hf1Nb1Ti1V1Zr1")[0])  # listed twice in the data
    unlabelled = np.setdiff1d(np.arange(X.shape[0]), [hf])
    pool = pool_candidates(LinearModel(), X[unlabelled], unlabelled, labelled_compositions=X[[hf]])
    kept = pool.pool_index.tolist()
    assert all(key[i] != key[hf] for i in kept)  # its twin is not proposed again
    expected: dict[tuple, int] = {}
    for row in unlabelled:
        if key[row] != key[hf]:
            expected.setdefault(key[row], int(row))
    assert sorted(kept) == sorted(expected.values())
    everything = pool_candidates(
        LinearModel(), X[unlabelled], unlabelled, labelled_compositions=X[[hf]], deduplicate="none"
    )
    assert everything.n == unlabelled.size
    with pytest.raises(ArcloopError, match="deduplicate"):
        pool_candidates(LinearModel(), X[:5], np.arange(5), deduplicate="yes")


def test_pool_candidates_take_settings_from_a_candidate_config():
    X = alloy_fractions()
    rows = np.arange(0, 600)
    config = CandidateConfig(source="pool", n_samples=3, feasibility=FeasibilityConfig(forbidden=("Fe",)))
    pool = pool_candidates(LinearModel(), X[rows], rows, config)
    assert pool.n_samples == 3 and pool.n > 0
    # "present" means at or above the element threshold (2 %): traces of Fe below it are tolerated
    assert (X[pool.pool_index, ELEMENTS.index("Fe")] < 0.02).all()
    overridden = pool_candidates(
        LinearModel(), X[rows], rows, config, n_samples=2, feasibility=FeasibilityConfig()
    )
    assert overridden.n_samples == 2 and (X[overridden.pool_index, ELEMENTS.index("Fe")] > 0).any()


def test_pool_candidates_errors_and_empty():
    X = alloy_fractions()[:10]
    with pytest.raises(ArcloopError, match="pool_index"):
        pool_candidates(LinearModel(), X, np.arange(9))
    with pytest.raises(ArcloopError, match="pool_X"):
        pool_candidates(LinearModel(), X * 2.0, np.arange(10))
    with pytest.raises(ArcloopError, match="n_samples"):
        pool_candidates(LinearModel(), X, np.arange(10), n_samples=0)
    empty = pool_candidates(LinearModel(), X, np.arange(10), labelled_compositions=X)
    assert empty.n == 0 and empty.latent_dim == 2


def test_pool_filter_counts_elements_as_the_target_does():
    """With the target's threshold, ``feasibility.min_elements: 6`` offers exactly the pool rows the
    target counts as having >= 6 elements (arcloop.materials.n_elements, an independent count): the
    1 at.% rounding used to hide CoCuFeMnNiSn0.03's 0.6 at.% of Sn, a target the filter never offered."""
    from arcloop.materials import n_elements

    X = alloy_fractions()
    rows = np.arange(len(X))
    feasibility = FeasibilityConfig(min_elements=6, max_elements=30, element_threshold=0.005)
    offered = pool_candidates(LinearModel(), X, rows, feasibility=feasibility, deduplicate="none")
    expected = rows[n_elements(X, 0.005) >= 6]
    np.testing.assert_array_equal(offered.pool_index, expected)
    tin = rows[(X[:, ELEMENTS.index("Sn")] > 0.0) & (X[:, ELEMENTS.index("Sn")] < 0.01)]
    assert tin.size and np.isin(tin[n_elements(X[tin], 0.005) >= 6], offered.pool_index).all()
