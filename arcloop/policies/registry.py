"""Policy registry: built-in acquisitions and batch builders in code, plugins through the entry-point
group ``arcloop.policies``.

A built policy is an acquisition (registered by policy name) plus a batch builder (``top_k``,
``exclusion``, ``local_penalization``; built in only): :class:`arcloop.policies.builders.BatchPolicy`.

A plugin entry point names a class (or factory) whose keyword parameters are the policy's parameters.
Its instances either have ``start(candidates, context, k, rng)`` (an acquisition: the configured
builder applies) or only ``select(candidates, context, k, rng)`` (the protocol before the split:
wrapped in :class:`arcloop.policies.builders.PluginPolicy`, the builder does NOT apply). An optional
class attribute ``param_docs: dict[str, str]`` documents the parameters. Built-in policy and builder
names cannot be overridden.
"""

from __future__ import annotations

import inspect
import math
import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from arcloop.errors import ArcloopError
from arcloop.policies.base import Policy
from arcloop.policies.baselines import NoveltyAcquisition, RandomAcquisition, ThompsonAcquisition
from arcloop.policies.builders import BUILTIN_BUILDERS, DEFAULT_RADIUS, BatchPolicy, PluginPolicy
from arcloop.policies.entropy import EntropyAcquisition
from arcloop.policies.greedy import GreedyAcquisition
from arcloop.policies.uncertainty import UncertaintyAcquisition

ENTRY_POINT_GROUP = "arcloop.policies"

BUILTIN_POLICIES: dict[str, type] = {
    cls.name: cls
    for cls in (
        GreedyAcquisition,
        UncertaintyAcquisition,
        EntropyAcquisition,
        RandomAcquisition,
        ThompsonAcquisition,
        NoveltyAcquisition,
    )
}


@lru_cache(maxsize=1)
def _plugins() -> dict[str, Any]:
    """Entry points of the group by name, not loaded. Cached: call ``refresh_plugins`` after installs."""
    found: dict[str, Any] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in BUILTIN_POLICIES or point.name in BUILTIN_BUILDERS:
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


def available_builders() -> tuple[str, ...]:
    """Names of the batch builders (built in only)."""
    return tuple(BUILTIN_BUILDERS)


def get_policy(name: str) -> type:
    """The class registered under ``name``: a built-in acquisition, a plugin factory, or, for a builder
    name (one namespace for both, so that ``arcloop policies list`` can describe every entry), a batch
    builder class."""
    if name in BUILTIN_POLICIES:
        return BUILTIN_POLICIES[name]
    if name in BUILTIN_BUILDERS:
        return BUILTIN_BUILDERS[name]
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
    """Parameters of a policy or builder: name -> {"default", "type", "doc"} (default None when required)."""
    return _described_params(get_policy(name))


def builder_params(name: str) -> dict[str, dict[str, Any]]:
    """Parameters of a batch builder: name -> {"default", "type", "doc"}."""
    return _described_params(_builder_class(name))


def _described_params(factory: type) -> dict[str, dict[str, Any]]:
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
    """Every registered policy, then every batch builder, as ``{"name", "kind", "summary", "params",
    "source"}``: ``kind`` is "policy" or "builder"; ``source`` is "builtin" or the plugin's distribution."""
    listed = []
    for name in available_policies():
        source = "builtin" if name in BUILTIN_POLICIES else _distribution(_plugins()[name])
        summary = str(getattr(get_policy(name), "summary", "") or "")
        listed.append(
            {
                "name": name,
                "kind": "policy",
                "summary": summary,
                "params": policy_params(name),
                "source": source,
            }
        )
    for name, builder in BUILTIN_BUILDERS.items():
        listed.append(
            {
                "name": name,
                "kind": "builder",
                "summary": builder.summary,
                "params": builder_params(name),
                "source": "builtin",
            }
        )
    return listed


def _builder_class(name: object) -> type:
    if not isinstance(name, str) or name not in BUILTIN_BUILDERS:
        raise ArcloopError(
            f"unknown builder {name!r} (policy.builder.name); valid names: {', '.join(BUILTIN_BUILDERS)}"
        )
    return BUILTIN_BUILDERS[name]


