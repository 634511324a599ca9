"""Screening campaigns: pool-based campaigns over any dataset, property and target (the protocol of
Liang et al. 2021), with continuous-property surrogates and acquisitions, and their benchmark."""

from arcloop.screening.config import ScreeningBenchmarkConfig, ScreeningConfig

__all__ = ["ScreeningBenchmarkConfig", "ScreeningConfig"]
