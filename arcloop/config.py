"""Pydantic models for every configuration, loadable from YAML, with one-line errors."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arcloop import DEFAULT_TRACKING_URI, resolve_uri
from arcloop.candidates import CandidateConfig
from arcloop.errors import ArcloopError, format_validation_error, shortened
from arcloop.materials import FAMILY_NAMES
from arcloop.oracles import OracleConfig
from arcloop.policies import (
    PolicyConfig,
)
from arcloop.surrogates.config import SurrogateConfig
from arcloop.targets import TargetConfig, source_defaults

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """``model.model_validate(data)`` with a one-line :class:`ArcloopError` instead of a traceback."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ArcloopError(format_validation_error(error, prefix)) from None


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ScenarioConfig(StrictModel):
    """Where the bias enters: the initial labelled set and the unlabelled pool (the oracle's selection
    bias is a wrapper).

    - ``random``: ``n_initial`` alloys drawn uniformly from the loop's rows;
    - ``family``: the initial set from one element family only (seed bias);
    - ``imbalance``: the loop's rows (the unlabelled pool the model sees and, with the pool source,
      the candidates) over-represent one group: every row of the group is kept and each other row is
      kept with probability 1 / ``imbalance_ratio`` (seeded), so the group's odds against the rest
      grow by that ratio. The group is the element family ``family`` (``imbalance_by: family``) or the
      true class ``imbalance_class`` (``imbalance_by: class``). The initial set is drawn uniformly
      from the imbalanced rows.
    """

    kind: Literal["random", "family", "imbalance"] = Field(
        "random",
        description="random: n_initial alloys drawn uniformly; family: only from `family`; "
        "imbalance: the pool over-represents one family or class",
    )
    n_initial: int = Field(64, ge=2, description="size of the initial labelled set (labelled by truth)")
    family: str = Field(
        "3d", description=f"element family of a `family` or `imbalance` scenario: {', '.join(FAMILY_NAMES)}"
    )
    imbalance_by: Literal["family", "class"] = Field(
        "family", description="imbalance: over-represent the element family `family` or the class"
    )
    imbalance_class: Literal[0, 1] = Field(0, description="imbalance by class: the true class kept whole")
    imbalance_ratio: float = Field(
        4.0, ge=1.0, le=1000.0, description="imbalance: odds of the group against the rest grow by this"
    )
    holdout_fraction: float = Field(
        0.1, ge=0.0, lt=0.5, description="dataset share kept out of the loop for model metrics"
    )

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        if value not in FAMILY_NAMES:
            raise ValueError(f"unknown family {value!r}; choose one of {', '.join(FAMILY_NAMES)}")
        return value


class TrackingConfig(StrictModel):
    uri: str = Field(DEFAULT_TRACKING_URI, description="MLflow tracking URI")
    experiment: str = Field("arcloop", min_length=1)


class OracleRetryConfig(StrictModel):
    retries: int = Field(
        3, ge=0, le=100, description="retries of a failed or timed-out oracle call, each with a fresh draw"
    )
    timeout_seconds: float = Field(
        120.0, gt=0, le=7 * 24 * 3600, description="an oracle call longer than this fails (at most a week)"
    )


class ModelConfig(BaseModel):
    """Keyword arguments of :class:`arcloop.models.SSVAE` (checked against its signature at set-up),
    and when the campaign refits it.

    ``refit``: ``every_iteration`` refits the SSVAE on each new batch (warm-started); ``never`` keeps
    the first fit, so the latent frame every bias and diversity reading is taken in stays the same
    for the whole campaign; ``auto`` (the default) refits only when something the loop reads learns
    through the SSVAE: the latent source (its decoder makes the candidates) or a surrogate that reads
    the SSVAE (``ssvae``, or ``gp`` on the latent space). A pool campaign whose surrogate reads the
    compositions (``forest``, ``gp`` on descriptors) does not need it.
    """

    model_config = ConfigDict(extra="allow")

    refit: Literal["auto", "every_iteration", "never"] = "auto"

    @model_validator(mode="after")
    def _valid_for_the_ssvae(self) -> ModelConfig:
        # Checked here, not at the first fit: a bad setting must fail before a run or folder exists.
        if not self.model_extra:
            return self  # nothing to check: no torch import for the defaults
        from arcloop.models.ssvae import SSVAE

        try:
            model = SSVAE(**self.kwargs())
        except TypeError as error:
            valid = ", ".join(sorted(SSVAE().get_params()))
            raise ValueError(f"{str(error).split('() ')[-1]}; valid settings: {valid}") from None
        model.check_params()
        return self

    def kwargs(self) -> dict[str, Any]:
        """The SSVAE's keyword arguments (everything but ``refit``)."""
        return dict(self.model_extra or {})


