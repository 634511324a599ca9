"""Campaign identity and labels of a benchmark grid (pure config, no flow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from arcloop.config import BenchmarkConfig, campaign_identity, validated
from arcloop.errors import ArcloopError


def grid(**overrides) -> BenchmarkConfig:
    data = {"policies": [{"name": "greedy"}], "seeds": [0], **overrides}
    return validated(BenchmarkConfig, data)


def labels(bench: BenchmarkConfig) -> list[str]:
    return [label["policy"] for label, _ in bench.campaigns(Path("/tmp/x"))]


def test_two_configurations_of_one_policy_get_two_readable_labels_and_folders():
    bench = grid(
        policies=[
            {"name": "uncertainty", "params": {"alpha": 1.0, "lam": 0.5}},
            {"name": "uncertainty", "params": {"alpha": 2.0}},
            {"name": "greedy", "label": "plain"},
        ]
    )
    campaigns = bench.campaigns(Path("/tmp/x"))
    assert [label["policy"] for label, _ in campaigns] == [
        "uncertainty[alpha=1,lam=0.5]",
        "uncertainty[alpha=2]",
        "plain",
        "random",
    ]
    folders = {campaign.state_dir for _, campaign in campaigns}
    assert len(folders) == 4
    # The label is the report's; the campaign gets the plain PolicyConfig.
    assert campaigns[2][1].policy.model_dump() == {"name": "greedy", "params": {}, "builder": None}
    assert len({campaign_identity(campaign) for _, campaign in campaigns}) == 4


def test_oracle_labels_name_parameters_and_wrappers():
    bench = grid(
        oracles=[
            {"name": "rules"},
            {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 0.2}]},
            {"name": "synthetic", "params": {"anisotropy": 8.0}},
        ]
    )
    oracles = [label["oracle"] for label, _ in bench.campaigns(Path("/tmp/x"))]
    expected = ["rules", "rules+flaky", "synthetic[anisotropy=8]"]
    assert oracles == [name for name in expected for _ in range(2)]  # greedy and random


def test_the_baseline_label_stays_random_and_is_not_added_twice():
    assert labels(grid(policies=[{"name": "random"}, {"name": "greedy"}])) == ["random", "greedy"]
    with pytest.raises(ArcloopError, match="baseline"):
        grid(policies=[{"name": "greedy", "label": "random"}])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"policies": [{"name": "greedy"}, {"name": "greedy"}]}, "same campaign"),
        ({"policies": [{"name": "greedy", "label": "a"}, {"name": "greedy", "label": "b"}]}, "same campaign"),
        ({"policies": [{"name": "greedy", "label": "a"}, {"name": "uncertainty", "label": "a"}]}, "labelled"),
        ({"oracles": [{"name": "rules"}, {"name": "rules"}]}, "same campaign"),
        (
            {"scenarios": [{"name": "a"}, {"name": "b"}]},  # same content under two names
            "same campaign",
        ),
    ],
)
def test_a_grid_that_repeats_a_campaign_is_refused_in_one_line(overrides, message):
    with pytest.raises(ArcloopError, match=message) as raised:
        grid(**overrides).campaigns(Path("/tmp/x"))
    assert "\n" not in str(raised.value)


def test_repeated_scenario_names_are_refused():
    with pytest.raises(ArcloopError, match="scenario name 'a'"):
        grid(scenarios=[{"name": "a"}, {"name": "a", "scenario": {"kind": "family"}}])
