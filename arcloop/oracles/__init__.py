"""Pluggable oracles: the simulated laboratory that labels proposed alloys.

``label(compositions, rng=None, latent=None) -> LabelBatch``; built-ins ``rules``, ``emulator``,
``lookup``, ``synthetic``, ``lab`` (your laboratory, through ask/tell); wrappers ``noisy``,
``flaky``, ``slow``, ``costly``, ``selection_biased``; third-party oracles through the entry-point
group ``arcloop.oracles``.
"""

from arcloop.oracles.base import (
    ABSTAINED,
    DEFAULT_COST_PER_LABEL,
    DROPPED,
    FAILED,
    OK,
    STATUSES,
    BaseOracle,
    LabelBatch,
    Oracle,
    OracleError,
    OracleFailure,
    OracleTimeout,
    agreement,
)
from arcloop.oracles.config import (
    OracleConfig,
    WrapperConfig,
    build_oracle,
    parse_oracle_config,
)
from arcloop.oracles.emulator import EmulatorOracle, emulator_cross_validation, fitted_emulator
from arcloop.oracles.lab import LabOracle, SimulatedLab
from arcloop.oracles.lookup import LookupOracle
from arcloop.oracles.rules import RulesOracle
from arcloop.oracles.synthetic import SyntheticOracle
from arcloop.oracles.wrappers import Costly, Flaky, Noisy, SelectionBiased, Slow, Wrapper
from arcloop.params import validated_init

__all__ = [
    "ABSTAINED",
    "DEFAULT_COST_PER_LABEL",
    "DROPPED",
    "FAILED",
    "OK",
    "STATUSES",
    "BaseOracle",
    "Costly",
    "EmulatorOracle",
    "Flaky",
    "LabOracle",
    "LabelBatch",
    "LookupOracle",
    "Noisy",
    "Oracle",
    "OracleConfig",
    "OracleError",
    "OracleFailure",
    "OracleTimeout",
    "RulesOracle",
    "SelectionBiased",
    "SimulatedLab",
    "Slow",
    "SyntheticOracle",
    "Wrapper",
    "WrapperConfig",
    "agreement",
    "build_oracle",
    "emulator_cross_validation",
    "fitted_emulator",
    "parse_oracle_config",
    "validated_init",
]
