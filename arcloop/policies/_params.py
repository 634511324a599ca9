"""Checks for policy and builder parameters: one-line errors that name the owner and the parameter."""

from __future__ import annotations

import math
from collections.abc import Sequence

from arcloop.errors import ArcloopError


def real(
    policy: str,
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    kind: str = "policy",
) -> float:
    """A finite number >= minimum (> minimum when ``strict``); ``kind`` names the owner (policy, builder)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArcloopError(f"{kind} {policy!r}: parameter {name!r} must be a number, got {value!r}")
    number = float(value)
    too_small = number <= minimum if strict else number < minimum
    if not math.isfinite(number) or too_small:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ArcloopError(
            f"{kind} {policy!r}: parameter {name!r} must be a finite number {bound}, got {value!r}"
        )
    return number


def integer(policy: str, name: str, value: object, *, minimum: int = 1) -> int:
    """An integer >= minimum (floats with an integer value are accepted, e.g. from YAML)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArcloopError(
            f"policy {policy!r}: parameter {name!r} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def choice(policy: str, name: str, value: object, options: Sequence[str]) -> str:
    """One of ``options``."""
    if value not in options:
        raise ArcloopError(
            f"policy {policy!r}: parameter {name!r} must be one of "
            f"{', '.join(map(repr, options))}, got {value!r}"
        )
    return str(value)
