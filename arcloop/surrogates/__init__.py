"""Surrogates: P(single phase | composition) with S genuine posterior draws (``ssvae``, ``gp``, ``forest``).

Protocol and shapes: :mod:`arcloop.surrogates.base`. Build one with ``build_surrogate(name, **params)``
or from config data with ``SurrogateConfig(name=..., params=...).build()``.
"""

from arcloop.surrogates.base import BaseSurrogate, Surrogate
from arcloop.surrogates.config import SurrogateConfig, parse_surrogate_config
from arcloop.surrogates.forest import ForestSurrogate
from arcloop.surrogates.gp import GPSurrogate, expected_sigmoid
from arcloop.surrogates.registry import (
    SURROGATES,
    build_surrogate,
    surrogate_class,
    validate_surrogate_params,
)
from arcloop.surrogates.ssvae import SSVAESurrogate

__all__ = [
    "SURROGATES",
    "BaseSurrogate",
    "ForestSurrogate",
    "GPSurrogate",
    "SSVAESurrogate",
    "Surrogate",
    "SurrogateConfig",
    "build_surrogate",
    "expected_sigmoid",
    "parse_surrogate_config",
    "surrogate_class",
    "validate_surrogate_params",
]
