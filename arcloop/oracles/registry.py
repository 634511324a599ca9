"""Oracles by name: built-ins registered in code, third-party ones through entry points.

A plugin declares, in its packaging metadata::

    [project.entry-points."arcloop.oracles"]
    my_oracle = "my_package.module:MyOracle"

The entry point loads a class or a factory function; its keyword parameters (with type hints
and defaults) are its parameters. What it returns must satisfy :class:`arcloop.oracles.Oracle`.
Entry points are read on every call (cheap), so a package installed while the process runs is
found. A plugin cannot shadow a built-in name (a warning says so and the built-in is used).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

from arcloop.errors import ArcloopError
from arcloop.oracles.base import Oracle
from arcloop.oracles.emulator import EmulatorOracle
from arcloop.oracles.lookup import LookupOracle
from arcloop.oracles.params import describe_params, summary_line, validate_params
from arcloop.oracles.rules import RulesOracle
from arcloop.oracles.synthetic import SyntheticOracle
from arcloop.oracles.wrappers import WRAPPERS, Wrapper

ENTRY_POINT_GROUP = "arcloop.oracles"
BUILTIN_SOURCE = "builtin"

BUILTIN_ORACLES: dict[str, Callable[..., Oracle]] = {
    cls.name: cls for cls in (RulesOracle, EmulatorOracle, LookupOracle, SyntheticOracle)
}


def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if entry.name in BUILTIN_ORACLES or entry.name in WRAPPERS:
            warnings.warn(
                f"oracle plugin {entry.name!r} ({entry.value}) is ignored: the name is a built-in",
                stacklevel=3,
            )
            continue
        found.setdefault(entry.name, entry)
    return found


def _source(entry: metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return dist.name if dist is not None else "plugin"


def available() -> list[str]:
    """Names of every oracle: built-ins first, then plugins (sorted)."""
    return [*BUILTIN_ORACLES, *_entry_points()]


def _unknown(name: str) -> ArcloopError:
    return ArcloopError(f"oracle {name!r} is unknown; available oracles: {', '.join(available())}")


def _factory(name: str) -> tuple[Callable[..., Any], str]:
    if not isinstance(name, str):
        raise ArcloopError(f"oracle name: expected a string, got {type(name).__name__}")
    if name in BUILTIN_ORACLES:
        return BUILTIN_ORACLES[name], BUILTIN_SOURCE
    entry = _entry_points().get(name)
    if entry is None:
        raise _unknown(name)
    try:
        factory = entry.load()
    except Exception as error:
        raise ArcloopError(
            f"oracle {name!r} from {_source(entry)}: its entry point {entry.value!r} failed to load "
            f"({type(error).__name__}: {error})"
        ) from None
    if not callable(factory):
        raise ArcloopError(
            f"oracle {name!r} from {_source(entry)}: entry point {entry.value!r} is not callable"
        )
    return factory, _source(entry)


def validate_oracle_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Checked parameters of oracle ``name`` (defaults filled in), without building it."""
    factory, _ = _factory(name)
    return validate_params(factory, params, name)


def get(name: str, **params: Any) -> Oracle:
    """Build oracle ``name`` with ``params``; unknown names and bad parameters raise ArcloopError."""
    factory, source = _factory(name)
    oracle = factory(**validate_params(factory, params, name))
    if not isinstance(oracle, Oracle):
        raise ArcloopError(
            f"oracle {name!r} from {source}: built a {type(oracle).__name__}, which lacks label() "
            "or requires_latent"
        )
    return oracle


def _wrapper_class(name: str) -> type[Wrapper]:
    if name not in WRAPPERS:
        raise ArcloopError(f"wrapper {name!r} is unknown; available wrappers: {', '.join(WRAPPERS)}")
    return WRAPPERS[name]


def validate_wrapper_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Checked parameters of wrapper ``name`` (defaults filled in)."""
    return validate_params(_wrapper_class(name), params, name)


def wrap(oracle: Oracle, name: str, **params: Any) -> Oracle:
    """Wrap ``oracle`` in the wrapper ``name`` (one of :data:`WRAPPERS`) with ``params``."""
    return _wrapper_class(name)(oracle, **params)


def _entry(name: str, factory: Callable[..., Any], source: str) -> dict[str, Any]:
    return {
        "name": name,
        "params": describe_params(factory),
        "source": source,
        "summary": summary_line(factory),
    }


def describe(name: str) -> dict[str, Any]:
    """``name``, ``source``, ``summary``, ``kind`` and ``params`` (type, default, required, bounds each)."""
    if name in WRAPPERS:
        return {**_entry(name, WRAPPERS[name], BUILTIN_SOURCE), "kind": "wrapper"}
    factory, source = _factory(name)
    return {**_entry(name, factory, source), "kind": "oracle"}


def list_oracles() -> list[dict[str, Any]]:
    """Every oracle as ``{"name", "params", "source", "summary"}``.

    ``source`` is "builtin" or the name of the plugin's distribution.

    A plugin that fails to load is listed with empty ``params`` and an ``error``.
    """
    listed = [_entry(name, factory, BUILTIN_SOURCE) for name, factory in BUILTIN_ORACLES.items()]
    for name, entry in _entry_points().items():
        try:
            factory, source = _factory(name)
        except ArcloopError as error:
            listed.append(
                {"name": name, "params": {}, "source": _source(entry), "summary": "", "error": str(error)}
            )
            continue
        listed.append(_entry(name, factory, source))
    return listed


def list_wrappers() -> list[dict[str, Any]]:
    """Every wrapper as ``{"name", "params", "source", "summary"}``."""
    return [_entry(name, cls, BUILTIN_SOURCE) for name, cls in WRAPPERS.items()]