def _name_and_params(config: Any, what: str) -> tuple[Any, dict[str, Any]]:
    if isinstance(config, str):
        return config, {}
    if isinstance(config, dict):
        unexpected = sorted(set(config) - {"name", "params"})
        if unexpected or "name" not in config:
            raise ArcloopError(f"{what}: expected a mapping with 'name' and optional 'params'")
        return config["name"], dict(config.get("params") or {})
    if hasattr(config, "name") and hasattr(config, "params"):
        return config.name, dict(config.params)
    raise ArcloopError(f"{what}: expected a name, a mapping or a config, got {type(config).__name__}")


def _instantiate(kind: str, name: str, factory: type, given: dict[str, Any]) -> Any:
    known = _signature_params(factory)
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(known) if known else "none"
        raise ArcloopError(
            f"{kind} {name!r}: unknown parameter(s) {', '.join(unknown)}; valid parameters: {valid}"
        )
    try:
        return factory(**given)
    except ArcloopError:
        raise
    except (TypeError, ValueError) as error:
        raise ArcloopError(f"{kind} {name!r}: invalid parameters: {error}") from error


def build_builder(config: Any = "exclusion", default_radius: float = DEFAULT_RADIUS) -> Any:
    """A batch builder from a :class:`~arcloop.policies.config.BuilderConfig`, a mapping ``{"name",
    "params"}`` or a name. A ``radius`` that is None or absent becomes ``default_radius`` (the campaign's
    ``target.novelty``) for the builders that have one."""
    name, given = _name_and_params(config, "policy.builder")
    factory = _builder_class(name)
    if (
        isinstance(default_radius, bool)
        or not isinstance(default_radius, int | float)
        or not math.isfinite(default_radius)
        or default_radius < 0
    ):
        raise ArcloopError(f"default_radius: must be a finite number >= 0 at.% (got {default_radius!r})")
    radius = float(default_radius)
    if "radius" in _signature_params(factory) and given.get("radius") is None:
        given["radius"] = radius
    return _instantiate("builder", name, factory, given)


def build_policy(
    config: Any, default_radius: float = DEFAULT_RADIUS, *, builder: Any = None, **params: Any
) -> Policy:
    """Instantiate a policy (acquisition + batch builder) from a
    :class:`~arcloop.policies.config.PolicyConfig`, a mapping ``{"name", "params", "builder"}`` or a name
    plus keyword parameters. ``builder`` (a name, mapping or BuilderConfig) overrides the config's
    builder; the default builder is ``exclusion``. ``default_radius`` (at.%) stands in for a builder
    radius left at None: pass the campaign's ``target.novelty``. Unknown names or parameters raise
    :class:`ArcloopError` naming them; invalid values raise the policy's or builder's own one-line error.

    Returns a :class:`BatchPolicy`, or a :class:`PluginPolicy` for a plugin that only has ``select``
    (no builder applies to it)."""
    builder_config: Any = None
    if isinstance(config, dict) and "builder" in config:
        config = dict(config)
        builder_config = config.pop("builder")
    elif not isinstance(config, str | dict) and getattr(config, "builder", None) is not None:
        builder_config = config.builder
    if builder is not None:
        builder_config = builder
    name, given = _name_and_params(config, "policy")
    given.update(params)
    if isinstance(name, str) and name in BUILTIN_BUILDERS:
        raise ArcloopError(
            f"policy: {name!r} is a batch builder, not a policy; set it as policy.builder.name"
        )
    factory = get_policy(name)
    if builder_config is None:
        # Each acquisition names its default builder: exclusion, but top_k for random, which is the
        # literature's baseline (uniform draws without replacement, Rohr et al. 2020).
        builder_config = getattr(factory, "default_builder", "exclusion")
    instance = _instantiate("policy", name, factory, given)
    built_builder = build_builder(builder_config, default_radius)
    if callable(getattr(instance, "start", None)):
        return BatchPolicy(instance, built_builder, name=name)
    if callable(getattr(instance, "select", None)):
        return PluginPolicy(instance, name)
    raise ArcloopError(
        f"policy {name!r}: the registered factory returned an object with neither start() nor select()"
    )
