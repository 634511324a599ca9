"""``gp``: a variational sparse GP classifier (``pyro.contrib.gp``) with an ARD RBF kernel.

Model: f ~ GP(0, k), k(a, b) = σ² exp(−½ Σ_j (a_j − b_j)² / ℓ_j²) (one length-scale per input
dimension: ARD), y ~ Bernoulli(sigmoid(f)) (``likelihoods.Binary``). Variational sparse
approximation (Hensman et al. 2015) with M inducing points and a whitened Gaussian q(u), fitted by
Adam on ``TraceMeanField_ELBO().differentiable_loss``. The prior mean is zero, so far from the data
(and from the inducing points) the posterior of f returns to N(0, σ²): p_mean → ½ and the draws
spread as sigmoid(N(0, σ²)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pyro
import pyro.contrib.gp as gp
import torch
from pydantic import Field
from pyro.infer import TraceMeanField_ELBO

from arcloop.cores import torch_threads
from arcloop.errors import ArcloopError
from arcloop.materials import descriptor_matrix, validate_compositions
from arcloop.models.serial import serial_section
from arcloop.models.ssvae import _seeded
from arcloop.params import validated_init
from arcloop.surrogates.base import BaseSurrogate, check_latent, check_xy

SEED_MODULUS = 2**63 - 1
_HERMITE_X, _HERMITE_W = np.polynomial.hermite_e.hermegauss(32)  # ∫ g(t) N(t; 0, 1) dt ≈ Σ w g(x) / √2π
_HERMITE_W = _HERMITE_W / np.sqrt(2.0 * np.pi)


@contextlib.contextmanager
def _torch_block(n_threads: int) -> Iterator[None]:
    """One torch thread count, Pyro module parameters local to their module, under the process lock.

    Without ``module_local_params`` a ``pyro.contrib.gp`` model keeps its parameters in Pyro's global
    parameter store under fixed names ("kernel.lengthscale"), so a second GP in the process would
    silently start from (and share) the first one's values: measured, three fits on different data
    returned identical length-scales.
    """
    with torch_threads(n_threads), serial_section(), pyro.settings.context(module_local_params=True):
        yield


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # exact, no overflow


def expected_sigmoid(loc: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E[sigmoid(f)] for f ~ N(loc, var), elementwise, by 32-point Gauss–Hermite quadrature."""
    t = loc[:, None] + np.sqrt(np.maximum(var, 0.0))[:, None] * _HERMITE_X[None, :]
    return _sigmoid(t) @ _HERMITE_W


def _cholesky(cov: np.ndarray, jitter: float) -> np.ndarray:
    """Lower Cholesky factor of a covariance, adding jitter × mean diagonal (×10 until it factors)."""
    scale = max(float(np.mean(np.diag(cov))), 1e-12)
    eye = np.eye(cov.shape[0])
    for attempt in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * 10.0**attempt * scale * eye)
        except np.linalg.LinAlgError:
            continue
    raise ArcloopError("gp: the posterior covariance is not positive definite; raise jitter")


