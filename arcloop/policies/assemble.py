"""A policy from its config: an acquisition and a batch builder, both looked up in :mod:`arcloop.registry`.

A built policy is an acquisition (kind ``policies``) plus a batch builder (kind ``builders``):
:class:`arcloop.policies.builders.BatchPolicy`. A policy plugin whose objects only have
``select(candidates, context, k, rng)`` (the protocol before the split) is wrapped in
:class:`arcloop.policies.builders.PluginPolicy`, and no builder applies to it.
"""

from __future__ import annotations

import math
from typing import Any

from arcloop import registry
from arcloop.errors import ArcloopError
from arcloop.params import describe_params
from arcloop.policies.base import Policy
from arcloop.policies.builders import DEFAULT_RADIUS, BatchPolicy, PluginPolicy


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


def build_builder(config: Any = "exclusion", default_radius: float = DEFAULT_RADIUS) -> Any:
    """A batch builder from a :class:`~arcloop.policies.config.BuilderConfig`, a mapping ``{"name",
    "params"}`` or a name. A ``radius`` that is None or absent becomes ``default_radius`` (the campaign's
    ``target.novelty``) for the builders that have one."""
    name, given = _name_and_params(config, "policy.builder")
    if (
        isinstance(default_radius, bool)
        or not isinstance(default_radius, int | float)
        or not math.isfinite(default_radius)
        or default_radius < 0
    ):
        raise ArcloopError(f"default_radius: must be a finite number >= 0 at.% (got {default_radius!r})")
    if "radius" in describe_params(registry.factory("builders", name)) and given.get("radius") is None:
        given["radius"] = float(default_radius)
    return registry.get("builders", name, **given)


def build_policy(
    config: Any, default_radius: float = DEFAULT_RADIUS, *, builder: Any = None, **params: Any
) -> Policy:
    """Instantiate a policy (acquisition + batch builder) from a
    :class:`~arcloop.policies.config.PolicyConfig`, a mapping ``{"name", "params", "builder"}`` or a name
    plus keyword parameters. ``builder`` (a name, mapping or BuilderConfig) overrides the config's
    builder; the default builder is the acquisition's ``default_builder`` (``exclusion`` unless it says
    otherwise). ``default_radius`` (at.%) stands in for a builder radius left at None: pass the
    campaign's ``target.novelty``. Unknown names and invalid parameters raise one-line ArcloopErrors.

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
    if isinstance(name, str) and name in registry.available("builders"):
        raise ArcloopError(
            f"policy: {name!r} is a batch builder, not a policy; set it as policy.builder.name"
        )
    instance = registry.get("policies", name, **given)
    if builder_config is None:
        # Each acquisition names its default builder: exclusion, but top_k for random, which is the
        # literature's baseline (uniform draws without replacement, Rohr et al. 2020).
        builder_config = getattr(instance, "default_builder", "exclusion")
    built_builder = build_builder(builder_config, default_radius)
    if callable(getattr(instance, "start", None)):
        return BatchPolicy(instance, built_builder, name=name)
    return PluginPolicy(instance, name)
