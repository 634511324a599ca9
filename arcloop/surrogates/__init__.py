"""Surrogates: P(single phase | composition) with S genuine posterior draws (``forest``, ``gp``, ``ssvae``).

Protocol and shapes: :mod:`arcloop.surrogates.base`. Build one with
``arcloop.registry.get("surrogates", name, **params)`` or from config data with
``SurrogateConfig(name=..., params=...).build()``. The classes are imported on first use (``gp`` and
``ssvae`` need torch and Pyro).
"""

from importlib import import_module
from typing import Any

from arcloop.surrogates.base import BaseSurrogate, Surrogate
from arcloop.surrogates.config import SurrogateConfig

_LAZY = {
    "ForestSurrogate": "arcloop.surrogates.forest",
    "GPSurrogate": "arcloop.surrogates.gp",
    "expected_sigmoid": "arcloop.surrogates.gp",
    "SSVAESurrogate": "arcloop.surrogates.ssvae",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'arcloop.surrogates' has no attribute {name!r}")


__all__ = [
    "BaseSurrogate",
    "ForestSurrogate",
    "GPSurrogate",
    "SSVAESurrogate",
    "Surrogate",
    "SurrogateConfig",
    "expected_sigmoid",
]