class GPSurrogate(BaseSurrogate):
    """Variational sparse GP classifier (Pyro), ARD RBF kernel, on the latent z or the descriptors.

    Parameters:
        space: ``"latent"`` (default): inputs are the SSVAE encodings ``z`` passed to ``fit`` and
            ``predict`` (raw latent units, so the length-scales read the latent frame);
            ``"descriptors"``: the 8 descriptors standardised with the mean and std of the first
            (cold) fit's alloys, frozen for warm fits.
        n_inducing: M inducing points, a seeded random subset of the training inputs (all of them if
            fewer), then learnt.
        n_steps, warm_steps: Adam steps of a cold fit, and of a warm fit (``warm_start`` and fitted).
        learning_rate: Adam's.
        warm_start: start the kernel's variance and length-scales from the last fit (the inducing
            points and q(u) start afresh: the data, and in latent space the frame, have changed).
        n_draws: S joint posterior draws returned by ``predict``.
        chunk_size: candidates per joint draw; draws are joint within a chunk of this many candidates
            (in candidate order) and independent between chunks (the (n, n) covariance of 10⁵
            candidates would not fit in memory).
        jitter: added to the kernel's diagonal (relative to σ² when sampling).
        random_state: seeds the inducing subset, the ELBO's samples and the draws.
        n_threads: torch threads while fitting and predicting (1: the 2-core machine oversubscribes).

    ``predict``: p_mean = E[sigmoid(f)] under the marginal posterior N(μ_i, σ_i²) of f at each candidate,
    by Gauss–Hermite quadrature (exact to ~1e-10, not a Monte Carlo mean); draws = sigmoid of S joint
    samples of f from N(μ, Σ) (``model(X, full_cov=True)``).
    After ``fit``: ``lengthscales_`` (d,), ``variance_`` (σ²), ``loss_`` (final −ELBO per alloy).
    """

    name: ClassVar[str] = "gp"

    @validated_init
    def __init__(
        self,
        space: Literal["latent", "descriptors"] = "latent",
        n_inducing: Annotated[int, Field(ge=1)] = 64,
        n_steps: Annotated[int, Field(ge=1)] = 300,
        warm_steps: Annotated[int, Field(ge=1)] = 100,
        learning_rate: Annotated[float, Field(gt=0)] = 0.03,
        warm_start: bool = True,
        n_draws: Annotated[int, Field(ge=1)] = 64,
        chunk_size: Annotated[int, Field(ge=2)] = 2048,
        jitter: Annotated[float, Field(gt=0)] = 1e-4,
        random_state: Annotated[int, Field(ge=0)] = 0,
        n_threads: Annotated[int, Field(ge=1)] = 1,
    ) -> None:
        self.space = space
        self.n_inducing = n_inducing
        self.n_steps = n_steps
        self.warm_steps = warm_steps
        self.learning_rate = learning_rate
        self.warm_start = warm_start
        self.n_draws = n_draws
        self.chunk_size = chunk_size
        self.jitter = jitter
        self.random_state = random_state
        self.n_threads = n_threads
        self.model_: gp.models.VariationalSparseGP | None = None
        self.scaler_: tuple[np.ndarray, np.ndarray] | None = None
        self.lengthscales_: np.ndarray | None = None
        self.variance_: float = float("nan")
        self.loss_: float = float("nan")
        self.n_fits_: int = 0

    @property
    def reads_latent(self) -> bool:
        return self.space == "latent"

    def warm_state(self) -> dict[str, np.ndarray]:
        """The kernel a warm fit starts from, the fit count that seeds it, the descriptor scaler."""
        if not self.warm_start or self.n_fits_ == 0 or self.lengthscales_ is None:
            return {}
        state = {
            "lengthscales": np.asarray(self.lengthscales_, dtype=np.float64),
            "variance": np.asarray(self.variance_, dtype=np.float64),
            "n_fits": np.asarray(self.n_fits_, dtype=np.int64),
        }
        if self.scaler_ is not None:
            state["scaler_mean"], state["scaler_scale"] = (
                np.asarray(a, dtype=np.float64) for a in self.scaler_
            )
        return state

    def restore_warm_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Set the warm-start state from :meth:`warm_state` (checked: names, shapes, finite values)."""
        expected = {"lengthscales", "variance", "n_fits"} | (
            {"scaler_mean", "scaler_scale"} if self.space == "descriptors" else set()
        )
        if set(state) != expected:
            raise ArcloopError(f"{self.name} state: expected arrays {sorted(expected)}; got {sorted(state)}")
        arrays = {name: np.asarray(state[name], dtype=np.float64) for name in expected}
        lengthscales = arrays["lengthscales"]
        shapes_ok = (
            lengthscales.ndim == 1
            and lengthscales.size >= 1
            and arrays["variance"].shape == ()
            and arrays["n_fits"].shape == ()
            and all(
                arrays[k].shape == lengthscales.shape for k in ("scaler_mean", "scaler_scale") if k in arrays
            )
        )
        positive = ("lengthscales", "variance", "n_fits", "scaler_scale")
        if (
            not shapes_ok
            or not all(np.all(np.isfinite(a)) for a in arrays.values())
            or any(np.any(arrays[k] <= 0) for k in positive if k in arrays)
        ):
            raise ArcloopError(
                f"{self.name} state: expected one finite positive length-scale per input, a positive "
                "variance and fit count, and a scaler of the same length; the file is damaged"
            )
        self.lengthscales_ = lengthscales
        self.variance_ = float(state["variance"])
        self.n_fits_ = int(state["n_fits"])
        if self.space == "descriptors":
            self.scaler_ = (
                np.asarray(state["scaler_mean"], dtype=np.float64),
                np.asarray(state["scaler_scale"], dtype=np.float64),
            )

    def _seed(self, *purpose: int) -> int:
        return int(np.random.default_rng([int(self.random_state), *purpose]).integers(SEED_MODULUS))

    def _inputs(self, X: np.ndarray, z: np.ndarray | None, what: str, fitting: bool) -> np.ndarray:
        compositions = validate_compositions(X, name=f"{what}.X")
        if self.space == "latent":
            dim = None if fitting or self.lengthscales_ is None else len(self.lengthscales_)
            return check_latent(z, compositions.shape[0], what, dim)
        F = descriptor_matrix(compositions, validate=False)
        if self.scaler_ is None or (fitting and not (self.warm_start and self.n_fits_ > 0)):
            scale = F.std(axis=0)
            self.scaler_ = (F.mean(axis=0), np.where(scale > 0, scale, 1.0))
        return (F - self.scaler_[0]) / self.scaler_[1]

    def fit(
        self, X: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, model: Any = None
    ) -> GPSurrogate:
        """Fit on (m, 30) compositions, 0/1 labels and, for ``space="latent"``, their (m, d) encodings z."""
        compositions, labels = check_xy(X, y, self.name)
        inputs = self._inputs(compositions, z, self.name, fitting=True)
        m, d = inputs.shape
        warm = self.warm_start and self.lengthscales_ is not None and len(self.lengthscales_) == d
        fit_index = self.n_fits_ if warm else 0  # a cold fit depends on the data and random_state only
        rng = np.random.default_rng([int(self.random_state), 1, fit_index])
        chosen = np.sort(rng.choice(m, size=min(self.n_inducing, m), replace=False))
        Xt = torch.as_tensor(inputs, dtype=torch.float32)
        yt = torch.as_tensor(labels, dtype=torch.float32)
        if warm:
            assert self.lengthscales_ is not None
            lengthscale, variance = torch.as_tensor(self.lengthscales_, dtype=torch.float32), self.variance_
        else:
            spread = inputs.std(axis=0)
            lengthscale = torch.as_tensor(np.where(spread > 0, spread, 1.0), dtype=torch.float32)
            variance = 1.0
        steps = self.warm_steps if warm else self.n_steps
        # A latent frame can put inducing points nearly on top of each other, and K_uu then fails to
        # factor in float32 at the set jitter: the fit is redone, from the same seed, with 10 × and
        # 100 × the jitter (a fit that factors at first is unchanged, bit for bit).
        for attempt, multiplier in enumerate((1.0, 10.0, 100.0)):
            try:
                gpc, loss = self._train(
                    Xt, yt, chosen, d, lengthscale, variance, steps, fit_index, multiplier
                )
                break
            except torch.linalg.LinAlgError:
                if attempt == 2:
                    raise ArcloopError(
                        "gp: the inducing-point covariance does not factor even at 100 × jitter; "
                        "raise surrogate.params.jitter"
                    ) from None
        self.model_ = gpc
        self.lengthscales_ = gpc.kernel.lengthscale.detach().double().numpy().copy()
        self.variance_ = float(gpc.kernel.variance.detach())
        self.loss_ = float(loss.detach()) / m
        self.n_fits_ += 1
        return self

    def _train(
        self,
        Xt: torch.Tensor,
        yt: torch.Tensor,
        chosen: np.ndarray,
        d: int,
        lengthscale: torch.Tensor,
        variance: float,
        steps: int,
        fit_index: int,
        jitter_multiplier: float,
    ) -> tuple[gp.models.VariationalSparseGP, torch.Tensor]:
        """One training run of the variational GP classifier (see :meth:`fit`)."""
        with _seeded(self._seed(2, fit_index)), _torch_block(self.n_threads):
            kernel = gp.kernels.RBF(
                input_dim=d, variance=torch.tensor(float(variance)), lengthscale=lengthscale
            )
            gpc = gp.models.VariationalSparseGP(
                Xt,
                yt,
                kernel,
                Xu=Xt[torch.as_tensor(chosen)].clone(),
                likelihood=gp.likelihoods.Binary(),
                whiten=True,
                jitter=float(self.jitter) * jitter_multiplier,
            )
            optimizer = torch.optim.Adam(gpc.parameters(), lr=float(self.learning_rate))
            loss_fn = TraceMeanField_ELBO().differentiable_loss
            loss = torch.zeros(())
            for _ in range(steps):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(gpc.model, gpc.guide)
                loss.backward()
                optimizer.step()
        return gpc, loss

    def posterior_f(
        self, X: np.ndarray, z: np.ndarray | None = None, full_cov: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """float64 (μ (n,), σ² (n,)) of the posterior of the latent f, or (μ, Σ (n, n)) with ``full_cov``."""
        self._check_fitted(self.model_ is not None)
        assert self.model_ is not None
        inputs = torch.as_tensor(self._inputs(X, z, self.name, fitting=False), dtype=torch.float32)
        with torch.no_grad(), _torch_block(self.n_threads):
            loc, var = self.model_(inputs, full_cov=full_cov)
        return loc.double().numpy(), var.double().numpy()

    def predict(self, X: np.ndarray, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(p_mean (n,) float64, draws (S, n) float32): see the class docstring."""
        self._check_fitted(self.model_ is not None)
        assert self.model_ is not None
        inputs = torch.as_tensor(self._inputs(X, z, self.name, fitting=False), dtype=torch.float32)
        n = inputs.shape[0]
        p_mean = np.empty(n)
        draws = np.empty((self.n_draws, n), dtype=np.float32)
        for c, start in enumerate(range(0, n, self.chunk_size)):
            chunk = inputs[start : start + self.chunk_size]
            with torch.no_grad(), _torch_block(self.n_threads):
                loc_t, cov_t = self.model_(chunk, full_cov=True)
            loc, cov = loc_t.double().numpy(), cov_t.double().numpy()
            cov = 0.5 * (cov + cov.T)
            p_mean[start : start + chunk.shape[0]] = expected_sigmoid(loc, np.diag(cov))
            eps = np.random.default_rng([int(self.random_state), 3, c]).standard_normal(
                (self.n_draws, len(loc))
            )
            f = loc[None, :] + eps @ _cholesky(cov, float(self.jitter)).T
            draws[:, start : start + chunk.shape[0]] = _sigmoid(f)
        return p_mean, draws

    def diagnostics(self) -> dict[str, float]:
        """``lengthscale_j`` (input units), ``kernel_variance`` (σ²), ``loss`` (−ELBO per alloy) and, in
        latent space, ``lengthscale_anisotropy`` = max_j ℓ_j / min_j ℓ_j: 1 for an isotropic landscape,
        large when P(single phase) changes along some latent directions much faster than along others."""
        if self.lengthscales_ is None:
            return {}
        out = {f"lengthscale_{j}": float(v) for j, v in enumerate(self.lengthscales_)}
        out["kernel_variance"] = self.variance_
        out["loss"] = self.loss_
        if self.space == "latent":
            out["lengthscale_anisotropy"] = float(self.lengthscales_.max() / self.lengthscales_.min())
        return out
