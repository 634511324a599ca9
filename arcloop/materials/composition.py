"""Compositions as rows of atomic fractions over :data:`arcloop.data.ELEMENTS`."""

from __future__ import annotations

import math
import re

import numpy as np

from arcloop.data import ELEMENTS
from arcloop.errors import ArcloopError

N_ELEMENTS = len(ELEMENTS)
ROW_SUM_TOLERANCE = 1e-6
_INDEX = {symbol: i for i, symbol in enumerate(ELEMENTS)}

# Every symbol of the periodic table, so that a mistyped symbol ("Xx") and a real element
# outside the 30-element basis ("Th") get different, precise messages.
PERIODIC_TABLE = frozenset(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge
    As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm
    Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U
    Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og""".split()
)
# ASCII digits only: "Fe١٢" is not Fe12
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d*)?|\.\d+)?", re.ASCII)


def formula_amounts(formula: str) -> dict[str, float]:
    """Parse ``"Al0.5CoCrFeNi"`` into ``{"Al": 0.5, "Co": 1.0, ...}`` (amounts as written, in order of
    first appearance), over any element of the periodic table.

    A missing amount counts as 1; whitespace is ignored; a repeated element adds up.
    Raises :class:`ArcloopError` naming the offending symbol or amount.
    """
    if not isinstance(formula, str):
        raise ArcloopError(f"formula: expected a string such as 'CoCrFeMnNi', got {type(formula).__name__}")
    text = "".join(formula.split())
    if not text:
        raise ArcloopError("formula: empty string; give elements and amounts, e.g. 'Al0.5CoCrFeNi'")
    amounts: dict[str, float] = {}
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ArcloopError(
                f"formula {formula!r}: unexpected {text[position:]!r} at character {position + 1}; "
                "amounts must be positive numbers after an element symbol"
            )
        symbol, amount_text = match.groups()
        if symbol not in PERIODIC_TABLE:
            raise ArcloopError(f"formula {formula!r}: unknown element symbol {symbol!r}")
        amount = 1.0 if amount_text is None else float(amount_text)
        if not math.isfinite(amount) or amount <= 0.0:
            raise ArcloopError(f"formula {formula!r}: amount of {symbol} must be positive, got {amount_text}")
        amounts[symbol] = amounts.get(symbol, 0.0) + amount
        position = match.end()
    return amounts


def parse_formula(formula: str) -> np.ndarray:
    """Parse ``"Al0.5CoCrFeNi"`` or ``"Fe19Ni19Cr19Co13Al19Mo9"`` into 30 fractions summing to 1.

    A missing amount counts as 1; whitespace is ignored; a repeated element adds up.
    Raises :class:`ArcloopError` naming the offending symbol or amount.
    """
    amounts = np.zeros(N_ELEMENTS)
    for symbol, amount in formula_amounts(formula).items():
        if symbol not in _INDEX:
            raise ArcloopError(
                f"formula {formula!r}: element {symbol!r} is not in arcloop's 30-element basis "
                f"({' '.join(ELEMENTS)})"
            )
        amounts[_INDEX[symbol]] += amount
    return amounts / amounts.sum()


def round_to_percent(X: np.ndarray) -> np.ndarray:
    """(n, 30) int64 integer atomic percentages summing to 100 per row (rows must sum to 1).

    Vectorised largest-remainder rounding, ties broken by basis order, so the result is deterministic.
    """
    scaled = np.asarray(X, dtype=np.float64) * 100.0
    percent = np.floor(scaled).astype(np.int64)
    shortfall = 100 - percent.sum(axis=1)
    order = np.argsort(-(scaled - percent), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(scaled.shape[1]), order.shape).copy(), axis=1)
    return percent + (rank < shortfall[:, None]).astype(np.int64)


def integer_percentages(fractions: np.ndarray) -> np.ndarray:
    """One composition as integer atomic percentages summing to exactly 100 (see :func:`round_to_percent`)."""
    row = validate_compositions(np.asarray(fractions, dtype=np.float64).reshape(1, -1))
    return round_to_percent(row)[0]


def format_formula(fractions: np.ndarray) -> str:
    """Format one composition as integer percentages in basis order, e.g. ``Fe19Ni21Cr15Co21Al15Mo9``."""
    percent = integer_percentages(fractions)
    return "".join(f"{ELEMENTS[i]}{percent[i]}" for i in np.flatnonzero(percent))


def validate_compositions(X: np.ndarray, name: str = "compositions") -> np.ndarray:
    """Check an (n, 30) array of fractions: finite, non-negative, rows summing to 1 (±1e-6).

    Returns the array as float64. Raises :class:`ArcloopError` naming the first bad row.
    """
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != N_ELEMENTS:
        raise ArcloopError(f"{name}: expected shape (n, {N_ELEMENTS}), got {array.shape}")
    sums = array.sum(axis=1)
    # Fast path, two passes: NaN/inf propagate into the row sums, and one min finds any negative.
    if array.size and np.isfinite(sums).all() and array.min() >= 0.0:
        off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
        if not off.any():
            return array
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ArcloopError(f"{name}: row {row} has a NaN or infinite fraction")
    negative = (array < 0.0).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise ArcloopError(f"{name}: row {row} has a negative fraction ({array[row].min():.3g})")
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ArcloopError(
            f"{name}: row {row} sums to {sums[row]:.9g}, not 1; normalise rows (X / X.sum(1, keepdims=True))"
        )
    return array
