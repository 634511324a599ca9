"""One registry for every pluggable kind: a temporary package adds one plugin of each kind (and broken
ones) through entry points; nothing is installed into the running environment (a bare ``*.dist-info``
on ``sys.path`` is what ``importlib.metadata`` reads, and the monkeypatch takes it away again)."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from arcloop import registry
from arcloop.cli import main
from arcloop.config import validated
from arcloop.errors import ArcloopError
from arcloop.materials import parse_formula
from arcloop.oracles import build_oracle
from arcloop.policies import BatchPolicy, Candidates, Context, PolicyConfig, build_policy
from arcloop.surrogates import SurrogateConfig

DIST = "arcloop-everything-plugin"
MODULE = "arcloop_everything_plugin"
SOURCE = '''
    """A third-party package with one plugin of each kind, as a user would write it."""

    from typing import Annotated

    import numpy as np
    from pydantic import Field

    from arcloop.oracles import BaseOracle, LabelBatch
    from arcloop.policies import StaticScorer


    class LowScore:
        """score 1 - p̄ (an acquisition: the configured builder applies)"""

        def __init__(self, scale: Annotated[float, Field(gt=0, description="multiplies the score")] = 1.0):
            self.scale = scale

        def start(self, candidates, context, k, rng):
            return StaticScorer(self.scale * (1.0 - candidates.p_mean))


    class LastFirst:
        """builder: the k highest indices, whatever the scores"""

        def build(self, scorer, candidates, context, k):
            picks = np.arange(candidates.n)[::-1][:k].astype(np.int64)
            for pick in picks:
                scorer.add(int(pick))
            return picks


    class Constant:
        """surrogate: P(single phase) = p everywhere, S identical draws"""

        name = "constant"

        def __init__(self, p: Annotated[float, Field(ge=0, le=1)] = 0.3, random_state: int = 0):
            self.p, self.random_state = p, random_state

        def get_params(self):
            return {"p": self.p, "random_state": self.random_state}

        def fit(self, X, y, z=None, model=None):
            return self

        def predict(self, X, z=None):
            n = len(X)
            return np.full(n, self.p), np.full((4, n), self.p, dtype=np.float32)

        def diagnostics(self):
            return {}


    class IronRich(BaseOracle):
        """Single phase iff the iron fraction is at least min_fe."""

        name = "iron_rich"

        def __init__(self, min_fe: float = 0.2, seed: int = 0, cost_per_label: float = 1.0) -> None:
            super().__init__(seed=seed, cost_per_label=cost_per_label)
            self.min_fe = min_fe

        def _label(self, X, rng, latent):
            return (X[:, 0] >= self.min_fe).astype(np.int64), np.full(X.shape[0], "ok")


    class Inverted:
        """wrapper: flips every label of the oracle inside"""

        def __init__(self, inner, keep: int = 0):
            self.inner, self.keep = inner, keep
            self.requires_latent = inner.requires_latent

        def label(self, compositions, rng=None, latent=None):
            batch = self.inner.label(compositions, rng=rng, latent=latent)
            return LabelBatch(1 - batch.labels, batch.status, batch.cost, batch.seconds)


    class NotAPolicy:
        """builds, but has neither start() nor select()"""
'''
ENTRY_POINTS = """
[arcloop.policies]
lowscore = arcloop_everything_plugin:LowScore
broken = arcloop_no_such_module:Broken
hollow = arcloop_everything_plugin:NotAPolicy
greedy = arcloop_everything_plugin:LowScore

[arcloop.builders]
last_first = arcloop_everything_plugin:LastFirst

[arcloop.surrogates]
constant = arcloop_everything_plugin:Constant

[arcloop.oracles]
iron_rich = arcloop_everything_plugin:IronRich
noisy = arcloop_everything_plugin:IronRich

