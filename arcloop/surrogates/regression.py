"""Surrogates of a continuous property for pool-based Bayesian optimisation (regression, not classification).

The protocol follows the benchmark of Liang et al. (2021, npj Comput. Mater. 7, 188): before every fit
the inputs X are standardised column by column and the objective y is standardised, with the mean and
standard deviation of the training data (a constant column or a constant y is divided by 1); the model
is fitted on the standardised data and its outputs are mapped back.

Units: every number returned by ``predict`` and ``sample_y`` is in the ORIGINAL units of y. ``predict``
returns the posterior mean of the property and, with ``return_std=True``, its standard deviation, the
model's epistemic spread (how unsure it is of the property itself, not the measurement noise of a new
experiment). ``sample_y`` returns S posterior draws of the property at the candidates, shape (S, n):
one row is one plausible function, the input of Thompson sampling.

* :class:`ForestRegressor`: a random forest (scikit-learn); mean and std over its trees, and the
  trees themselves are the draws.
* :class:`GPRegressor`: an exact Gaussian process (``pyro.contrib.gp``) with a Matérn 5/2 or squared
  exponential kernel, one length-scale per input (ARD) or one for all (isotropic), hyper-parameters
  fitted by maximising the exact log marginal likelihood.

Both are scikit-learn estimators: ``get_params``, ``set_params`` and ``sklearn.base.clone`` work, and
every fitted attribute ends in ``_``. Bad input raises :class:`arcloop.errors.ArcloopError` with a
one-line message naming the argument.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pyro
import pyro.contrib.gp as gp
import torch
from numpy.typing import ArrayLike
from pyro.nn import PyroParam
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.tree import DecisionTreeRegressor
from torch.distributions import constraints

from arcloop.cores import torch_threads
from arcloop.errors import ArcloopError
from arcloop.models.serial import serial_section
from arcloop.surrogates.trees import bagged_trees

NOISE_FLOOR = 1e-6
"""Lower bound of the GP's noise variance (standardised y units): keeps K + noise·I factorable."""

FOREST_Y_DECIMALS = 9
"""The forest's standardised y is rounded to this many decimals (a grid of 1e-9 standard deviations).

Two features that cut a node into the same two groups tie in exact arithmetic, and the float sums
that compare them differ in the last bits; rounding-level changes of y (y → 1000·y + 5) would break
such ties the other way and grow a different tree. On the grid the standardised y, and so the trees,
are the same, and the forest's predictions follow an affine change of y exactly."""

_KERNELS = {"matern52": gp.kernels.Matern52, "rbf": gp.kernels.RBF}
_F64 = torch.float64


# ---------------------------------------------------------------------------------------------------
# validation and standardisation
# ---------------------------------------------------------------------------------------------------


def _matrix(X: ArrayLike, where: str, name: str = "X", min_rows: int = 0) -> np.ndarray:
    """X as a finite float64 (n, d) array with n ≥ ``min_rows``, or an ArcloopError naming ``name``."""
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ArcloopError(f"{where}: {name} must be an array of numbers ({error})") from None
    if A.ndim != 2:
        raise ArcloopError(f"{where}: {name} must be 2-D (n rows, d columns); got shape {A.shape}")
    if A.shape[1] == 0:
        raise ArcloopError(f"{where}: {name} must have at least one column; got shape {A.shape}")
    if A.shape[0] < min_rows:
        raise ArcloopError(f"{where}: {name} needs at least {min_rows} rows to fit; got {A.shape[0]}")
    if not np.all(np.isfinite(A)):
        raise ArcloopError(f"{where}: {name} contains NaN or infinite values")
    return A


