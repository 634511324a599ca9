"""Small, fast campaign configs shared by the flow tests (real model, real oracle, real flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A small model and few candidates keep a 3-iteration campaign to seconds on 2 cores.
FAST_MODEL: dict[str, Any] = {"max_epochs": 150, "warm_max_epochs": 20}
FAST_CANDIDATES: dict[str, Any] = {"n_candidates": 400, "n_samples": 8}


def fast_config(tmp: Path, tracking_uri: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "seed": 3,
        "iterations": 3,
        "batch_size": 8,
        "model": dict(FAST_MODEL),
        "candidates": {"source": "latent", **FAST_CANDIDATES},
        "policy": {"name": "uncertainty"},
        "oracle": {"name": "rules"},
        "scenario": {"kind": "random", "n_initial": 48},
        "tracking": {"uri": tracking_uri, "experiment": "tests"},
        "state_dir": str(tmp / "state"),
    }
    for key, value in overrides.items():
        config[key] = value
    return config


def tiny_benchmark(tmp: Path, tracking_uri: str, **overrides: Any) -> dict[str, Any]:
    """2 policies + random × 2 seeds × 2 iterations on the rules oracle."""
    config: dict[str, Any] = {
        "name": "tiny",
        "campaign": {
            "iterations": 2,
            "batch_size": 8,
            "model": dict(FAST_MODEL),
            "candidates": {"source": "latent", **FAST_CANDIDATES},
        },
        "policies": [{"name": "greedy"}, {"name": "uncertainty"}],
        "oracles": [{"name": "rules"}],
        "scenarios": [{"name": "random", "scenario": {"kind": "random", "n_initial": 48}}],
        "seeds": [0, 1],
        "runner": "threads",
        "max_workers": 2,
        "output_dir": str(tmp / "out"),
        "tracking": {"uri": tracking_uri, "experiment": "bench"},
    }
    config.update(overrides)
    return config