class CampaignConfig(StrictModel):
    """One active-learning campaign. Everything a run needs; the seed makes it reproducible."""

    name: str | None = Field(None, description="run name; default policy-oracle-seed")
    seed: int = Field(0, ge=0)
    iterations: int = Field(10, ge=1, le=10_000)
    batch_size: int = Field(16, ge=1, le=10_000)
    model: ModelConfig = Field(default_factory=ModelConfig)
    candidates: CandidateConfig = Field(default_factory=CandidateConfig)
    policy: PolicyConfig = Field(default_factory=lambda: PolicyConfig(name="uncertainty"))
    surrogate: SurrogateConfig = Field(
        default_factory=SurrogateConfig, description="what the policy reads: forest (default), gp, ssvae"
    )
    oracle: OracleConfig = Field(default_factory=lambda: OracleConfig(name="rules"))
    scenario: ScenarioConfig = Field(default_factory=ScenarioConfig)
    target: TargetConfig = Field(default_factory=TargetConfig)
    oracle_calls: OracleRetryConfig = Field(default_factory=OracleRetryConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    state_dir: Path = Field(Path("arcloop-state"), description="checkpoints for --resume")

    @model_validator(mode="before")
    @classmethod
    def _target_defaults(cls, data: Any) -> Any:
        # Filled in before validation, so the dumped config (config.yaml, MLflow params) says what
        # the campaign used.
        if not isinstance(data, Mapping):
            return data
        candidates = data.get("candidates") or {}
        if isinstance(candidates, Mapping):
            source = candidates.get("source", "latent")
        else:  # a CandidateConfig, or a wrong value that validation will name
            source = getattr(candidates, "source", "latent")
        target = data.get("target") or {}
        if isinstance(target, BaseModel):
            target = target.model_dump()
        if not isinstance(target, Mapping):
            return data
        return {**data, "target": source_defaults(dict(target), str(source))}

    @property
    def run_name(self) -> str:
        return self.name or f"{self.policy.name}-{self.oracle.name}-seed{self.seed}"

    def fingerprint(self) -> str:
        """Hash of what determines the campaign's history (not iterations, tracking, or paths)."""
        data = self.model_dump(mode="json", exclude={"iterations", "tracking", "state_dir", "name"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def flat(self) -> dict[str, Any]:
        """The config as flat ``a.b.c -> value`` pairs (MLflow params)."""
        return flatten(self.model_dump(mode="json"))

    def resolved(self) -> CampaignConfig:
        """Absolute store and state paths, so that threads, processes and workers agree on them."""
        return self.model_copy(
            update={
                "tracking": self.tracking.model_copy(update={"uri": resolve_uri(self.tracking.uri)}),
                "state_dir": Path(self.state_dir).resolve(),
            }
        )

    def differences_from(self, saved: Mapping[str, Any]) -> str:
        """What separates this config from ``saved`` (a state folder's config.yaml, as read), in
        the settings that enter :meth:`fingerprint`; "" when they agree on every one of them.

        A declared setting (one every config has) that ``saved`` lacks was added to arcloop after
        the folder was written: such a folder is named as written by an earlier version. Settings
        of open sections (``model:``, plugin params) given on one side only are differences.
        """
        ignored = ("iterations", "tracking", "state_dir", "name")
        mine = {k: v for k, v in self.flat().items() if not k.startswith(ignored)}
        theirs = {k: v for k, v in flatten(saved).items() if not k.startswith(ignored)}
        declared = set(type(self)().flat())
        added = sorted(k for k in set(mine) - set(theirs) if k in declared)
        missing = object()  # a setting given on one side only
        changed = sorted(
            k
            for k in set(mine) | set(theirs)
            if k not in added and mine.get(k, missing) != theirs.get(k, missing)
        )
        parts = []
        if added:
            parts.append(
                f"the folder was written by an earlier arcloop, without the setting(s) {', '.join(added[:5])}"
            )
        if changed:
            shown = [f"{k} was {theirs[k]!r}" if k in theirs else f"{k} was unset" for k in changed[:5]]
            now = [f"now {mine[k]!r}" if k in mine else "now unset" for k in changed[:5]]
            parts.append(
                "settings differ: " + "; ".join(f"{a}, {b}" for a, b in zip(shown, now, strict=True))
            )
        return "; ".join(parts)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, prefix=f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


MAX_DEPTH = 32  # a config nests a few levels; deeper is a mistake or an attack
MAX_ITEMS = 100_000  # scalars and containers after aliases are expanded (an alias bomb grows without end)
MAX_STRING = 10_000  # characters of one value


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no tags that build Python objects) that refuses a key given twice in one
    mapping, which plain YAML resolves silently in favour of the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[type, Any]] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` merges, it is not a key
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool):
                continue
            if (type(key), key) in seen:  # typed: `1:` and `true:` are two keys
                raise ArcloopError(
                    f"line {key_node.start_mark.line + 1}: key {str(key)[:80]!r} is given twice "
                    "in one section; keep one"
                )
            seen.add((type(key), key))
        return super().construct_mapping(node, deep=deep)


def _check_size(data: Any, where: str) -> None:
    """Refuse configs nested deeper than MAX_DEPTH, longer than MAX_ITEMS once aliases are expanded,
    or holding a string longer than MAX_STRING (walked with a budget: never expanded in full)."""
    budget = MAX_ITEMS
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise ArcloopError(f"{where}: more than {MAX_ITEMS:,} values (aliases expanded); write it out")
        if depth > MAX_DEPTH:
            raise ArcloopError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for pair in item.items() for value in pair)
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
        elif isinstance(item, str) and len(item) > MAX_STRING:
            raise ArcloopError(f"{where}: a value of {len(item):,} characters (at most {MAX_STRING:,})")


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as plain data, safely: no Python objects, no duplicate keys, bounded in depth and
    size. Any problem is one :class:`ArcloopError` line starting with ``where``."""
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader: builds no Python objects
    except ArcloopError as error:
        raise ArcloopError(f"{where}: {error}") from None
    except yaml.constructor.ConstructorError as error:
        mark = error.problem_mark
        line = f" line {mark.line + 1}:" if mark else ""
        raise ArcloopError(
            f"{where}:{line} a YAML tag arcloop does not read; use plain values, lists and mappings"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ArcloopError(f"{where}:{line} is not valid YAML") from None
    except RecursionError:
        raise ArcloopError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    _check_size(data, where)
    return data


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML config file as a mapping (see :func:`parse_yaml`); one-line errors naming the file."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise ArcloopError(f"config file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ArcloopError(
            f"config file {path}: not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None
    data = parse_yaml(text, f"config file {path}") or {}
    if not isinstance(data, dict):
        raise ArcloopError(f"config file {path}: expected a mapping of settings at the top level")
    return data


def first_repeated(labels: Iterable[str]) -> str | None:
    """The alphabetically first label that occurs more than once; None when all are distinct."""
    listed = list(labels)
    repeated = sorted({label for label in listed if listed.count(label) > 1})
    return repeated[0] if repeated else None


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data['a']['b'] = value`` for ``dotted='a.b'`` (CLI overrides of YAML values)."""
    *parents, leaf = dotted.split(".")
    node = data
    for depth, key in enumerate(parents, start=1):
        child = node.get(key)
        if child is None:  # absent, or `key:` with nothing under it
            child = node[key] = {}
        elif not isinstance(child, dict):
            section = ".".join(parents[:depth])
            raise ArcloopError(
                f"{section}: expected a section of settings, got {shortened(repr(child))} "
                f"(a command-line option sets {dotted} in it)"
            )
        node = child
    node[leaf] = value


def load_config(
    model: type[ModelT],
    source: Path | Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ModelT:
    """A YAML file or its already-read mapping (optional) + dotted overrides (``{"policy.name":
    "greedy"}``; None values are left out) → a validated ``model``."""
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
    elif source:
        data = read_yaml(source)
    else:
        data = {}
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_path(data, dotted, value)
    return validated(model, data)


def load_campaign_config(
    source: Path | Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
) -> CampaignConfig:
    """:func:`load_config` of a :class:`CampaignConfig`."""
    return load_config(CampaignConfig, source, overrides)


def dump_yaml(config: BaseModel) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


class ScenarioSpec(StrictModel):
    """A named scenario of a benchmark: the initial set, and wrappers added to every oracle."""

    name: str = Field(min_length=1)
    scenario: ScenarioConfig = Field(default_factory=ScenarioConfig)
    oracle_wrappers: list[dict[str, Any]] = Field(
        default_factory=list, description="e.g. [{name: selection_biased, drop_negative_prob: 0.5}]"
    )


BASELINE_LABEL = "random"  # the report pairs every campaign with the campaign of this label


class BenchmarkPolicy(PolicyConfig):
    """A policy entry of a benchmark: a PolicyConfig, and an optional label for tables and folders."""

    label: str | None = Field(
        None, min_length=1, description="name in the report; default name[param=value,...]"
    )

    def config(self) -> PolicyConfig:
        """The campaign's PolicyConfig (everything but the label)."""
        return PolicyConfig.model_validate(self.model_dump(mode="json", exclude={"label"}))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def readable_label(name: str, settings: Mapping[str, Any]) -> str:
    """``name[k=v,...]`` over the flattened non-default settings (``params.`` dropped): e.g.
    ``uncertainty[alpha=1,lam=0.5]``; just ``name`` when everything is at its default."""
    flat = flatten(settings)
    parts = [f"{key.removeprefix('params.')}={_short(value)}" for key, value in sorted(flat.items())]
    return f"{name}[{','.join(parts)}]" if parts else name


def policy_label(policy: PolicyConfig) -> str:
    """The policy's label: the user's ``label``, else name + non-default settings (params, builder)."""
    user = getattr(policy, "label", None)
    if user:
        return user
    settings = policy.model_dump(mode="json", exclude={"name", "label"}, exclude_defaults=True)
    return readable_label(policy.name, settings)


def oracle_label(oracle: OracleConfig) -> str:
    """``name[params]`` and its wrappers' names: ``rules``, ``rules+flaky``, ``synthetic[anisotropy=8]``."""
    settings = {"params": oracle.params} if oracle.params else {}
    return "+".join([readable_label(oracle.name, settings), *(w.name for w in oracle.wrappers)])


def surrogate_label(surrogate: SurrogateConfig) -> str:
    """``name[params]``: ``forest``, ``gp[space=descriptors]``."""
    return readable_label(surrogate.name, {"params": surrogate.params} if surrogate.params else {})


def campaign_identity(campaign: CampaignConfig) -> str:
    """What makes a campaign of a grid a different experiment: policy (whole PolicyConfig), surrogate,
    oracle with every wrapper, scenario, seed. Two grid entries with one identity are one campaign."""
    data = campaign.model_dump(mode="json", include={"policy", "surrogate", "oracle", "scenario", "seed"})
    return json.dumps(data, sort_keys=True)


def first_fit_identity(campaign: CampaignConfig) -> str:
    """What the campaign's iteration-0 SSVAE fit can depend on: everything but the policy, the
    surrogate, the budget, the retries and where it is recorded. Campaigns of a grid with one
    identity share that fit; the model cache's own key (:func:`arcloop.models.cache.cache_key`) is
    exact, so a coarser or finer identity costs time, never correctness."""
    data = campaign.model_dump(
        mode="json", include={"seed", "model", "candidates", "oracle", "scenario", "target"}
    )
    return json.dumps(data, sort_keys=True)


class BenchmarkConfig(StrictModel):
    """A grid of campaigns: policies × oracles × scenarios × seeds, run concurrently and compared."""

    name: str = Field("benchmark", min_length=1)
    campaign: dict[str, Any] = Field(
        default_factory=dict, description="settings shared by every campaign (a CampaignConfig's fields)"
    )
    policies: list[BenchmarkPolicy] = Field(min_length=1)
    oracles: list[OracleConfig] = Field(default_factory=lambda: [OracleConfig(name="rules")], min_length=1)
    scenarios: list[ScenarioSpec] = Field(default_factory=lambda: [ScenarioSpec(name="random")], min_length=1)
    surrogates: list[SurrogateConfig] = Field(
        default_factory=lambda: [SurrogateConfig()],
        min_length=1,
        description="surrogates the policies read, an axis of the grid (default: forest)",
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    runner: Literal["threads", "processes", "dask"] = Field(
        "processes",
        description=(
            "processes: campaigns in parallel worker processes (the default); dask: a LocalCluster, "
            "or the cluster at dask_address; threads: one process, no start-up cost, but model fits "
            "take turns (Pyro and torch's RNG are process-wide), so campaigns run nearly serially"
        ),
    )
    max_workers: int = Field(2, ge=1, le=256)
    dask_address: str | None = Field(None, description="scheduler address of an existing Dask cluster")
    output_dir: Path = Field(Path("arcloop-output"), description="report files and campaign states")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError("seeds must be distinct non-negative integers")
        return seeds

    @field_validator("campaign")
    @classmethod
    def _shared_settings(cls, data: dict[str, Any]) -> dict[str, Any]:
        owned = {
            "policy",
            "surrogate",
            "oracle",
            "scenario",
            "seed",
            "name",
            "tracking",
            "state_dir",
        }.intersection(data)
        if owned:
            raise ValueError(
                f"set {', '.join(sorted(owned))} through the benchmark's own fields, not campaign"
            )
        return data

    @field_validator("policies")
    @classmethod
    def _baseline_label(cls, policies: list[BenchmarkPolicy]) -> list[BenchmarkPolicy]:
        for policy in policies:
            if policy_label(policy) == BASELINE_LABEL and policy.config() != PolicyConfig(name="random"):
                raise ValueError(
                    f"label {BASELINE_LABEL!r} is the baseline's (policy random, default settings); "
                    f"give policy {policy.name} another label"
                )
        return policies

    @field_validator("surrogates")
    @classmethod
    def _distinct_surrogates(cls, surrogates: list[SurrogateConfig]) -> list[SurrogateConfig]:
        repeated = first_repeated(surrogate_label(s) for s in surrogates)
        if repeated is not None:
            raise ValueError(f"surrogate {repeated!r} is listed twice; list each surrogate once")
        return surrogates

    @field_validator("scenarios")
    @classmethod
    def _distinct_scenarios(cls, scenarios: list[ScenarioSpec]) -> list[ScenarioSpec]:
        repeated = first_repeated(spec.name for spec in scenarios)
        if repeated is not None:
            raise ValueError(f"scenario name {repeated!r} is used twice; names label the report")
        return scenarios

    def with_random_baseline(self) -> list[BenchmarkPolicy]:
        """The policies, with ``random`` added when missing: every comparison needs the baseline."""
        if any(policy_label(policy) == BASELINE_LABEL for policy in self.policies):
            return list(self.policies)
        return [*self.policies, BenchmarkPolicy(name="random")]

    def campaigns(self, folder: Path) -> list[tuple[dict[str, str], CampaignConfig]]:
        """Expand the grid: (labels, campaign config) for each oracle × scenario × surrogate × policy × seed,
        with campaign states under ``folder/campaigns``. Labels are readable and unique; a grid
        whose entries repeat a campaign, or whose labels collide, raises a one-line ArcloopError."""
        expanded = []
        identities: dict[str, str] = {}
        names: dict[str, str] = {}
        for oracle in self.oracles:
            # Wrapped oracles are different laboratories: "rules" and "rules+flaky" are compared apart.
            oracle_name = oracle_label(oracle)
            for spec in self.scenarios:
                wrapped = {
                    **oracle.model_dump(mode="json"),
                    "wrappers": [*oracle.model_dump(mode="json")["wrappers"], *spec.oracle_wrappers],
                }
                for surrogate, policy in itertools.product(self.surrogates, self.with_random_baseline()):
                    label_of_policy = policy_label(policy)
                    label_of_surrogate = surrogate_label(surrogate)
                    # One surrogate: names stay policy-oracle-scenario-seed; several: the surrogate too.
                    stem = (
                        label_of_policy
                        if len(self.surrogates) == 1
                        else f"{label_of_policy}-{label_of_surrogate}"
                    )
                    for seed in self.seeds:
                        label = {
                            "policy": label_of_policy,
                            "surrogate": label_of_surrogate,
                            "oracle": oracle_name,
                            "scenario": spec.name,
                            "seed": str(seed),
                        }
                        name = f"{stem}-{oracle_name}-{spec.name}-seed{seed}"
                        data = {
                            **self.campaign,
                            "name": name,
                            "seed": seed,
                            "policy": policy.config().model_dump(mode="json"),
                            "surrogate": surrogate.model_dump(mode="json"),
                            "oracle": wrapped,
                            "scenario": spec.scenario.model_dump(mode="json"),
                            "tracking": self.tracking.model_dump(mode="json"),
                            "state_dir": str(folder / "campaigns" / name),
                        }
                        campaign = validated(CampaignConfig, data, prefix=f"campaign {name}")
                        identity = campaign_identity(campaign)
                        if identity in identities:
                            raise ArcloopError(
                                f"benchmark grid: {name} and {identities[identity]} are the same campaign; "
                                "remove the repeated entry from policies / oracles / scenarios"
                            )
                        if name in names:
                            raise ArcloopError(
                                f"benchmark grid: two different campaigns are both labelled {name}; "
                                "give one of the policies a distinct `label`"
                            )
                        identities[identity] = names[name] = name
                        expanded.append((label, campaign))
        return expanded


def load_benchmark_config(path: Path, overrides: Mapping[str, Any] | None = None) -> BenchmarkConfig:
    data = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_path(data, dotted, value)
    return validated(BenchmarkConfig, data)
