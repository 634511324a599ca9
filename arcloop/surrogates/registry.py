"""Built-in surrogates by name, and ``build_surrogate`` with signature-derived parameter checks."""

from __future__ import annotations

from typing import Any

from arcloop.errors import ArcloopError
from arcloop.oracles.params import validate_params
from arcloop.surrogates.base import BaseSurrogate
from arcloop.surrogates.forest import ForestSurrogate
from arcloop.surrogates.gp import GPSurrogate
from arcloop.surrogates.ssvae import SSVAESurrogate

SURROGATES: dict[str, type[BaseSurrogate]] = {
    "ssvae": SSVAESurrogate,
    "gp": GPSurrogate,
    "forest": ForestSurrogate,
}


def surrogate_class(name: str) -> type[BaseSurrogate]:
    """The class registered under ``name``; one-line ArcloopError listing the names otherwise."""
    if not isinstance(name, str) or name not in SURROGATES:
        raise ArcloopError(
            f"surrogate.name: unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}"
        )
    return SURROGATES[name]


def validate_surrogate_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """All parameters of surrogate ``name`` (defaults filled in), checked without building it."""
    cls = surrogate_class(name)
    return validate_params(cls.__init__, params, f"surrogate.{name}")


def build_surrogate(name: str, **params: Any) -> BaseSurrogate:
    """A new, unfitted surrogate ``name`` with ``params``; one-line ArcloopError on bad names or values."""
    return surrogate_class(name)(**validate_surrogate_params(name, params))
