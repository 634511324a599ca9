"""Deployments against a real Prefect server: `arcloop serve`, a run triggered through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from campaign_support import fast_config
from served_prefect import served, trigger


@pytest.mark.slow
def test_served_campaign_deployment_runs_to_completion(workdir, tracking_uri):
    config_file = workdir / "campaign.yaml"
    config = fast_config(workdir, tracking_uri, iterations=2)
    config_file.write_text(yaml.safe_dump(config))
    deployments = [
        {
            "name": "demo-campaign",
            "entrypoint": "arcloop/flows/campaign.py:campaign_flow",
            "parameters": {"config": config_file.name},
            "schedules": [{"cron": "0 2 * * *", "timezone": "UTC"}],
        }
    ]
    with served(workdir, deployments) as env:
        output = trigger(env, workdir, "arcloop-campaign/demo-campaign", timeout=420)
        assert "STATE COMPLETED" in output, output
        states = list(Path(workdir / "state").iterdir())
        assert len(states) == 1 and (states[0] / "LATEST").is_file()  # one state folder per flow run