def _check_fit_data(X: ArrayLike, y: ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for fitting: X (n, d) with n ≥ 2, y (n,), both finite."""
    A = _matrix(X, where, "X", min_rows=2)
    try:
        b = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ArcloopError(f"{where}: y must be an array of numbers ({error})") from None
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if b.ndim != 1:
        raise ArcloopError(f"{where}: y must be 1-D (one value per row of X); got shape {b.shape}")
    if b.shape[0] != A.shape[0]:
        raise ArcloopError(f"{where}: y has {b.shape[0]} values but X has {A.shape[0]} rows")
    if not np.all(np.isfinite(b)):
        raise ArcloopError(f"{where}: y contains NaN or infinite values")
    return A, b


def _scale(values: np.ndarray) -> np.ndarray:
    """Standard deviation (population) along axis 0, with 0 replaced by 1 (a constant is not rescaled)."""
    spread = np.std(values, axis=0)
    return np.where(spread > 0, spread, 1.0)


class _Standardised:
    """Mixin: the standardisation of X and y, the fitted check and the prediction-input check."""

    x_mean_: np.ndarray
    x_scale_: np.ndarray
    y_mean_: float
    y_scale_: float
    n_features_in_: int

    def _standardise_fit(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = _scale(X)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(_scale(y))
        self.n_features_in_ = X.shape[1]
        return (X - self.x_mean_) / self.x_scale_, (y - self.y_mean_) / self.y_scale_

    def _inputs(self, X: ArrayLike, method: str) -> np.ndarray:
        """Standardised candidates for ``method`` (predict or sample_y), after the fitted check."""
        where = f"{type(self).__name__}.{method}"
        if not hasattr(self, "y_scale_"):
            raise ArcloopError(f"{where}: not fitted yet; call fit(X, y) first")
        A = _matrix(X, where)
        if A.shape[1] != self.n_features_in_:
            raise ArcloopError(
                f"{where}: X has {A.shape[1]} columns but the model was fitted on {self.n_features_in_}"
            )
        return (A - self.x_mean_) / self.x_scale_


# ---------------------------------------------------------------------------------------------------
# random forest
# ---------------------------------------------------------------------------------------------------


class ForestRegressor(_Standardised, RegressorMixin, BaseEstimator):
    """Random forest of regression trees (``sklearn.ensemble.RandomForestRegressor``) on standardised data.

    Parameters:
        n_estimators: number of trees; also the number of posterior draws ``sample_y`` returns.
        min_samples_leaf: minimum number of training rows in a leaf.
        max_features: fraction of the input columns tried at each split (1.0: all of them).
        random_state: seeds the bootstrap samples and feature draws (None: fresh entropy each fit).

    ``predict(X)``: mean over the trees, in the original units of y. ``return_std=True`` also gives the
    standard deviation over the trees' predictions (population std, original units): the forest's
    epistemic spread, i.e. how much bootstrap fits of the data disagree. It does not grow with the
    distance from the data (a tree extrapolates its last split), unlike a GP's.
    ``sample_y(X)``: the trees' own predictions, shape (n_estimators, n) (or the first ``n_samples``
    trees): each tree is one draw of the bagging posterior, so the mean of all draws is ``predict``.

    The standardised y the trees are grown on is rounded to 1e-9 (:data:`FOREST_Y_DECIMALS`), so
    that y and 1000·y + 5 grow the same trees.

    The trees are those ``sklearn.ensemble.RandomForestRegressor`` grows with the same parameters
    and ``bootstrap=True``, bit for bit (:func:`arcloop.surrogates.trees.bagged_trees`).

    Fitted attributes: ``trees_`` (the scikit-learn trees, on standardised data), ``x_mean_``,
    ``x_scale_`` (per-column mean and std of the training X), ``y_mean_``, ``y_scale_`` (of the
    training y), ``n_features_in_``.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        min_samples_leaf: int = 1,
        max_features: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def _check_params(self) -> None:
        where = "ForestRegressor"
        if isinstance(self.n_estimators, bool) or not isinstance(self.n_estimators, int | np.integer):
            raise ArcloopError(f"{where}: n_estimators must be an integer; got {self.n_estimators!r}")
        if self.n_estimators < 1:
            raise ArcloopError(f"{where}: n_estimators must be at least 1; got {self.n_estimators}")
        if not isinstance(self.min_samples_leaf, int | np.integer) or self.min_samples_leaf < 1:
            raise ArcloopError(
                f"{where}: min_samples_leaf must be an integer ≥ 1; got {self.min_samples_leaf!r}"
            )
        if not 0.0 < float(self.max_features) <= 1.0:
            raise ArcloopError(f"{where}: max_features must be in (0, 1]; got {self.max_features!r}")

    def fit(self, X: ArrayLike, y: ArrayLike) -> ForestRegressor:
        """Fit the forest on X (n, d) and y (n,), n ≥ 2, after standardising both."""
        self._check_params()
        A, b = _check_fit_data(X, y, "ForestRegressor.fit")
        Xs, ys = self._standardise_fit(A, b)
        ys = np.round(ys, FOREST_Y_DECIMALS)
        leaf, features = int(self.min_samples_leaf), float(self.max_features)
        self.trees_ = bagged_trees(
            np.ascontiguousarray(Xs, dtype=np.float32),
            ys,
            lambda generator: DecisionTreeRegressor(
                min_samples_leaf=leaf, max_features=features, random_state=generator
            ),
            int(self.n_estimators),
            self.random_state,
        )
        return self

    def _tree_predictions(self, X: ArrayLike, method: str, n_trees: int | None = None) -> np.ndarray:
        """(n_trees, n) predictions of the first ``n_trees`` trees, in original units."""
        Xs = self._inputs(X, method)
        trees = self.trees_[:n_trees]
        if Xs.shape[0] == 0:
            return np.zeros((len(trees), 0))
        Xf = np.ascontiguousarray(Xs, dtype=np.float32)  # the trees' own dtype, as the forest's predict
        draws = np.stack([tree.predict(Xf, check_input=False) for tree in trees]).astype(np.float64)
        return draws * self.y_scale_ + self.y_mean_

    def predict(self, X: ArrayLike, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Mean over the trees at X (n, d), original units; with ``return_std`` also the std over them."""
        draws = self._tree_predictions(X, "predict")
        mean = draws.mean(axis=0)
        return (mean, draws.std(axis=0)) if return_std else mean

    def sample_y(
        self,
        X: ArrayLike,
        n_samples: int | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Per-tree predictions at X, shape (S, n), float64, original units.

        S = ``n_estimators``, or the first ``n_samples`` trees. The draws are the trees, so they are
        the same for every ``random_state`` (accepted for the common interface with the GP).
        """
        del random_state  # the trees are already random draws; nothing left to seed
        if n_samples is not None and not 1 <= n_samples <= self.n_estimators:
            raise ArcloopError(
                f"ForestRegressor.sample_y: n_samples must be between 1 and n_estimators "
                f"({self.n_estimators}); got {n_samples}"
            )
        return self._tree_predictions(X, "sample_y", n_samples)

    def diagnostics(self) -> dict[str, float]:
        """Scalar diagnostics of the last fit: none for the forest."""
        return {}


# ---------------------------------------------------------------------------------------------------
# Gaussian process
# ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _torch_block() -> Iterator[None]:
    """One torch thread, the process's fit lock, and Pyro parameters local to their module.

    Without ``module_local_params`` a ``pyro.contrib.gp`` model keeps its parameters in Pyro's global
    parameter store under fixed names, so two models in one process would share them; the setting is
    process-wide, hence the lock (the same one :mod:`arcloop.surrogates.gp` holds).
    """
    with torch_threads(1), serial_section(), pyro.settings.context(module_local_params=True):
        yield


def _cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a covariance with jitter 1e-10 × mean variance on the diagonal
    (×10 until it factors: the posterior covariance of many candidates is numerically low-rank)."""
    scale = max(float(np.mean(np.diag(cov))), 1e-300)
    eye = np.eye(cov.shape[0])
    for power in range(-10, -2):
        with contextlib.suppress(np.linalg.LinAlgError):
            return np.linalg.cholesky(cov + 10.0**power * scale * eye)
    raise ArcloopError("GPRegressor.sample_y: the posterior covariance is not positive definite")


class GPRegressor(_Standardised, RegressorMixin, BaseEstimator):
    """Exact Gaussian-process regression (``pyro.contrib.gp.models.GPRegression``) in float64.

    Model, on standardised inputs x and standardised objective t = (y − mean(y)) / std(y):
    f ~ GP(0, k), t = f(x) + ε, ε ~ N(0, noise); k is Matérn 5/2 (``kernel="matern52"``) or the
    squared exponential (``"rbf"``), k(a, b) = variance · g(r), r² = Σ_j (a_j − b_j)² / ℓ_j², with one
    length-scale ℓ_j per input column (``ard=True``) or one for all (``ard=False``).

    Parameters:
        kernel: ``"matern52"`` or ``"rbf"``.
        ard: one length-scale per input column (True) or a single one (False).
        max_iter: L-BFGS iterations of the hyper-parameter fit (at most 1.25 × as many evaluations).
        noise: initial noise variance, standardised y units (> 1e-6, its lower bound).
        random_state: seed of ``sample_y`` when its own ``random_state`` is None (None: fresh entropy).

    Fit: the length-scales, variance and noise maximise the exact log marginal likelihood of the
    standardised data (:func:`negative_log_marginal_likelihood`, Pyro's model written out) by
    ``torch.optim.LBFGS`` with a strong-Wolfe line search, from a fixed start (ℓ = 1, variance = 1,
    noise = ``noise``), so a fit depends only on its data: the same data give the same fit bit for
    bit. The noise is kept above 1e-6 by its constraint. The hyper-parameters kept are those of the
    lowest negative log marginal likelihood the optimiser evaluated; if an evaluation fails (NaN, or a
    covariance that does not factor, after an overlong line-search step) the optimisation stops there
    and keeps that best point, which is the fixed start itself if nothing better was found
    (``optimizer_failed_`` is then True).

    ``predict(X)``: posterior mean of the latent property f at X, original units of y; with
    ``return_std=True`` also its posterior std (epistemic: without the noise), original units. Far from
    the data the std returns to the prior std, sqrt(variance_) × y_scale_.
    ``sample_y(X, n_samples)``: joint posterior draws of f at the n candidates (full covariance),
    shape (n_samples, n), original units.

    Fitted attributes: ``lengthscales_`` (d,) for ARD or (1,) (standardised input units: a
    length-scale of 1 is one training standard deviation of that column; a large one marks an input
    the property hardly depends on), ``variance_`` (signal variance, standardised y units),
    ``noise_`` (noise variance, standardised y units), ``nlml_`` (negative log marginal likelihood of
    the standardised data at the kept hyper-parameters), ``optimizer_failed_``, ``model_`` (the Pyro
    model; its parameters are module-local, read them only inside ``pyro.settings.context(
    module_local_params=True)``), and the standardisation ``x_mean_``, ``x_scale_``, ``y_mean_``,
    ``y_scale_``, ``n_features_in_``.
    """

    def __init__(
        self,
        kernel: Literal["matern52", "rbf"] = "matern52",
        ard: bool = True,
        max_iter: int = 20,
        noise: float = 1e-2,
        random_state: int | None = None,
    ) -> None:
        self.kernel = kernel
        self.ard = ard
        self.max_iter = max_iter
        self.noise = noise
        self.random_state = random_state

    def _check_params(self) -> None:
        where = "GPRegressor"
        if self.kernel not in _KERNELS:
            raise ArcloopError(f"{where}: kernel must be one of {', '.join(_KERNELS)}; got {self.kernel!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int | np.integer):
            raise ArcloopError(f"{where}: max_iter must be an integer; got {self.max_iter!r}")
        if self.max_iter < 1:
            raise ArcloopError(f"{where}: max_iter must be at least 1; got {self.max_iter}")
        if not (math.isfinite(float(self.noise)) and float(self.noise) > NOISE_FLOOR):
            raise ArcloopError(f"{where}: noise must be a finite number > {NOISE_FLOOR}; got {self.noise!r}")

    def fit(self, X: ArrayLike, y: ArrayLike) -> GPRegressor:
        """Fit the hyper-parameters on X (n, d) and y (n,), n ≥ 2, after standardising both."""
        self._check_params()
        A, b = _check_fit_data(X, y, "GPRegressor.fit")
        Xs, ys = self._standardise_fit(A, b)
        d = Xs.shape[1]
        with _torch_block():
            lengthscale = torch.ones(d, dtype=_F64) if self.ard else torch.tensor(1.0, dtype=_F64)
            kernel = _KERNELS[self.kernel](
                input_dim=d, variance=torch.tensor(1.0, dtype=_F64), lengthscale=lengthscale
            )
            model = gp.models.GPRegression(
                torch.as_tensor(Xs, dtype=_F64), torch.as_tensor(ys, dtype=_F64), kernel
            )
            model.noise = PyroParam(
                torch.tensor(float(self.noise), dtype=_F64), constraints.greater_than(NOISE_FLOOR)
            )
            self.nlml_, self.optimizer_failed_ = _maximise_marginal_likelihood(model, int(self.max_iter))
            self.lengthscales_ = np.atleast_1d(model.kernel.lengthscale.detach().numpy()).astype(np.float64)
            self.variance_ = float(model.kernel.variance.detach())
            self.noise_ = float(model.noise.detach())
        self.model_ = model
        return self

    def _posterior(self, X: ArrayLike, method: str, full_cov: bool) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (or covariance) of f at X, standardised y units."""
        Xs = self._inputs(X, method)
        if Xs.shape[0] == 0:
            return np.zeros(0), np.zeros((0, 0) if full_cov else 0)
        with _torch_block(), torch.no_grad():
            mean, cov = self.model_(torch.as_tensor(Xs, dtype=_F64), full_cov=full_cov, noiseless=True)
        return mean.numpy().astype(np.float64), cov.numpy().astype(np.float64)

    def predict(self, X: ArrayLike, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Posterior mean of f at X (n, d), original units; with ``return_std`` also its posterior std."""
        mean, var = self._posterior(X, "predict", full_cov=False)
        mean = mean * self.y_scale_ + self.y_mean_
        if not return_std:
            return mean
        return mean, np.sqrt(np.maximum(var, 0.0)) * self.y_scale_

    def sample_y(
        self,
        X: ArrayLike,
        n_samples: int = 64,
        random_state: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """``n_samples`` joint posterior draws of f at X, shape (n_samples, n), float64, original units.

        Drawn with a numpy Generator seeded by ``random_state`` (or the estimator's ``random_state``
        when None): the same seed gives the same draws. The covariance gets jitter on its diagonal
        (from 1e-10 × its mean variance, ×10 until it factors).
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
            raise ArcloopError(f"GPRegressor.sample_y: n_samples must be an integer ≥ 1; got {n_samples!r}")
        mean, cov = self._posterior(X, "sample_y", full_cov=True)
        seed = self.random_state if random_state is None else random_state
        rng = np.random.default_rng(seed)
        if mean.shape[0] == 0:
            return np.zeros((int(n_samples), 0))
        factor = _cholesky(cov)
        draws = mean[None, :] + rng.standard_normal((int(n_samples), mean.shape[0])) @ factor.T
        return draws * self.y_scale_ + self.y_mean_

    def diagnostics(self) -> dict[str, float]:
        """``lengthscale_anisotropy``: largest over smallest fitted length-scale (1.0 when isotropic)."""
        if not hasattr(self, "lengthscales_"):
            raise ArcloopError("GPRegressor.diagnostics: not fitted yet; call fit(X, y) first")
        return {"lengthscale_anisotropy": float(self.lengthscales_.max() / self.lengthscales_.min())}


def negative_log_marginal_likelihood(model: gp.models.GPRegression) -> torch.Tensor:
    """−log N(y | 0, K + (noise + jitter)·I) of the model's training data at its current parameters.

    The exact marginal likelihood Pyro's ``GPRegression.model`` defines (its kernel, noise and jitter),
    written out with one Cholesky factor: ½ yᵀ(K + σ²I)⁻¹y + Σ log diag L + ½ n log 2π. It equals
    ``Trace_ELBO().differentiable_loss(model.model, model.guide)`` with no priors (the test checks it to
    1e-9) without tracing the model, which a batch-of-one campaign would pay at every evaluation.
    """
    X, y = model.X, model.y
    n = y.shape[0]
    cov = model.kernel(X) + (model.noise + model.jitter) * torch.eye(n, dtype=X.dtype)
    factor = torch.linalg.cholesky(cov)
    alpha = torch.cholesky_solve(y.unsqueeze(-1), factor).squeeze(-1)
    return 0.5 * (y @ alpha) + torch.log(torch.diagonal(factor)).sum() + 0.5 * n * math.log(2.0 * math.pi)


def _maximise_marginal_likelihood(model: gp.models.GPRegression, max_iter: int) -> tuple[float, bool]:
    """L-BFGS on the negative log marginal likelihood; leaves ``model`` at the best point evaluated.

    Returns that point's negative log marginal likelihood and whether an evaluation failed (NaN loss or
    a covariance that does not factor), which stops the optimisation. A failure at the fixed start
    itself (K + noise·I with variance 1 always factors) is re-raised.
    """
    params = list(model.parameters())
    optimizer = torch.optim.LBFGS(params, max_iter=max_iter, line_search_fn="strong_wolfe")
    best_loss = math.inf
    best = [p.detach().clone() for p in params]  # the fixed start, kept if no evaluation succeeds

    def closure() -> torch.Tensor:
        nonlocal best_loss
        optimizer.zero_grad()
        loss = negative_log_marginal_likelihood(model)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError("negative log marginal likelihood is not finite")
        if value < best_loss:
            best_loss = value
            best[:] = [p.detach().clone() for p in params]
        loss.backward()
        return loss

    failed = False
    try:
        optimizer.step(closure)
    except (RuntimeError, ValueError, FloatingPointError):  # torch.linalg.LinAlgError is a RuntimeError
        if not math.isfinite(best_loss):
            raise  # the fixed start itself failed: a bug, not an overlong line-search step
        failed = True
    with torch.no_grad():
        for param, value in zip(params, best, strict=True):
            param.copy_(value)
    return best_loss, failed
