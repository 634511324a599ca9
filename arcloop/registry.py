"""One registry for everything pluggable: policies, batch builders, surrogates, oracles, oracle wrappers,
and the regressors and acquisitions of screening campaigns (:mod:`arcloop.screening`).

Built-ins are named here as ``"module:attribute"`` and imported when first asked for (listing the
oracles does not import torch). Third-party ones come from the entry-point group ``arcloop.<kind>``::

    [project.entry-points."arcloop.policies"]
    my_policy = "my_package.module:MyAcquisition"

An entry point names a class or a factory function. Its keyword parameters, with their type hints
(``Annotated[float, Field(ge=0, description="...")]``: bounds and a doc string) and defaults, are
its parameters, checked by one pydantic mechanism (:mod:`arcloop.params`). Entry points are read on
every call, so a package installed while the process runs is found. A plugin cannot shadow a built-in
name of its kind (a warning says so and the built-in is used). A plugin that fails to load, or builds
an object that lacks its kind's methods, raises a one-line :class:`ArcloopError` when used, and is
listed with that error by :func:`listing`, after every entry that works.

A name of the form ``"module:Attribute"`` (``oracle: {name: "my_lab:MyOracle"}``) imports
``Attribute`` from ``module`` on the import path: a plugin tried out without packaging. It gets the
same parameter validation and the same check of what it built as an entry point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module, metadata
from typing import Any

from arcloop.errors import ArcloopError
from arcloop.params import describe_params, summary_line, validate_params

BUILTIN_SOURCE = "builtin"


def _has_methods(*names: str) -> Callable[[Any], bool]:
    def check(obj: Any) -> bool:
        return any(callable(getattr(obj, name, None)) for name in names)

    return check


def _is_surrogate(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("fit", "predict", "get_params"))


def _is_regressor(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("fit", "predict", "sample_y", "get_params"))


def _is_oracle(obj: Any) -> bool:
    # What the loop calls (arcloop.oracles.base.Oracle), checked as the other kinds are: by behaviour.
    return callable(getattr(obj, "label", None)) and hasattr(obj, "requires_latent")


@dataclass(frozen=True)
class Kind:
    """One pluggable kind: its built-ins, entry-point group and what a built object must offer."""

    name: str  # plural, as in the entry-point group and the command line: "policies"
    noun: str  # "policy"
    builtins: dict[str, str]  # name -> "module:attribute", in listing order
    provides: str  # what ``accepts`` checks, for the error message
    accepts: Callable[[Any], bool]
    # A kind whose names are given in the same config place (a policy name must not be a builder's,
    # an oracle's not a wrapper's): a plugin may not take one of its built-in names either.
    shares_names_with: str | None = None

    @property
    def group(self) -> str:
        return f"arcloop.{self.name}"


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "policies",
            "policy",
            {
                "greedy": "arcloop.policies.greedy:GreedyAcquisition",
                "uncertainty": "arcloop.policies.uncertainty:UncertaintyAcquisition",
                "entropy": "arcloop.policies.entropy:EntropyAcquisition",
                "random": "arcloop.policies.baselines:RandomAcquisition",
                "thompson": "arcloop.policies.baselines:ThompsonAcquisition",
                "novelty": "arcloop.policies.baselines:NoveltyAcquisition",
            },
            "start() (an acquisition) or select() (a whole policy)",
            _has_methods("start", "select"),
            shares_names_with="builders",
        ),
        Kind(
            "builders",
            "builder",
            {
                "top_k": "arcloop.policies.builders:TopK",
                "exclusion": "arcloop.policies.builders:Exclusion",
                "local_penalization": "arcloop.policies.builders:LocalPenalization",
            },
            "build()",
            _has_methods("build"),
        ),
        Kind(
            "surrogates",
            "surrogate",
            {
                "forest": "arcloop.surrogates.forest:ForestSurrogate",
                "gp": "arcloop.surrogates.gp:GPSurrogate",
                "ssvae": "arcloop.surrogates.ssvae:SSVAESurrogate",
            },
            "fit(), predict() and get_params()",
            _is_surrogate,
        ),
        Kind(
            "regressors",
            "regressor",
            {
                "forest": "arcloop.surrogates.regression:ForestRegressor",
                "gp": "arcloop.surrogates.regression:GPRegressor",
            },
            "fit(), predict(), sample_y() and get_params()",
            _is_regressor,
        ),
        Kind(
            "acquisitions",
            "acquisition",
            {
                "ei": "arcloop.screening.acquisitions:ExpectedImprovement",
                "pi": "arcloop.screening.acquisitions:ProbabilityOfImprovement",
                "ucb": "arcloop.screening.acquisitions:ConfidenceBound",
                "lcb": "arcloop.screening.acquisitions:ConfidenceBound",
                "mean": "arcloop.screening.acquisitions:PosteriorMean",
                "thompson": "arcloop.screening.acquisitions:ThompsonSampling",
                "p_target": "arcloop.screening.acquisitions:ProbabilityOfTarget",
                "random": "arcloop.screening.acquisitions:RandomChoice",
            },
            "select(belief, k, rng)",
            _has_methods("select"),
        ),
        Kind(
            "oracles",
            "oracle",
            {
                "rules": "arcloop.oracles.rules:RulesOracle",
                "emulator": "arcloop.oracles.emulator:EmulatorOracle",
                "lookup": "arcloop.oracles.lookup:LookupOracle",
                "synthetic": "arcloop.oracles.synthetic:SyntheticOracle",
                "lab": "arcloop.oracles.lab:LabOracle",
            },
            "label() and requires_latent",
            _is_oracle,
            shares_names_with="wrappers",
        ),
        Kind(
            "wrappers",
            "wrapper",
            {
                "noisy": "arcloop.oracles.wrappers:Noisy",
                "flaky": "arcloop.oracles.wrappers:Flaky",
                "slow": "arcloop.oracles.wrappers:Slow",
                "costly": "arcloop.oracles.wrappers:Costly",
                "selection_biased": "arcloop.oracles.wrappers:SelectionBiased",
            },
            "label() and requires_latent",
            _is_oracle,
        ),
    )
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ArcloopError(f"unknown plugin kind {kind!r}; kinds: {', '.join(KINDS)}")
    return KINDS[kind]


def _entry_points(spec: Kind) -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    reserved = set(spec.builtins)
    if spec.shares_names_with is not None:
        reserved |= set(KINDS[spec.shares_names_with].builtins)
    for entry in sorted(metadata.entry_points(group=spec.group), key=lambda e: e.name):
        if entry.name in reserved:
            warnings.warn(
                f"{spec.noun} plugin {entry.name!r} ({entry.value}) is ignored: the name is a built-in",
                stacklevel=3,
            )
            continue
        found.setdefault(entry.name, entry)
    return found


def _source(entry: metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return dist.name if dist is not None else "plugin"


def available(kind: str) -> tuple[str, ...]:
    """Names of every ``kind`` (e.g. "policies"): built-ins first, then plugins in alphabetical order."""
    spec = _kind(kind)
    return (*spec.builtins, *_entry_points(spec))


def factory(kind: str, name: str) -> Callable[..., Any]:
    """The class or factory registered as ``name``; a one-line ArcloopError for unknown or broken ones."""
    spec = _kind(kind)
    if not isinstance(name, str):
        raise ArcloopError(f"{spec.noun} name: expected a string, got {type(name).__name__}")
    if name in spec.builtins:
        module, attribute = spec.builtins[name].split(":")
        return getattr(import_module(module), attribute)
    entry = _entry_points(spec).get(name)
    if entry is None and ":" in name:
        return _from_module(spec, name)
    if entry is None:
        raise ArcloopError(
            f"{spec.noun} {name!r} is unknown; available {spec.name}: {', '.join(available(kind))}"
        )
    try:
        loaded = entry.load()
    except Exception as error:  # a broken third-party plugin must not crash with a traceback
        raise ArcloopError(
            f"{spec.noun} {name!r} from {_source(entry)}: its entry point {entry.value!r} failed to load "
            f"({type(error).__name__}: {error})"
        ) from None
    if not callable(loaded):
        raise ArcloopError(
            f"{spec.noun} {name!r} from {_source(entry)}: entry point {entry.value!r} is not callable"
        )
    return loaded


def _from_module(spec: Kind, name: str) -> Callable[..., Any]:
    """``"module:Attribute"``: the attribute of a module on the import path (see the module docstring)."""
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute.isidentifier():
        raise ArcloopError(
            f"{spec.noun} {name!r}: write a module plugin as 'module:Attribute' (e.g. 'my_lab:MyOracle')"
        )
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            raise ArcloopError(
                f"{spec.noun} {name!r}: no module {module_name!r} on the import path; run from its folder "
                "or add that folder to PYTHONPATH"
            ) from None
        raise ArcloopError(f"{spec.noun} {name!r}: importing {module_name!r} failed ({error})") from None
    except Exception as error:  # the user's module itself is broken: one line, not its traceback
        raise ArcloopError(
            f"{spec.noun} {name!r}: importing {module_name!r} failed ({type(error).__name__}: {error})"
        ) from None
    loaded = getattr(module, attribute, None)
    if loaded is None:
        raise ArcloopError(f"{spec.noun} {name!r}: module {module_name!r} has no {attribute!r}")
    if not callable(loaded):
        raise ArcloopError(f"{spec.noun} {name!r}: {attribute!r} is not a class or a function")
    return loaded


def source(kind: str, name: str) -> str:
    """ "builtin", or the distribution a plugin comes from."""
    spec = _kind(kind)
    if name in spec.builtins:
        return BUILTIN_SOURCE
    entry = _entry_points(spec).get(name)
    if entry is not None:
        return _source(entry)
    return f"module {name.partition(':')[0]}" if ":" in name else "unknown"


def validate(kind: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of ``name`` (defaults filled in), checked without building it."""
    return validate_params(factory(kind, name), params, name)


