"""Prefect flows: the campaign and the benchmark. Prefect is imported here and in ``arcloop.tasks`` only."""

from arcloop.tasks.settings import apply_env_defaults

apply_env_defaults()
