"""arcloop: a closed-loop materials-discovery simulator."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("arcloop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
"""MLflow's store when a config or command names none: a SQLite file in the working directory."""
