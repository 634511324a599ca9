"""Session-wide test harness: one ephemeral Prefect server, MLflow and state in temporary folders.

Environment variables are set before Prefect or MLflow is imported anywhere, so nothing is written
to the user's ~/.prefect, ./mlruns or ./mlflow.db, and nothing phones home.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="arcloop-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect")  # never the user's ~/.prefect
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ["ARCLOOP_CACHE_DIR"] = str(_SESSION_DIR / "cache")  # trained models: never ~/.cache/arcloop

from arcloop.tasks.settings import apply_env_defaults  # noqa: E402  (after PREFECT_HOME is set)

apply_env_defaults()  # the same offline, quiet settings the CLI and flows use


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One ephemeral Prefect server for the whole session (~10 s, paid only by tests that use it)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary directory: MLflow's default ./mlruns and relative paths land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tracking_uri(workdir: Path) -> str:
    """A fresh MLflow SQLite store in the test's temporary directory."""
    return f"sqlite:///{workdir / 'mlruns.db'}"