def get(kind: str, name: str, *wiring: Any, **params: Any) -> Any:
    """Build ``name`` of ``kind`` with checked ``params``. ``wiring`` goes first and unchecked (the
    oracle a wrapper wraps). Unknown names, bad parameters and built objects that lack the kind's
    methods raise a one-line ArcloopError."""
    spec = _kind(kind)
    made = factory(kind, name)
    built = made(*wiring, **validate_params(made, params, name))
    if not spec.accepts(built):
        raise ArcloopError(
            f"{spec.noun} {name!r} from {source(kind, name)}: built a {type(built).__name__}, which lacks "
            f"{spec.provides}"
        )
    return built


def describe(kind: str, name: str) -> dict[str, Any]:
    """``{"name", "kind", "source", "summary", "params"}``; params: type, default, required, bounds, doc."""
    spec = _kind(kind)
    made = factory(kind, name)
    return {
        "name": name,
        "kind": spec.noun,
        "source": source(kind, name),
        "summary": summary_line(made),
        "params": describe_params(made),
    }


def listing(*kinds: str) -> list[dict[str, Any]]:
    """:func:`describe` of every entry of ``kinds``, in order; a plugin that fails to load is listed,
    after the rest of its kind, with empty ``params`` and its ``error``."""
    listed: list[dict[str, Any]] = []
    for kind in kinds:
        spec = _kind(kind)
        broken: list[dict[str, Any]] = []
        for name in available(kind):
            try:
                listed.append(describe(kind, name))
            except ArcloopError as error:
                broken.append(
                    {
                        "name": name,
                        "kind": spec.noun,
                        "source": source(kind, name),
                        "summary": "",
                        "params": {},
                        "error": str(error),
                    }
                )
        listed.extend(broken)
    return listed
