"""A reading declared once in the metric registry appears in MLflow, the campaign history, the benchmark
report and the progress bar, with no other edit (real flows, a real MLflow store)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from campaign_support import tiny_benchmark
from mlflow.tracking import MlflowClient

from arcloop.cli.campaign import _figures
from arcloop.flows.benchmark import run_benchmark
from arcloop.metrics import registry
from arcloop.metrics.registry import MetricInputs, MetricSpec

NAME = "discovery/hit_share"
BATCH = 8


def hit_share(inputs: MetricInputs) -> float:
    """Share of the campaign's proposals so far that truth says are targets."""
    return float(inputs.hits.mean()) if inputs.hits.size else math.nan


@pytest.fixture
def added_metric() -> Iterator[MetricSpec]:
    spec = MetricSpec(
        NAME,
        "share of the campaign's proposals so far that truth says are targets",
        True,
        "share",
        "{:.2f}",
        progress=True,
        report=True,
        trajectory=True,
        markdown=True,
        compute=hit_share,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "_registered", {})
        registry.register(spec)
        yield spec


def test_a_registered_metric_reaches_mlflow_history_report_and_progress_bar(
    prefect_harness, workdir: Path, tracking_uri: str, added_metric: MetricSpec
) -> None:
    # The rules oracle is generous on the latent source: nonzero shares, so a wrong value shows.
    config = tiny_benchmark(workdir, tracking_uri, policies=[{"name": "greedy"}], seeds=[0])
    result = run_benchmark(config)
    assert result["n_campaigns"] == 2 and result["n_failed"] == 0

    # history: the per-iteration readings of each campaign (the report's long table is built from them)
    long = pd.read_csv(Path(result["output_dir"]) / "report" / "trajectories.csv")
    ours = long[long["metric"] == NAME].sort_values(["policy", "iteration"])
    hits = long[long["metric"] == "discovery/hits"].sort_values(["policy", "iteration"])
    assert len(ours) == 2 * 2
    # independent count: cumulative hits / proposals so far (full batches of 8 on the latent source)
    expected = hits["value"].to_numpy() / ((hits["iteration"].to_numpy() + 1) * BATCH)
    assert ours["value"].tolist() == pytest.approx(expected.tolist(), abs=1e-12)
    assert (ours["value"] > 0).any()

    # MLflow: every child run logged it at every step, with the same values
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("bench").experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
    assert len(children) == 2
    for child in children:
        logged = sorted(client.get_metric_history(child.info.run_id, NAME), key=lambda m: m.step)
        policy = child.data.tags["policy"]
        mine = ours[ours["policy"] == policy]["value"].tolist()
        assert [m.step for m in logged] == [0, 1] and [m.value for m in logged] == pytest.approx(mine)

    # report: summary records, CSV and the Markdown table's header
    for record in result["summary"]:
        final = ours[ours["policy"] == record["policy"]]["value"].iloc[-1]
        assert record[f"{NAME}.final_mean"] == pytest.approx(final)
    assert f"{NAME}.final_mean" in pd.read_csv(Path(result["output_dir"]) / "report" / "summary.csv")
    header = (Path(result["output_dir"]) / "report" / "summary.md").read_text().split("\n")
    assert any(line.startswith("| policy") and f"`{NAME}.final` ↑" in line for line in header)

    # progress bar: its line for the last iteration shows the reading, formatted as declared
    last = {"discovery/hits": 3.0, NAME: 0.1875}
    assert "hit_share 0.19" in _figures(last)


def test_an_unregistered_metric_is_nowhere(added_metric: MetricSpec) -> None:
    from arcloop.report import markdown_columns

    assert NAME in registry.report_metrics() and f"{NAME}.final" in markdown_columns()
    registry._registered.clear()
    assert NAME not in registry.report_metrics() and NAME not in registry.trajectory_metrics()
    assert f"{NAME}.final" not in markdown_columns()
    assert "hit_share" not in _figures({NAME: 0.5})
    with pytest.raises(ValueError, match="already declared"):
        registry.register(MetricSpec("discovery/hits", "again", compute=hit_share))
