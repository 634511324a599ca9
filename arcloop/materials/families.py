"""Element families: the coarse chemistry axis along which seed bias and coverage are measured."""

from __future__ import annotations

import numpy as np

from arcloop.data import ELEMENTS
from arcloop.materials.composition import validate_compositions

# The four families of the project brief. Cu sits with the 3d metals (it is the Cantor-type
# FCC systems' usual partner); Mn too. Al, Si, Mg, Zn, Sn, Li and Sc are the light / sp
# elements that are alloying additions rather than HEA bases.
FAMILIES: dict[str, tuple[str, ...]] = {
    "3d": ("Fe", "Co", "Ni", "Mn", "Cr", "Cu"),
    "refractory": ("Ti", "V", "Nb", "Mo", "Ta", "W", "Zr", "Hf", "Re"),
    "noble": ("Ru", "Rh", "Pd", "Os", "Ir", "Pt", "Ag", "Au"),
    "other": ("Al", "Si", "Mg", "Zn", "Sn", "Li", "Sc"),
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def _membership() -> np.ndarray:
    matrix = np.zeros((len(ELEMENTS), len(FAMILIES)))
    for j, members in enumerate(FAMILIES.values()):
        for symbol in members:
            matrix[ELEMENTS.index(symbol), j] = 1.0
    return matrix


_MEMBERSHIP = _membership()
assert (_MEMBERSHIP.sum(axis=1) == 1).all(), "every element belongs to exactly one family"


def families(X: np.ndarray) -> np.ndarray:
    """(n, 4) shares of each family per composition, columns in :data:`FAMILY_NAMES` order."""
    return validate_compositions(X) @ _MEMBERSHIP


def dominant_family(X: np.ndarray) -> np.ndarray:
    """(n,) index into :data:`FAMILY_NAMES` of the family with the largest share."""
    return np.argmax(families(X), axis=1)


def n_elements(X: np.ndarray, threshold: float = 0.005) -> np.ndarray:
    """(n,) number of elements whose fraction exceeds ``threshold``."""
    return (np.asarray(X, dtype=np.float64) > threshold).sum(axis=1)
