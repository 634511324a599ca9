"""``ssvae``: the SSVAE's own classifier heads q(φ | f(x)) read as an ensemble of K posterior draws."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from arcloop.errors import ArcloopError
from arcloop.models.ssvae import SSVAE
from arcloop.params import validated_init
from arcloop.surrogates.base import BaseSurrogate, check_xy


class SSVAESurrogate(BaseSurrogate):
    """The K classifier heads of a fitted :class:`~arcloop.models.SSVAE` (the paper's q(φ | f(x))).

    It trains nothing: ``fit(X, y, model=ssvae)`` records the fitted model (the campaign loop fits the
    SSVAE on the labelled and unlabelled alloys anyway, and the heads are part of that fit). The
    heads are an ensemble whose members differ by initialisation and, with ``SSVAE(bootstrap=True)``
    (``SSVAE.campaign_defaults()``), by Poisson(1) bootstrap weights; without ``distance_aware`` no
    hand-set blending enters. ``predict``: p_mean = the mean of the K heads (``SSVAE.predict_positive``);
    draws = the K heads themselves, so S = K = ``n_heads`` of the model (``n_draws``, if given, must
    not exceed K: this surrogate has exactly K genuine draws and never repeats one). ``X`` and ``y``
    of ``fit`` are only checked; ``z`` is ignored.
    """

    name: ClassVar[str] = "ssvae"

    @validated_init
    def __init__(
        self,
        n_draws: Annotated[int, Field(ge=1)] | None = None,
        random_state: Annotated[int, Field(ge=0)] = 0,
    ) -> None:
        self.n_draws = n_draws
        self.random_state = random_state  # unused (the draws are the heads); kept for a uniform surface
        self.model_: SSVAE | None = None

    @property
    def learns_through_model(self) -> bool:
        """True: its draws are the SSVAE's heads, which learn only when the SSVAE is refitted."""
        return True

    def fit(
        self, X: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, model: Any = None
    ) -> SSVAESurrogate:
        """Record ``model``, a fitted SSVAE (required)."""
        check_xy(X, y, self.name)
        if not isinstance(model, SSVAE) or not model.is_fitted:
            raise ArcloopError(f"{self.name}.model: pass the fitted SSVAE as fit(X, y, model=ssvae)")
        if self.n_draws is not None and self.n_draws > model.n_heads:
            raise ArcloopError(
                f"{self.name}.n_draws: {self.n_draws} > the model's {model.n_heads} heads; "
                f"raise SSVAE n_heads or leave n_draws unset"
            )
        self.model_ = model
        return self

    def predict(self, X: np.ndarray, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(p_mean (n,) float64: mean of all K heads, draws (S, n) float32: the first S heads, S ≤ K)."""
        self._check_fitted(self.model_ is not None)
        assert self.model_ is not None
        heads = self.model_.predict_proba_heads(X)
        s = heads.shape[0] if self.n_draws is None else self.n_draws
        return heads.mean(axis=0), heads[:s].astype(np.float32)

    def __getstate__(self) -> dict[str, Any]:
        # The SSVAE is checkpointed on its own; fit(model=...) gives it back after a load.
        return {**self.__dict__, "model_": None}

    def diagnostics(self) -> dict[str, float]:
        """``n_members`` (K)."""
        return {} if self.model_ is None else {"n_members": float(self.model_.n_heads)}
