"""Compositions, descriptors and element families: numpy in, numpy out."""

from arcloop.materials.composition import (
    N_ELEMENTS,
    PERIODIC_TABLE,
    format_formula,
    formula_amounts,
    integer_percentages,
    parse_formula,
    round_to_percent,
    validate_compositions,
)
from arcloop.materials.descriptors import descriptor_matrix, descriptors
from arcloop.materials.families import FAMILIES, FAMILY_NAMES, dominant_family, families, n_elements

__all__ = [
    "FAMILIES",
    "FAMILY_NAMES",
    "N_ELEMENTS",
    "PERIODIC_TABLE",
    "descriptor_matrix",
    "descriptors",
    "dominant_family",
    "families",
    "format_formula",
    "formula_amounts",
    "integer_percentages",
    "n_elements",
    "parse_formula",
    "round_to_percent",
    "validate_compositions",
]
