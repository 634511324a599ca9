from importlib import resources

import numpy as np
import pandas as pd
import pytest

from arcloop.data import (
    DESCRIPTOR_COLUMNS,
    ELEMENTS,
    alloy_fractions,
    load_alloys,
    load_descriptor_table,
    mixing_enthalpy_matrix,
)
from arcloop.materials import descriptors
from arcloop.materials.descriptors import GAS_CONSTANT


def test_alloys_table_shape_classes_and_rows_on_simplex():
    alloys = load_alloys()
    assert list(alloys.columns) == ["formula", "single_phase", *ELEMENTS]
    assert len(alloys) == 1375
    assert alloys["single_phase"].value_counts().to_dict() == {1: 712, 0: 663}
    np.testing.assert_allclose(alloy_fractions().sum(axis=1), 1.0, atol=1e-9)


def test_descriptor_table_and_enthalpy_matrix():
    table = load_descriptor_table()
    assert len(table) == 1807
    assert list(table.columns) == ["formula", *DESCRIPTOR_COLUMNS, "single_phase"]
    h = mixing_enthalpy_matrix()
    assert h.shape == (30, 30)
    np.testing.assert_array_equal(h, h.T)
    assert (np.diag(h) == 0).all()
    # Every pair of the CSV lands at both (a, b) and (b, a), and the CSV covers all 435 pairs.
    pairs = pd.read_csv(resources.files("arcloop.data").joinpath("mixing_enthalpy_pairs.csv"))
    assert len(pairs) == 435
    index = {symbol: i for i, symbol in enumerate(ELEMENTS)}
    rows = pairs["element_a"].map(index).to_numpy()
    cols = pairs["element_b"].map(index).to_numpy()
    np.testing.assert_array_equal(h[rows, cols], pairs.iloc[:, 2].to_numpy())
    np.testing.assert_array_equal(h[cols, rows], pairs.iloc[:, 2].to_numpy())


def test_loaders_return_copies():
    alloys = load_alloys()
    alloys.loc[0, "Fe"] = 99.0
    assert load_alloys().loc[0, "Fe"] != 99.0


def _shared_rows():
    alloys = load_alloys()
    reference = load_descriptor_table().drop_duplicates("formula").set_index("formula")
    assert set(alloys["formula"]) <= set(reference.index)
    return alloy_fractions(), reference.loc[alloys["formula"]]


@pytest.mark.parametrize("column", [c for c in DESCRIPTOR_COLUMNS if c != "delta_s_mix"])
def test_descriptors_reproduce_dataset_columns(column):
    X, reference = _shared_rows()
    ours = descriptors(X)[column].to_numpy()
    np.testing.assert_allclose(ours, reference[column].to_numpy(), rtol=1e-9, atol=0)


def test_entropy_of_mixing_is_exact_and_explains_the_dataset_column():
    X, reference = _shared_rows()
    ours = descriptors(X)["delta_s_mix"].to_numpy()
    present = X > 0
    exact = -GAS_CONSTANT * np.where(present, X * np.log(np.where(present, X, 1.0)), 0.0).sum(axis=1)
    np.testing.assert_allclose(ours, exact, rtol=1e-12, atol=0)
    # The dataset was built with ln(c + float32 eps): reproduce that column to 1e-9 through the exact
    # value plus the shift the epsilon causes, and bound how far the exact value is from it.
    eps = float(np.finfo(np.float32).eps)
    shifted = -GAS_CONSTANT * np.where(present, X * np.log(X + eps), 0.0).sum(axis=1)
    dataset = reference["delta_s_mix"].to_numpy()
    np.testing.assert_allclose(shifted, dataset, rtol=1e-9, atol=0)
    assert np.max(np.abs(ours - dataset) / dataset) < 3e-6
    assert (ours > dataset).all()
