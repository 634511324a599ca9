"""A laboratory in the loop: the ``lab`` oracle of ask/tell campaigns, and a simulated lab to test them.

``lab`` is the oracle of a campaign whose labels come from real experiments (``arcloop propose`` /
``arcloop observe``, or the waiting flow of :mod:`arcloop.flows.lab`). It answers at once only for
what is already measured, the packaged alloys (as ``lookup`` does: their experimental labels are
the campaign's truth for the initial and held-out sets); a proposed alloy's label is the laboratory's
result, and that result is also the campaign's truth for it (no other truth exists).

:class:`SimulatedLab` answers a proposed batch the way a laboratory does: each item late (an
exponential delay), some never (a lost sample), so results come back partly and out of order. It
labels with any of today's oracles, drawing what a synchronous campaign of the same seed draws, so an
ask/tell campaign run against it can be compared with that campaign item by item.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from arcloop.errors import ArcloopError
from arcloop.oracles.base import OK, Oracle
from arcloop.oracles.lookup import LookupOracle

RESULT_COLUMN = "single_phase"
"""The column a laboratory fills in: 1 single phase, 0 not (empty while the result is out)."""


class LabOracle(LookupOracle):
    """Your laboratory: results through ``arcloop observe``; packaged alloys answered by their
    measured labels (within ``tolerance``, as ``lookup``)."""

    name: ClassVar[str] = "lab"
    answers_later: ClassVar[bool] = True


def answers_later(oracle: Oracle) -> bool:
    """Whether ``oracle``'s results arrive through ``observe`` (the ``lab`` oracle), not from ``label``."""
    return bool(getattr(oracle, "answers_later", False))


class SimulatedLab:
    """A laboratory for tests and rehearsals: labels by ``oracle``, answers late, partly, out of order.

    Each item arrives after an exponential delay of mean ``mean_delay_days``; with probability
    ``lost_fraction`` it never arrives (a sample lost in synthesis). Delays and losses are drawn from
    ``seed`` and the batch's iteration, never from the labels' Generator, so the labels are those the
    oracle gives a synchronous campaign for the same Generator.
    """

    def __init__(
        self, oracle: Oracle, mean_delay_days: float = 3.0, lost_fraction: float = 0.0, seed: int = 0
    ) -> None:
        if mean_delay_days < 0 or not 0.0 <= lost_fraction <= 1.0:
            raise ArcloopError(
                "SimulatedLab: mean_delay_days must be >= 0 and lost_fraction within [0, 1], "
                f"got {mean_delay_days} and {lost_fraction}"
            )
        self.oracle = oracle
        self.mean_delay_days = float(mean_delay_days)
        self.lost_fraction = float(lost_fraction)
        self.seed = int(seed)

    def run(
        self, ids: list[str], compositions: np.ndarray, iteration: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Every item's result and arrival: columns ``id``, :data:`RESULT_COLUMN` (empty unless
        ``ok``), ``status``, ``arrives_after_days`` (inf for a lost item), in order of arrival."""
        labels = self.oracle.label(compositions, rng=rng)
        timing = np.random.default_rng([self.seed, iteration])
        delay = timing.exponential(self.mean_delay_days, size=len(ids))
        lost = timing.random(len(ids)) < self.lost_fraction
        table = pd.DataFrame(
            {
                "id": ids,
                RESULT_COLUMN: [
                    str(label) if ok else "" for label, ok in zip(labels.labels, labels.ok, strict=True)
                ],
                "status": [status if status != OK else "" for status in labels.status],
                "arrives_after_days": np.where(lost, np.inf, delay),
            }
        )
        return table.sort_values("arrives_after_days", kind="stable").reset_index(drop=True)

    @staticmethod
    def arrived(results: pd.DataFrame, after_days: float, since_days: float = -np.inf) -> pd.DataFrame:
        """The results that arrive in (``since_days``, ``after_days``]: a results file's rows (a lost
        item never arrives)."""
        days = results["arrives_after_days"]
        arrived = np.isfinite(days) & (days > since_days) & (days <= after_days)
        return results[arrived][["id", RESULT_COLUMN, "status"]]
