"""The surrogate protocol and the helpers every built-in shares.

A surrogate is a plain estimator (scikit-learn style: hyper-parameters in ``__init__``,
``get_params``, ``fit``, ``predict``, ``random_state``) of P(single phase | composition):

- ``fit(X, y, z=None, model=None) -> self``: X (m, 30) compositions, y (m,) 0/1 labels, z (m, d)
  the current SSVAE encodings of X (read by the latent-space GP, ignored by the others), ``model``
  a fitted :class:`~arcloop.models.SSVAE` (read by the ``ssvae`` surrogate, ignored by the others).
- ``predict(X, z=None) -> (p_mean, draws)``: p_mean (n,) float64, the posterior mean probability of
  single phase; draws (S, n) float32, S genuine samples of the posterior of that probability
  (S = ``n_draws``, or the number of ensemble members where that is smaller; each class says).
- ``diagnostics() -> dict[str, float]``: readings of the last fit (e.g. the GP's length-scales).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from arcloop.errors import ArcloopError
from arcloop.materials import validate_compositions


@runtime_checkable
class Surrogate(Protocol):
    """What a policy needs from a surrogate (see the module docstring for shapes and meaning)."""

    name: ClassVar[str]

    def fit(
        self, X: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, model: Any = None
    ) -> Surrogate: ...

    def predict(self, X: np.ndarray, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def diagnostics(self) -> dict[str, float]: ...


class BaseSurrogate(BaseEstimator):
    """A scikit-learn estimator (``get_params`` / ``set_params`` from the ``__init__`` signature, so
    ``sklearn.base.clone`` works), input checks, an unfitted-model error."""

    name: ClassVar[str] = "surrogate"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def diagnostics(self) -> dict[str, float]:
        """Readings of the last fit; none by default."""
        return {}

    @property
    def reads_latent(self) -> bool:
        """Whether ``fit`` and ``predict`` read the latent encodings ``z`` (callers may skip encoding)."""
        return False

    def warm_state(self) -> dict[str, np.ndarray]:
        """What this surrogate carries from one fit to the next, as named float64/int64 arrays (a
        checkpoint stores them with ``numpy.savez`` and reads them back with ``allow_pickle=False``, so
        a state folder holds no code); empty for a surrogate fitted afresh each time."""
        return {}

    def restore_warm_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Continue from the ``warm_state()`` of an earlier object with the same parameters, so that
        the next ``fit`` is the one that object would have made."""
        if state:
            raise ArcloopError(
                f"{self.name}: this surrogate keeps no state between fits; got {sorted(state)}"
            )

    @property
    def learns_through_model(self) -> bool:
        """Whether what this surrogate predicts changes when the SSVAE passed to ``fit`` is refitted
        (it reads the SSVAE's heads or its latent frame): the campaign then refits the SSVAE each
        iteration (``model.refit: auto``)."""
        return self.reads_latent

    def _check_fitted(self, fitted: bool) -> None:
        if not fitted:
            raise ArcloopError(f"{self.name}: surrogate not fitted yet; call fit(X, y) first")


def check_xy(X: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (m, 30) compositions and (m,) float64 0/1 labels."""
    compositions = validate_compositions(X, name=f"{what}.X")
    if compositions.shape[0] == 0:
        raise ArcloopError(f"{what}.X: no labelled alloys; fit needs at least one")
    labels = np.asarray(y)
    if labels.shape != (compositions.shape[0],):
        raise ArcloopError(
            f"{what}.y: expected shape ({compositions.shape[0]},) to match X, got {labels.shape}"
        )
    if labels.dtype.kind not in "biuf" or not np.isin(labels, (0, 1)).all():
        raise ArcloopError(f"{what}.y: labels must be 0 (multiple phases) or 1 (single phase)")
    return compositions, labels.astype(np.float64)


def check_latent(z: np.ndarray | None, n: int, what: str, dim: int | None = None) -> np.ndarray:
    """(n, d) float64 latent points matching n compositions (and a fitted dimension d, if given)."""
    if z is None:
        raise ArcloopError(f"{what}.z: this surrogate needs the latent encodings z of X (shape ({n}, d))")
    points = np.asarray(z, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] != n or points.shape[1] < 1:
        raise ArcloopError(f"{what}.z: expected shape ({n}, d) to match X, got {points.shape}")
    if dim is not None and points.shape[1] != dim:
        raise ArcloopError(f"{what}.z: expected {dim} latent dimensions (as fitted), got {points.shape[1]}")
    if not np.isfinite(points).all():
        raise ArcloopError(f"{what}.z: contains NaN or infinite values")
    return points
