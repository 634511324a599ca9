"""Built-in surrogates by name, and ``build_surrogate`` with signature-derived parameter checks.

Classes are imported when first asked for: validating a config that names ``forest`` does not
import torch and Pyro.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from arcloop.errors import ArcloopError
from arcloop.oracles.params import validate_params
from arcloop.surrogates.base import BaseSurrogate

SURROGATES: dict[str, str] = {
    "forest": "arcloop.surrogates.forest:ForestSurrogate",
    "gp": "arcloop.surrogates.gp:GPSurrogate",
    "ssvae": "arcloop.surrogates.ssvae:SSVAESurrogate",
}


def surrogate_class(name: str) -> type[BaseSurrogate]:
    """The class registered under ``name``; one-line ArcloopError listing the names otherwise."""
    if not isinstance(name, str) or name not in SURROGATES:
        raise ArcloopError(
            f"surrogate.name: unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}"
        )
    module, attribute = SURROGATES[name].split(":")
    return getattr(import_module(module), attribute)


def validate_surrogate_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """All parameters of surrogate ``name`` (defaults filled in), checked without building it."""
    cls = surrogate_class(name)
    return validate_params(cls.__init__, params, f"surrogate.{name}")


def build_surrogate(name: str, **params: Any) -> BaseSurrogate:
    """A new, unfitted surrogate ``name`` with ``params``; one-line ArcloopError on bad names or values."""
    return surrogate_class(name)(**validate_surrogate_params(name, params))