[arcloop.wrappers]
inverted = arcloop_everything_plugin:Inverted
"""


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(SOURCE))
    info = tmp_path / f"{MODULE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    monkeypatch.undo()
    sys.modules.pop(MODULE, None)


@pytest.mark.filterwarnings("ignore:.*is ignored. the name is a built-in")
def test_policies_list_json_shows_a_broken_plugin_with_its_error_and_all_the_others(
    plugin_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policies", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    by_name = {entry["name"]: entry for entry in listed}
    builtins = ["greedy", "uncertainty", "entropy", "random", "thompson", "novelty"]
    assert [entry["name"] for entry in listed if entry["source"] == "builtin"][:6] == builtins
    assert by_name["lowscore"]["source"] == DIST and "error" not in by_name["lowscore"]
    assert by_name["lowscore"]["params"]["scale"]["doc"] == "multiplies the score"
    assert by_name["lowscore"]["params"]["scale"]["bounds"] == "> 0"
    broken = by_name["broken"]
    assert broken["params"] == {} and broken["source"] == DIST
    assert "failed to load (ModuleNotFoundError: No module named 'arcloop_no_such_module')" in broken["error"]
    # broken plugins come after every working entry of their kind, and the builders follow
    policies = [entry["name"] for entry in listed if entry["kind"] == "policy"]
    assert policies[-1] == "broken" and [e["kind"] for e in listed][-4:] == ["builder"] * 4
    assert by_name["last_first"]["source"] == DIST
    # the plain text listing shows the same error on its own line
    assert main(["policies", "list"]) == 0
    text = capsys.readouterr().out
    assert "  broken  [arcloop-everything-plugin]" in text and "      error: policy 'broken'" in text
    # using it is a one-line error, not a traceback
    with pytest.raises(ArcloopError, match=r"^policy 'broken' from arcloop-everything-plugin: its entry"):
        build_policy("broken")
    with pytest.raises(ArcloopError, match=r"built a NotAPolicy, which lacks start\(\) \(an acquisition\)"):
        build_policy("hollow")


def test_one_plugin_of_each_kind_is_listed_built_and_used_from_config(
    plugin_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(UserWarning, match=r"policy plugin 'greedy' .* is ignored: the name is a built-in"):
        assert registry.available("policies").count("greedy") == 1
    with pytest.warns(UserWarning, match=r"oracle plugin 'noisy' .* is ignored"):
        assert "noisy" not in registry.available("oracles")  # a built-in wrapper's name
    # policy + builder plugins, through PolicyConfig as a campaign config would give them
    config = PolicyConfig.model_validate(
        {"name": "lowscore", "params": {"scale": 2.0}, "builder": {"name": "last_first"}}
    )
    policy = build_policy(config)
    assert isinstance(policy, BatchPolicy) and policy.acquisition.scale == 2.0
    candidates = Candidates(
        z=np.zeros((5, 2)),
        compositions=np.eye(30)[:5],
        p_samples=np.full((2, 5), 0.5),
        pool_index=np.full(5, -1),
    )
    picks = policy.select(candidates, Context.empty(2), 2, np.random.default_rng(0))
    assert picks.tolist() == [4, 3]
    with pytest.raises(
        ArcloopError, match=r"^policy: lowscore.scale: Input should be greater than 0 \(got -1\)$"
    ):
        validated(PolicyConfig, {"name": "lowscore", "params": {"scale": -1}}, "policy")
    # surrogate plugin
    surrogate = SurrogateConfig(name="constant", params={"p": 0.7}).build(random_state=3)
    assert surrogate.get_params() == {"p": 0.7, "random_state": 3}
    assert surrogate.predict(np.eye(30)[:3])[0].tolist() == [0.7] * 3
    with pytest.raises(ArcloopError, match=r"constant.p: Input should be less than or equal to 1"):
        registry.get("surrogates", "constant", p=2)
    # oracle plugin inside a plugin wrapper inside a built-in wrapper
    X = np.vstack([parse_formula("Fe50Ni50"), parse_formula("Fe10Ni90"), parse_formula("CoCrFeMnNi")])
    assert registry.get("oracles", "iron_rich").label(X).labels.tolist() == [1, 0, 1]
    oracle = build_oracle(
        {
            "name": "iron_rich",
            "params": {"min_fe": 0.25},
            "wrappers": [{"name": "inverted"}, {"name": "costly", "cost_per_label": 2.0}],
        }
    )
    batch = oracle.label(X)
    assert batch.labels.tolist() == [0, 1, 1] and batch.cost.tolist() == [3.0, 3.0, 3.0]
    # every kind's listing names its plugin and where it came from
    for command, name in (("surrogates", "constant"), ("oracles", "iron_rich"), ("oracles", "inverted")):
        assert main([command, "list", "--json"]) == 0
        listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
        assert listed[name]["source"] == DIST, (command, name)


def test_plugins_are_gone_when_the_package_is_removed(plugin_package: Path) -> None:
    assert "lowscore" in registry.available("policies")
    sys.path.remove(str(plugin_package))
    for kind, name in (
        ("policies", "lowscore"),
        ("builders", "last_first"),
        ("surrogates", "constant"),
        ("oracles", "iron_rich"),
        ("wrappers", "inverted"),
    ):
        assert name not in registry.available(kind)
        with pytest.raises(ArcloopError, match=rf"'{name}' is unknown; available {kind}: "):
            registry.get(kind, name)
