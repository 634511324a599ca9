"""The iteration-0 SSVAE fit is shared: a grid fits it once per seed and scenario, not per policy."""

from __future__ import annotations

import threading

from campaign_support import tiny_benchmark

from arcloop.flows.benchmark import run_benchmark
from arcloop.models.ssvae import SSVAE


def test_a_grid_fits_each_first_model_once_whatever_its_policies(
    prefect_harness, workdir, tracking_uri, monkeypatch, tmp_path
):
    monkeypatch.setenv("ARCLOOP_CACHE_DIR", str(tmp_path / "empty-cache"))
    cold_fits: list[int] = []
    lock = threading.Lock()
    fit = SSVAE.fit

    def counting_fit(self, *args, **kwargs):
        if not self.is_fitted:  # a model never trained before: a first fit, not a warm refit
            with lock:
                cold_fits.append(self.random_state)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(SSVAE, "fit", counting_fit)
    config = tiny_benchmark(workdir, tracking_uri, runner="threads", max_workers=2)
    config["campaign"] = {**config["campaign"], "iterations": 1}
    result = run_benchmark(config)

    assert result["n_campaigns"] == 6 and result["n_failed"] == 0  # greedy, uncertainty, random × 2 seeds
    assert len(cold_fits) == 2 and len(set(cold_fits)) == 2, cold_fits  # one per seed, each once
    assert len(result["first_fit_seconds"]) == 2
