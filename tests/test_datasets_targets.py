"""Datasets, targets and the screening readings on hand-built tables whose answers are known."""

import itertools
import math

import numpy as np
import pytest

from arcloop.cli import main
from arcloop.datasets import load_dataset
from arcloop.errors import ArcloopError
from arcloop.screening.acquisitions import Belief, ConfidenceBound, ExpectedImprovement, ThompsonSampling
from arcloop.screening.readings import (
    acceleration_factor,
    random_expected_found,
    random_experiments_to,
    top_fraction_curve,
)
from arcloop.targets import TargetConfig, composition_rules_mask, probability_of_target, resolve_target


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_formula_table_is_grouped_by_input_with_the_mean_property(tmp_path):
    path = write(tmp_path, "formula,hardness\nFeNi,1\nFe2Ni,3\nNiFe,5\nFe1Ni1,6\n")
    data = load_dataset({"path": path, "properties": {"hardness": {"unit": "GPa"}}})
    assert data.input_kind == "composition"
    assert data.input_names == ("Fe", "Ni")
    assert len(data) == 2 and data.n_rows == 4
    # FeNi, NiFe and Fe1Ni1 are one alloy: mean of 1, 5 and 6
    np.testing.assert_allclose(data.X, [[0.5, 0.5], [2 / 3, 1 / 3]])
    np.testing.assert_allclose(data.values("hardness"), [4.0, 3.0])
    assert data.replicates.tolist() == [3, 1]
    assert data.units["hardness"] == "GPa" and data.property_kinds["hardness"] == "continuous"
    assert any("4 rows → 2 distinct inputs" in note for note in data.notes)


def test_a_composition_the_element_table_covers_is_modelled_on_descriptors_and_fractions(tmp_path):
    data = load_dataset(write(tmp_path, "formula,hardness\nFeNi,1\nFe2Ni,3\nCoCrNi,2\n"))
    names = dict(zip(data.feature_names, data.features.T, strict=True))
    assert data.features.shape == (3, 8 + 4)
    assert data.feature_names[8:] == data.input_names
    np.testing.assert_array_equal(data.features[:, 8:], data.X)
    # By hand: ideal mixing entropy -R sum c ln c; Miedema's enthalpy 4 c_Fe c_Ni H_FeNi (the pair
    # table's -2.7 kJ/mol) for the two binary alloys.
    R = 8.314
    np.testing.assert_allclose(
        names["delta_s_mix"][:2], [R * math.log(2), -R * (2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))]
    )
    np.testing.assert_allclose(names["delta_s_mix"][2], R * math.log(3))
    np.testing.assert_allclose(names["delta_h_mix"][:2], [-2.7, 4 * 2 / 9 * -2.7])
    assert any("8 descriptors and 4 fractions" in note for note in data.notes)
    assert data.summary()["model_features"] == list(data.feature_names)


def test_a_composition_with_an_element_outside_the_table_is_modelled_on_fractions(tmp_path):
    data = load_dataset(write(tmp_path, "formula,hardness\nFeGa,1\nFe3Ga,3\n"))
    assert data.feature_names == data.input_names == ("Fe", "Ga")
    np.testing.assert_array_equal(data.features, data.X)
    assert any("fractions only (no element data for Ga)" in note for note in data.notes)


def test_parameters_are_modelled_as_they_are():
    data = load_dataset("crossed-barrel")
    assert data.features is data.X and data.feature_names == data.input_names


def test_inputs_that_differ_slightly_stay_apart(tmp_path):
    data = load_dataset(write(tmp_path, "a,b,y\n1.00,2,1\n1.04,2,3\n1.00,2,5\n"))
    assert len(data) == 2 and data.values("y").tolist() == [3.0, 3.0] and data.replicates.tolist() == [2, 1]


def test_parameters_are_inferred_as_every_column_but_the_last():
    data = load_dataset("crossed-barrel")
    assert data.input_kind == "parameters" and data.input_names == ("n", "theta", "r", "t")
    assert (len(data), data.n_rows) == (600, 1800)


