from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from arcloop.data import ELEMENTS, alloy_fractions
from arcloop.errors import ArcloopError
from arcloop.materials import (
    FAMILY_NAMES,
    descriptors,
    families,
    format_formula,
    integer_percentages,
    n_elements,
    parse_formula,
    round_to_percent,
    validate_compositions,
)


def fractions_of(**amounts: float) -> np.ndarray:
    row = np.zeros(len(ELEMENTS))
    for symbol, amount in amounts.items():
        row[ELEMENTS.index(symbol)] = amount
    return row / row.sum()


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("Fe19Ni19Cr19Co13Al19Mo9", fractions_of(Fe=19, Ni=19, Cr=19, Co=13, Al=19, Mo=9)),
        ("Al0.5CoCrFeNi", fractions_of(Al=0.5, Co=1, Cr=1, Fe=1, Ni=1)),
        ("CoCrFeMnNi", fractions_of(Co=1, Cr=1, Fe=1, Mn=1, Ni=1)),
        (" Co Cr\tFe Mn Ni\n", fractions_of(Co=1, Cr=1, Fe=1, Mn=1, Ni=1)),
        ("FeFe2Ni", fractions_of(Fe=3, Ni=1)),
        ("Ti.5Zr.5", fractions_of(Ti=1, Zr=1)),
    ],
)
def test_parse_formula_accepts_common_notations(formula, expected):
    np.testing.assert_allclose(parse_formula(formula), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("FeXx2", "unknown element symbol 'Xx'"),
        ("Fe1Th1", "element 'Th' is not in arcloop's 30-element basis"),
        ("Fe0Ni1", "amount of Fe must be positive"),
        ("Fe-1Ni1", "unexpected '-1Ni1'"),
        ("Fe1Ni1nan", "unexpected 'nan'"),
        ("fe1", "unexpected 'fe1'"),
    ],
)
def test_parse_formula_rejects_with_one_line_message(formula, message):
    with pytest.raises(ArcloopError) as error:
        parse_formula(formula)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_format_formula_matches_the_papers_notation():
    assert format_formula(parse_formula("Fe19Ni21Cr15Co21Al15Mo9")) == "Fe19Ni21Cr15Co21Al15Mo9"
    assert format_formula(parse_formula("CoCrFeMnNi")) == "Fe20Ni20Cr20Co20Mn20"  # basis order


compositions = (
    arrays(
        np.float64,
        len(ELEMENTS),
        elements=st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=100.0)),
    )
    .filter(lambda row: row.sum() > 0)
    .map(lambda row: row / row.sum())
)


@settings(max_examples=200, deadline=None)
@given(compositions)
def test_integer_percentages_sum_to_100_and_stay_within_one_percent(row):
    percent = integer_percentages(row)
    assert percent.sum() == 100
    assert (np.abs(percent - 100 * row) < 1.0).all()


