"""arcloop: a closed-loop materials-discovery simulator."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("arcloop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
"""MLflow's store when a config or command names none: a SQLite file in the working directory."""


def resolve_uri(uri: str) -> str:
    """Make a relative ``sqlite:///file.db`` absolute against the working directory, so that a flow
    run in another thread or process writes to the same store. (Here, not in :mod:`arcloop.tracking`,
    so that a config can be resolved without importing MLflow.)"""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/") and ":memory:" not in uri:
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri
