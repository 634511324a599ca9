"""One progress registry: the campaign flow's iterations and the benchmark's campaigns reach the
listeners the CLI registers (its progress bars)."""

from __future__ import annotations

from campaign_support import fast_config

from arcloop.flows.campaign import add_progress_listener, run_campaign


def test_a_campaign_flow_tells_its_listeners_each_iteration(prefect_harness, workdir, tracking_uri) -> None:
    events: list[dict] = []
    remove = add_progress_listener(events.append)
    try:
        result = run_campaign(fast_config(workdir, tracking_uri, iterations=2))
    finally:
        remove()
    assert [(event["iteration"], event["iterations"]) for event in events] == [(0, 2), (1, 2)]
    assert events[-1]["metrics"]["discovery/hits"] == result["discovery/hits"]
    run_campaign(fast_config(workdir, tracking_uri, iterations=1, state_dir=str(workdir / "after")))
    assert len(events) == 2  # removed: it hears nothing more