def largest_remainder_reference(row: np.ndarray) -> list[int]:
    """Textbook largest remainder, one row in plain Python: floors, then +1 by remainder, ties by order."""
    floors = [int(np.floor(100 * x)) for x in row]
    remainders = sorted(range(len(row)), key=lambda i: (-(100 * row[i] - floors[i]), i))
    for i in remainders[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


@settings(max_examples=100, deadline=None)
@given(st.lists(compositions, min_size=1, max_size=6), st.booleans())
def test_round_to_percent_matches_a_per_row_reference(rows, coarse):
    X = np.stack(rows)
    if coarse:  # many exact remainder ties
        X = np.round(X * 1000.0) + 1.0
        X /= X.sum(axis=1, keepdims=True)
    percent = round_to_percent(X)
    assert percent.tolist() == [largest_remainder_reference(row) for row in X]


def test_round_to_percent_on_the_dataset():
    X = alloy_fractions()
    percent = round_to_percent(X)
    assert (percent.sum(axis=1) == 100).all()
    assert percent.tolist()[::50] == [largest_remainder_reference(row) for row in X[::50]]


@settings(max_examples=200, deadline=None)
@given(compositions)
def test_format_then_parse_round_trips_to_the_rounded_composition(row):
    text = format_formula(row)
    parsed = parse_formula(text)
    np.testing.assert_allclose(parsed * 100, integer_percentages(row), atol=1e-9)
    assert format_formula(parsed) == text  # idempotent once on the 1 % grid


@settings(max_examples=200, deadline=None)
@given(st.lists(compositions, min_size=1, max_size=8))
def test_validator_accepts_simplex_rows(rows):
    X = np.stack(rows)
    np.testing.assert_array_equal(validate_compositions(X), X)


@settings(max_examples=100, deadline=None)
@given(st.lists(compositions, min_size=2, max_size=6), st.data())
def test_validator_names_the_first_offending_row(rows, data):
    X = np.stack(rows)
    bad = data.draw(st.integers(0, len(rows) - 1))
    kind = data.draw(st.sampled_from(["nan", "negative", "scale"]))
    column = data.draw(st.integers(0, len(ELEMENTS) - 1))
    if kind == "nan":
        X[bad, column] = np.nan
    elif kind == "negative":
        X[bad, column] = -0.25
    else:
        X[bad] *= 1.5
    with pytest.raises(ArcloopError, match=f"row {bad} "):
        validate_compositions(X)


def test_validator_rejects_wrong_shape():
    with pytest.raises(ArcloopError, match=r"expected shape \(n, 30\)"):
        validate_compositions(np.ones((3, 29)) / 29)


def test_descriptors_known_values_and_rule_columns():
    table = descriptors(np.stack([parse_formula("CoCrFeMnNi"), parse_formula("Fe")]))
    # ΔS_mix of an equiatomic 5-component alloy is R ln 5; a pure element has none.
    assert table.loc[0, "delta_s_mix"] == pytest.approx(8.314 * np.log(5), rel=1e-12)
    assert table.loc[1, "delta_s_mix"] == 0.0
    assert table.loc[1, "delta"] == 0.0 and table.loc[1, "delta_h_mix"] == 0.0
    assert np.isinf(table.loc[1, "omega"])
    assert table.loc[0, "vec_sd"] == pytest.approx((9 + 6 + 8 + 7 + 10) / 5)
    # Equiatomic quinary: ΔH_mix = 4 Σ_{i<j} (1/5)(1/5) ΔH_ij over the ten pairs of the packaged table.
    pairs = pd.read_csv(resources.files("arcloop.data").joinpath("mixing_enthalpy_pairs.csv"))
    cantor = {"Co", "Cr", "Fe", "Mn", "Ni"}
    inside = pairs[pairs.element_a.isin(cantor) & pairs.element_b.isin(cantor)]
    assert len(inside) == 10
    assert table.loc[0, "delta_h_mix"] == pytest.approx(4 / 25 * inside.iloc[:, 2].sum(), rel=1e-12)
    omega = table.loc[0, "tm"] * table.loc[0, "delta_s_mix"] / abs(1000 * table.loc[0, "delta_h_mix"])
    assert table.loc[0, "omega"] == pytest.approx(omega, rel=1e-12)


def test_families_and_element_counts():
    X = np.stack([parse_formula("CoCrFeMnNi"), parse_formula("HfNbTaTiZr"), parse_formula("Al0.5CoCrFeNi")])
    shares = families(X)
    assert shares.shape == (3, len(FAMILY_NAMES))
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert shares[0, FAMILY_NAMES.index("3d")] == 1.0
    assert shares[1, FAMILY_NAMES.index("refractory")] == 1.0
    assert shares[2, FAMILY_NAMES.index("other")] == pytest.approx(0.5 / 4.5)
    assert n_elements(X).tolist() == [5, 5, 5]
    assert n_elements(X, threshold=0.2).tolist() == [0, 0, 4]
