"""Policy registry: built-ins in code, plugins through the entry-point group ``arcloop.policies``.

A plugin entry point names a class (or factory) whose keyword parameters are the policy's
parameters and whose instances have ``select(candidates, context, k, rng)``. An optional class
attribute ``param_docs: dict[str, str]`` documents them. Built-in names cannot be overridden.
"""

from __future__ import annotations

import inspect
import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from arcloop.errors import ArcloopError
from arcloop.policies.base import Policy
from arcloop.policies.baselines import NoveltyPolicy, RandomPolicy, ThompsonPolicy
from arcloop.policies.entropy import EntropyPolicy
from arcloop.policies.greedy import GreedyPolicy
from arcloop.policies.uncertainty import UncertaintyPolicy

ENTRY_POINT_GROUP = "arcloop.policies"

BUILTIN_POLICIES: dict[str, type] = {
    cls.name: cls
    for cls in (GreedyPolicy, UncertaintyPolicy, EntropyPolicy, RandomPolicy, ThompsonPolicy, NoveltyPolicy)
}


@lru_cache(maxsize=1)
def _plugins() -> dict[str, Any]:
    """Entry points of the group by name, not loaded. Cached: call ``refresh_plugins`` after installs."""
    found: dict[str, Any] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in BUILTIN_POLICIES:
            warnings.warn(
                f"policy plugin {point.name!r} from {_distribution(point)} ignored: the name is built in",
                stacklevel=2,
            )
            continue
        found.setdefault(point.name, point)
    return found


def refresh_plugins() -> None:
    """Forget the cached entry points (after installing or removing a plugin in this process)."""
    _plugins.cache_clear()


def _distribution(point: Any) -> str:
    dist = getattr(point, "dist", None)
    return dist.name if dist is not None else "unknown distribution"


def available_policies() -> tuple[str, ...]:
    """Registered names: built-ins first, then plugins in alphabetical order."""
    return (*BUILTIN_POLICIES, *_plugins())


def get_policy(name: str) -> type:
    """The policy class (or plugin factory) registered under ``name``."""
    if name in BUILTIN_POLICIES:
        return BUILTIN_POLICIES[name]
    point = _plugins().get(name) if isinstance(name, str) else None
    if point is None:
        raise ArcloopError(f"policy: unknown name {name!r}; valid names: {', '.join(available_policies())}")
    try:
        return point.load()
    except Exception as error:  # a broken third-party plugin must not crash with a traceback
        raise ArcloopError(
            f"policy {name!r} (plugin from {_distribution(point)}) failed to load: "
            f"{type(error).__name__}: {error}"
        ) from error


def _signature_params(factory: type) -> dict[str, inspect.Parameter]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    params = list(inspect.signature(target).parameters.values())
    if inspect.isclass(factory):
        params = params[1:]  # self
    return {
        p.name: p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }


def policy_params(name: str) -> dict[str, dict[str, Any]]:
    """Parameters of a policy: name -> {"default", "type", "doc"} (default None when required)."""
    factory = get_policy(name)
    docs = getattr(factory, "param_docs", {}) or {}
    described: dict[str, dict[str, Any]] = {}
    for pname, param in _signature_params(factory).items():
        annotation = param.annotation
        if annotation is inspect.Parameter.empty:
            type_name = "any"
        else:
            type_name = (
                annotation
                if isinstance(annotation, str)
                else getattr(annotation, "__name__", str(annotation))
            )
        default = None if param.default is inspect.Parameter.empty else param.default
        described[pname] = {"default": default, "type": type_name, "doc": docs.get(pname, "")}
    return described


def list_policies() -> list[dict[str, Any]]:
    """Every registered policy as ``{"name", "params", "source"}``.

    ``source`` is "builtin" or the name of the plugin's distribution.
    """
    listed = []
    for name in available_policies():
        source = "builtin" if name in BUILTIN_POLICIES else _distribution(_plugins()[name])
        listed.append({"name": name, "params": policy_params(name), "source": source})
    return listed


def build_policy(config: Any, default_radius: float = 5.0, **params: Any) -> Policy:
    """Instantiate a policy from a :class:`~arcloop.policies.config.PolicyConfig`, a mapping
    ``{"name", "params"}`` or a name plus keyword parameters. Unknown names or parameters raise
    :class:`ArcloopError` naming them; invalid values raise the policy's own one-line error."""
    if isinstance(config, str):
        name, given = config, dict(params)
    elif isinstance(config, dict):
        unexpected = sorted(set(config) - {"name", "params"})
        if unexpected or "name" not in config:
            raise ArcloopError("policy: expected a mapping with 'name' and optional 'params'")
        name, given = config["name"], {**(config.get("params") or {}), **params}
    elif hasattr(config, "name") and hasattr(config, "params"):
        name, given = config.name, {**config.params, **params}
    else:
        raise ArcloopError(
            f"policy: expected a name, a mapping or a PolicyConfig, got {type(config).__name__}"
        )
    factory = get_policy(name)
    known = _signature_params(factory)
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(known) if known else "none"
        raise ArcloopError(
            f"policy {name!r}: unknown parameter(s) {', '.join(unknown)}; valid parameters: {valid}"
        )
    try:
        policy = factory(**given)
    except ArcloopError:
        raise
    except (TypeError, ValueError) as error:
        raise ArcloopError(f"policy {name!r}: invalid parameters: {error}") from error
    if not callable(getattr(policy, "select", None)):
        raise ArcloopError(f"policy {name!r}: the registered factory did not return an object with select()")
    return policy
