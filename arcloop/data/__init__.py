"""The packaged high-entropy-alloy dataset (Yan et al. 2021, via Zeng, Khan & Post 2024).

Everything is read from CSV files shipped inside the package: no download at run time.
Loaders are cached; they return copies so callers may modify what they get.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

ELEMENTS: tuple[str, ...] = (
    "Fe", "Ni", "Cr", "Co", "Al", "Ti", "Cu", "Mo", "V", "Nb", "Mn", "Zr", "Ta", "W", "Hf",
    "Si", "Rh", "Ru", "Re", "Os", "Pt", "Pd", "Ir", "Mg", "Ag", "Zn", "Sn", "Au", "Li", "Sc",
)  # fmt: skip
"""The 30 elements of the composition basis, in the dataset's column order."""

DESCRIPTOR_COLUMNS: tuple[str, ...] = (
    "k", "vm", "tm", "vac", "delta", "delta_chi", "delta_s_mix", "delta_h_mix",
)  # fmt: skip
"""The eight engineered descriptors the classifier head reads (see the data README)."""

ALLOYS_FILE = "alloys_top30_compositions.csv"
DESCRIPTORS_FILE = "alloys_engineered_features.csv"
ELEMENTS_FILE = "element_properties.csv"
ENTHALPY_FILE = "mixing_enthalpy_pairs.csv"


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r") as handle:
        return pd.read_csv(handle)


@lru_cache(maxsize=1)
def _alloys() -> pd.DataFrame:
    raw = _read_csv(ALLOYS_FILE)
    frame = raw.rename(columns={"Alloys": "formula", "Class": "single_phase"})
    frame["single_phase"] = frame["single_phase"].astype(np.int64)
    return frame[["formula", "single_phase", *ELEMENTS]]


def load_alloys() -> pd.DataFrame:
    """The 1,375 alloys over the 30-element basis.

    Columns: ``formula``, ``single_phase`` (1 single phase, 0 multiple phases), then the
    30 atomic-fraction columns in :data:`ELEMENTS` order (each row sums to 1).
    """
    return _alloys().copy()


def alloy_fractions() -> np.ndarray:
    """The (1375, 30) float64 matrix of atomic fractions of :func:`load_alloys`."""
    return _alloys()[list(ELEMENTS)].to_numpy(dtype=np.float64, copy=True)


def alloy_labels() -> np.ndarray:
    """The (1375,) int64 single-phase labels of :func:`load_alloys`."""
    return _alloys()["single_phase"].to_numpy(dtype=np.int64, copy=True)


@lru_cache(maxsize=1)
def _descriptor_table() -> pd.DataFrame:
    raw = _read_csv(DESCRIPTORS_FILE)
    frame = raw.rename(columns={"Alloys": "formula", "Class": "single_phase"})
    frame["single_phase"] = frame["single_phase"].astype(np.int64)
    return frame[["formula", *DESCRIPTOR_COLUMNS, "single_phase"]]


def load_descriptor_table() -> pd.DataFrame:
    """The 1,807-alloy table (70 elements) with the 8 descriptors and ``single_phase``."""
    return _descriptor_table().copy()


@lru_cache(maxsize=1)
def _element_properties() -> pd.DataFrame:
    return _read_csv(ELEMENTS_FILE).set_index("element")


def load_element_properties(elements: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Element table indexed by symbol: ``ar chi k tm vac vm`` (70 elements by default)."""
    table = _element_properties()
    return (table if elements is None else table.loc[list(elements)]).copy()


@lru_cache(maxsize=1)
def _mixing_enthalpy() -> np.ndarray:
    pairs = _read_csv(ENTHALPY_FILE)
    index = {symbol: i for i, symbol in enumerate(ELEMENTS)}
    matrix = np.zeros((len(ELEMENTS), len(ELEMENTS)))
    for a, b, h in pairs.itertuples(index=False):
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = h
    matrix.setflags(write=False)
    return matrix


def mixing_enthalpy_matrix() -> np.ndarray:
    """Symmetric (30, 30) matrix of binary mixing enthalpies ΔH_ij in kJ/mol, zero diagonal."""
    return _mixing_enthalpy().copy()


__all__ = [
    "DESCRIPTOR_COLUMNS",
    "ELEMENTS",
    "alloy_fractions",
    "alloy_labels",
    "load_alloys",
    "load_descriptor_table",
    "load_element_properties",
    "mixing_enthalpy_matrix",
]
