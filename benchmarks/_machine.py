"""Machine facts printed with every benchmark result."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib.metadata import PackageNotFoundError, version


def machine_info() -> dict[str, object]:
    def package_version(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "date": dt.date.today().isoformat(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": package_version("numpy"),
        "torch": package_version("torch"),
        "pyro-ppl": package_version("pyro-ppl"),
        "prefect": package_version("prefect"),
        "mlflow": package_version("mlflow"),
    }
