"""Small, fast campaign configs shared by the flow tests (real model, real oracle, real flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A small model and few candidates keep a 3-iteration campaign to seconds on 2 cores.
FAST_MODEL: dict[str, Any] = {}
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