def test_standardised_inputs_have_zero_mean_and_unit_variance(tmp_path):
    path = write(tmp_path, "a,b,c,y\n1,10,5,0\n2,20,5,1\n3,60,5,0\n")
    data = load_dataset(path)
    Z = data.standardised_inputs()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1)
    assert (Z[:, 2] == 0).all()  # a constant column stays 0
    assert data.property_kinds["y"] == "binary"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("formula,h\nFeNi,1\nFeNi,\n", "line 3, column 'h': missing value"),
        ("formula,h\nFeNi,1\nFeCo,abc\n", "line 3, column 'h': 'abc' is not a finite number"),
        (
            "formula,h\nFeNi,1\nFeXx,2\n",
            "line 3, column 'formula': formula 'FeXx': unknown element symbol 'Xx'",
        ),
        ("Fe,Ni,h\n0.5,0.5,1\n0.5,0.4,2\n", "line 3: element fractions sum to 0.9"),
        ("a,b\n1,2\n2,x\n", "line 3, column 'b'"),
    ],
)
def test_a_bad_table_is_one_line_naming_line_and_column(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    assert main(["data", "info", path]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_top_fraction_target_takes_the_best_ceil_f_n_with_direction():
    values = np.array([5.0, 1.0, 9.0, 7.0, 3.0])
    best_two = resolve_target(TargetConfig(property="y", goal="maximize", top_fraction=0.3), values)
    assert best_two.n_top == 2 and best_two.meets(values).tolist() == [False, False, True, True, False]
    lowest = resolve_target(TargetConfig(property="y", goal="minimize", top_fraction=0.2), values)
    assert lowest.meets(values).tolist() == [False, True, False, False, False]
    above = resolve_target(TargetConfig(property="y", above=5), values)
    assert above.meets(values).tolist() == [False, False, True, True, False]  # strictly above


def test_packaged_liang_targets_have_the_published_sizes():
    for name, n, top in [("crossed-barrel", 600, 30), ("perovskite", 94, 5), ("agnp", 164, 9),
                         ("p3ht", 178, 9), ("autoam", 100, 5)]:  # fmt: skip
        data = load_dataset(name)
        target = TargetConfig().with_default_goal(data.default_target)
        resolved = resolve_target(target, data.values(target.property))
        assert (len(data), int(resolved.meets(data.values(target.property)).sum())) == (n, top)


def test_composition_rules_each_remove_what_they_name():
    elements = ("Fe", "Ni", "Co", "Ti")
    X = np.array([[0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0, 0], [0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.3, 0.0]])
    assert composition_rules_mask(TargetConfig(min_elements=3), X, elements).tolist() == [1, 0, 1, 1]
    assert composition_rules_mask(TargetConfig(exclude=["Ti"]), X, elements).tolist() == [0, 1, 0, 1]
    bounded = TargetConfig(fraction={"min": 0.2, "max": 0.45})
    assert composition_rules_mask(bounded, X, elements).tolist() == [1, 0, 0, 1]
    share = TargetConfig(family_share={"3d": {"max": 0.8}})  # Fe, Ni, Co are 3d
    assert composition_rules_mask(share, X, elements).tolist() == [1, 0, 0, 0]
    assert composition_rules_mask(TargetConfig(), X, elements).all()


def test_p_target_is_the_share_of_draws_meeting_the_goal_times_the_rules():
    resolved = resolve_target(TargetConfig(property="y", above=1.0), np.zeros(3))
    draws = np.array([[0.0, 2.0, 2.0], [2.0, 2.0, 0.0], [0.0, 2.0, 2.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(probability_of_target(resolved, draws), [0.25, 1.0, 0.5])
    np.testing.assert_allclose(probability_of_target(resolved, draws, np.array([1, 0, 1])), [0.25, 0.0, 0.5])


def test_one_goal_only_and_unknown_names_are_one_line_errors():
    with pytest.raises(ValueError, match="give one goal"):
        TargetConfig(property="y", above=1, goal="maximize")
    with pytest.raises(ValueError, match="not an element symbol"):
        TargetConfig(exclude=["Xq"])
    with pytest.raises(ArcloopError, match="is not a property of dataset"):
        load_dataset("autoam").values("hardness")


def brute_force(n_pool, targets, n_found):
    """Over every order of the pool: mean targets found after n picks and mean picks to the j-th."""
    found_after = np.zeros(n_pool)
    to_j = 0.0
    orders = list(itertools.permutations(range(n_pool)))
    for order in orders:
        hits = np.cumsum([i in targets for i in order])
        found_after += hits
        to_j += np.flatnonzero(hits >= n_found)[0] + 1
    return found_after / len(orders), to_j / len(orders)


@pytest.mark.parametrize(("n_pool", "targets"), [(6, {0, 3}), (7, {1, 2, 5})])
def test_the_exact_random_baseline_matches_enumeration(n_pool, targets):
    m = len(targets)
    for level in (0.5, 1.0):
        j = math.ceil(level * m)
        found_after, to_j = brute_force(n_pool, targets, j)
        np.testing.assert_allclose(random_expected_found(n_pool, m, np.arange(1, n_pool + 1)), found_after)
        assert random_experiments_to(n_pool, m, level) == pytest.approx(to_j)
    # half of 5 targets is the 3rd target (⌈2.5⌉), not the 2nd: 3·(10 + 1)/(5 + 1)
    assert random_experiments_to(10, 5, 0.5) == pytest.approx(5.5)


def test_top_fraction_curve_and_af_on_a_hand_built_order():
    is_target = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)  # N = 10, M = 2
    curve = top_fraction_curve(is_target, np.array([1, 4, 0, 2]), 2)
    assert curve.tolist() == [0.5, 1.0, 1.0, 1.0]
    # random needs 1·11/3 picks for the first target; this order needed 1
    assert acceleration_factor(curve, 10, 2, 0.5) == pytest.approx(11 / 3)
    slower = top_fraction_curve(is_target, np.array([0, 2, 1, 4]), 2)
    assert acceleration_factor(slower, 10, 2, 0.5) == pytest.approx(11 / 9)


def belief(mean, std, best=0.0, draws=None):
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    return Belief(
        mean, std, mean[None] if draws is None else np.asarray(draws, float), best, np.zeros(mean.size)
    )


def test_ei_prefers_spread_when_means_tie_and_mean_when_spreads_tie():
    rng = np.random.default_rng(0)
    assert ExpectedImprovement().select(belief([0, 0], [0.1, 1.0]), 1, rng).tolist() == [1]
    assert ExpectedImprovement().select(belief([0.2, 0.5], [1.0, 1.0]), 1, rng).tolist() == [1]
    # by hand: mean = best, std 1 → EI = φ(0) = 0.3989
    assert ExpectedImprovement().score(belief([0.0], [1.0]))[0] == pytest.approx(0.39894, abs=1e-5)


def test_lcb_kappa_trades_mean_for_spread():
    b = belief([1.0, 0.0], [0.0, 1.0])
    rng = np.random.default_rng(0)
    assert ConfidenceBound(kappa=0.5).select(b, 1, rng).tolist() == [0]
    assert ConfidenceBound(kappa=2.0).select(b, 1, rng).tolist() == [1]


def test_thompson_gives_each_slot_its_own_draw_and_never_repeats():
    draws = np.array([[3.0, 0.0, 0.0], [3.0, 2.0, 0.0]])
    picks = ThompsonSampling().select(belief([0, 0, 0], [1, 1, 1], draws=draws), 3, np.random.default_rng(1))
    assert sorted(picks.tolist()) == [0, 1, 2] and picks[0] == 0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"candidates": {"source": "pool"}}, (0.0, "none")),  # screening known alloys: every target counts
        ({}, (5.0, "dataset")),  # generated alloys: new against the dataset
        ({"candidates": {"source": "pool"}, "target": {"novelty": 5}}, (5.0, "dataset")),
        ({"candidates": {"source": "pool"}, "target": {"reference": "initial"}}, (0.0, "initial")),
    ],
)
def test_novelty_defaults_follow_the_candidate_source(settings, expected):
    from arcloop.config import CampaignConfig

    target = CampaignConfig(**settings).target
    assert (target.novelty, target.reference) == expected


def test_a_screening_benchmark_refuses_a_repeated_method_label():
    from arcloop.screening import ScreeningBenchmarkConfig

    with pytest.raises(ValueError, match="method label 'A' is used twice"):
        ScreeningBenchmarkConfig(
            datasets=["autoam"], methods=[{"label": "A"}, {"label": "B"}, {"label": "A"}]
        )
