"""Wrappers that make any oracle behave like a real instrument or a real literature.

Each wrapper is itself an oracle around ``inner``. Randomness: a wrapper draws from the same
Generator it is given (``rng=None``: ``default_rng(inner.seed)``) and passes it on, so one
Generator drives the whole stack. Order of draws in one call of a wrapper:

- ``flaky``: 1 uniform *before* calling ``inner`` (whole-call failure / timeout), then ``inner``,
  then n uniforms (item failures).
- ``noisy``, ``selection_biased``: ``inner`` first, then n uniforms.
- ``slow``, ``costly``: no draws.

The number of draws never depends on parameter values or outcomes (a 0 probability still
draws), so changing one wrapper's probability leaves every other draw unchanged (common random
numbers across configurations). Wrappers listed first in a config sit innermost.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import numpy as np

from arcloop.errors import ArcloopError
from arcloop.oracles.base import (
    ABSTAINED,
    DROPPED,
    FAILED,
    LabelBatch,
    NonNegative,
    Oracle,
    OracleFailure,
    OracleTimeout,
    Probability,
    resolve_rng,
)
from arcloop.params import validated_init


class Wrapper:
    """Base of the wrappers: delegates ``requires_latent`` and ``seed``, times the call."""

    name: ClassVar[str] = "wrapper"
    params: dict[str, Any]

    def __init__(self, inner: Oracle) -> None:
        if not isinstance(inner, Oracle):
            raise ArcloopError(
                f"{self.name}: can only wrap an oracle (an object with label() and requires_latent), "
                f"got {type(inner).__name__}"
            )
        self.inner = inner

    @property
    def requires_latent(self) -> bool:
        return bool(self.inner.requires_latent)

    @property
    def seed(self) -> int:
        return int(getattr(self.inner, "seed", 0))

    def label(
        self,
        compositions: np.ndarray,
        rng: np.random.Generator | None = None,
        latent: np.ndarray | None = None,
    ) -> LabelBatch:
        """Label through ``inner``, then apply this wrapper's effect."""
        start = time.perf_counter()
        batch = self._wrap(compositions, resolve_rng(rng, self.seed), latent)
        return batch.replace(seconds=time.perf_counter() - start)

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Plain data that rebuilds the whole stack (see :class:`arcloop.oracles.OracleConfig`)."""
        if not hasattr(self.inner, "spec"):
            raise ArcloopError(f"{self.name}: the wrapped oracle has no spec() to describe it")
        spec = self.inner.spec()
        spec["wrappers"] = [*spec.get("wrappers", []), {"name": self.name, **self.params}]
        return spec

    def diagnostics(self) -> dict[str, Any]:
        return self.inner.diagnostics() if hasattr(self.inner, "diagnostics") else {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.name}({args})[{self.inner!r}]"


class Noisy(Wrapper):
    """Flip each reported label with probability ``flip_prob`` (symmetric label noise)."""

    name: ClassVar[str] = "noisy"

    @validated_init
    def __init__(self, inner: Oracle, flip_prob: Probability = 0.1) -> None:
        super().__init__(inner)
        self.flip_prob = flip_prob

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        batch = self.inner.label(compositions, rng=rng, latent=latent)
        flip = batch.ok & (rng.random(len(batch)) < self.flip_prob)
        return batch.replace(labels=np.where(flip, 1 - batch.labels, batch.labels))


class Flaky(Wrapper):
    """An unreliable instrument: the call raises or hangs; items may fail one by one.

    With probability ``failure_prob`` the call raises :class:`OracleFailure`; with probability
    ``timeout_prob`` it sleeps ``hang_seconds`` and raises :class:`OracleTimeout`. Otherwise
    each labelled item fails (status ``failed``, cost kept) with probability ``item_failure_prob``.
    """

    name: ClassVar[str] = "flaky"

    @validated_init
    def __init__(
        self,
        inner: Oracle,
        failure_prob: Probability = 0.0,
        timeout_prob: Probability = 0.0,
        hang_seconds: NonNegative = 0.0,
        item_failure_prob: Probability = 0.0,
    ) -> None:
        super().__init__(inner)
        if failure_prob + timeout_prob > 1.0:
            raise ArcloopError(
                f"flaky.timeout_prob: failure_prob + timeout_prob must be at most 1, "
                f"got {failure_prob} + {timeout_prob}"
            )
        self.failure_prob = failure_prob
        self.timeout_prob = timeout_prob
        self.hang_seconds = hang_seconds
        self.item_failure_prob = item_failure_prob

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        u = rng.random()
        if u < self.failure_prob:
            raise OracleFailure(f"{self.inner!r}: instrument failure (simulated, p={self.failure_prob})")
        if u < self.failure_prob + self.timeout_prob:
            time.sleep(self.hang_seconds)
            raise OracleTimeout(
                f"{self.inner!r}: no answer after {self.hang_seconds} s (simulated, p={self.timeout_prob})"
            )
        batch = self.inner.label(compositions, rng=rng, latent=latent)
        return batch.mark(batch.ok & (rng.random(len(batch)) < self.item_failure_prob), FAILED)


class Slow(Wrapper):
    """Latency: sleep ``seconds`` per call plus ``seconds_per_label`` per item before labelling."""

    name: ClassVar[str] = "slow"

    @validated_init
    def __init__(
        self, inner: Oracle, seconds: NonNegative = 0.1, seconds_per_label: NonNegative = 0.0
    ) -> None:
        super().__init__(inner)
        self.seconds = seconds
        self.seconds_per_label = seconds_per_label

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        time.sleep(self.seconds + self.seconds_per_label * len(compositions))
        return self.inner.label(compositions, rng=rng, latent=latent)


class Costly(Wrapper):
    """Cost: add (``mode="add"``) or set (``"set"``) ``cost_per_label`` on every attempted item.

    ``abstained`` items are left as they are: no experiment was run for them.
    """

    name: ClassVar[str] = "costly"

    @validated_init
    def __init__(
        self, inner: Oracle, cost_per_label: NonNegative = 1.0, mode: Literal["add", "set"] = "add"
    ) -> None:
        super().__init__(inner)
        self.cost_per_label = cost_per_label
        self.mode = mode

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        batch = self.inner.label(compositions, rng=rng, latent=latent)
        charged = self.cost_per_label if self.mode == "set" else batch.cost + self.cost_per_label
        return batch.replace(cost=np.where(batch.status == ABSTAINED, batch.cost, charged))


class SelectionBiased(Wrapper):
    """Publication bias: each negative result goes unreported (``dropped``) with ``drop_negative_prob``.

    The experiment was run, so the cost stays; only the label is lost.
    """

    name: ClassVar[str] = "selection_biased"

    @validated_init
    def __init__(self, inner: Oracle, drop_negative_prob: Probability = 0.5) -> None:
        super().__init__(inner)
        self.drop_negative_prob = drop_negative_prob

    def _wrap(
        self, compositions: np.ndarray, rng: np.random.Generator, latent: np.ndarray | None
    ) -> LabelBatch:
        batch = self.inner.label(compositions, rng=rng, latent=latent)
        drop = batch.ok & (batch.labels == 0) & (rng.random(len(batch)) < self.drop_negative_prob)
        return batch.mark(drop, DROPPED)
