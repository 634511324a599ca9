"""The continuous-property surrogates of arcloop.surrogates.regression: a random forest and an exact GP."""

from __future__ import annotations

import numpy as np
import pyro
import pytest
import torch
from pyro.infer import Trace_ELBO
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor

import arcloop.surrogates.regression as regression
from arcloop.errors import ArcloopError
from arcloop.surrogates.regression import FOREST_Y_DECIMALS, ForestRegressor, GPRegressor
from arcloop.surrogates.trees import bagged_trees

ESTIMATORS = [ForestRegressor, GPRegressor]


def _smooth_data(n: int = 60, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth property of d inputs (the last one irrelevant), and 50 candidates."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (n, d))
    candidates = rng.uniform(-2.0, 2.0, (50, d))

    def f(A: np.ndarray) -> np.ndarray:
        return np.sin(1.3 * A[:, 0]) + 0.3 * (A[:, 1] - 0.5) ** 2

    return X, f(X), candidates


@pytest.fixture(scope="module")
def sine_gp() -> GPRegressor:
    x = np.linspace(0.0, 6.0, 15)[:, None]
    return GPRegressor().fit(x, np.sin(x[:, 0]))


# ---------------------------------------------------------------------------------------------------
# GP posterior
# ---------------------------------------------------------------------------------------------------


def test_gp_interpolates_a_smooth_function_and_is_unsure_far_from_it(sine_gp: GPRegressor) -> None:
    train = np.linspace(0.0, 6.0, 15)
    between = (train[:-1] + train[1:]) / 2
    for x in (train, between):
        mean, std = sine_gp.predict(x[:, None], return_std=True)
        np.testing.assert_allclose(mean, np.sin(x), atol=5e-3)
        assert np.all(std < 0.02)
    _, far_std = sine_gp.predict(np.array([[20.0]]), return_std=True)
    prior_std = np.sqrt(sine_gp.variance_) * sine_gp.y_scale_  # original units
    assert far_std[0] > 50 * sine_gp.predict(between[:, None], return_std=True)[1].max()
    assert 0.85 * prior_std < far_std[0] <= prior_std * (1 + 1e-9)


def test_gp_std_is_epistemic_and_excludes_the_noise() -> None:
    rng = np.random.default_rng(7)
    x = np.linspace(0.0, 6.0, 60)[:, None]
    model = GPRegressor().fit(x, np.sin(x[:, 0]) + 0.1 * rng.standard_normal(60))
    noise_std = np.sqrt(model.noise_) * model.y_scale_  # original units
    assert 0.05 < noise_std < 0.2
    _, std = model.predict(x, return_std=True)
    assert np.all(std < 0.8 * noise_std)  # 60 points pin f down better than one measurement does


def test_gp_ard_finds_the_irrelevant_input_and_isotropic_has_one_lengthscale() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(0.0, 4.0, (40, 2))
    y = np.sin(1.5 * X[:, 0])  # x1 is irrelevant, no noise
    ard = GPRegressor().fit(X, y)
    assert ard.lengthscales_.shape == (2,)
    assert ard.lengthscales_[1] > 3 * ard.lengthscales_[0]
    assert ard.diagnostics()["lengthscale_anisotropy"] > 3
    iso = GPRegressor(ard=False).fit(X, y)
    assert iso.lengthscales_.shape == (1,)
    assert iso.diagnostics() == {"lengthscale_anisotropy": 1.0}


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_gp_kernels_both_fit(kernel: str) -> None:
    X, y, candidates = _smooth_data(n=60)
    model = GPRegressor(kernel=kernel).fit(X, y)  # type: ignore[arg-type]
    truth = np.sin(1.3 * candidates[:, 0]) + 0.3 * (candidates[:, 1] - 0.5) ** 2
    rmse = np.sqrt(np.mean((model.predict(candidates) - truth) ** 2))
    assert rmse < 0.1 * truth.std()  # a tenth of the error of predicting the mean
    assert model.noise_ >= regression.NOISE_FLOOR and model.variance_ > 0


# ---------------------------------------------------------------------------------------------------
# standardisation
# ---------------------------------------------------------------------------------------------------


def test_forest_predictions_follow_an_affine_change_of_y_and_ignore_input_scale() -> None:
    X, y, candidates = _smooth_data()
    mean, std = ForestRegressor(random_state=0).fit(X, y).predict(candidates, return_std=True)
    mean2, std2 = ForestRegressor(random_state=0).fit(X, 1000 * y + 5).predict(candidates, return_std=True)
    np.testing.assert_allclose(mean2, 1000 * mean + 5, rtol=1e-6)
    np.testing.assert_allclose(std2, 1000 * std, rtol=1e-6)
    scale = np.array([100.0, 1.0, 1.0, 1.0])
    mean3 = ForestRegressor(random_state=0).fit(X * scale, y).predict(candidates * scale)
    np.testing.assert_allclose(mean3, mean, rtol=1e-12, atol=1e-12)


def test_gp_predictions_follow_an_affine_change_of_y_and_ignore_input_scale() -> None:
    X, y, candidates = _smooth_data(n=40)
    mean, std = GPRegressor().fit(X, y).predict(candidates, return_std=True)
    mean2, std2 = GPRegressor().fit(X, 1000 * y + 5).predict(candidates, return_std=True)
    np.testing.assert_allclose((mean2 - 5) / 1000, mean, atol=1e-4 * np.ptp(y))
    np.testing.assert_allclose(std2 / 1000, std, atol=1e-4 * np.ptp(y))
    scale = np.array([100.0, 1.0, 1.0, 1.0])
    mean3 = GPRegressor().fit(X * scale, y).predict(candidates * scale)
    np.testing.assert_allclose(mean3, mean, atol=1e-4 * np.ptp(y))


# ---------------------------------------------------------------------------------------------------
# posterior draws
# ---------------------------------------------------------------------------------------------------


def test_forest_draws_are_its_trees_and_its_trees_are_scikit_learns() -> None:
    X, y, candidates = _smooth_data()
    forest = ForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    draws = forest.sample_y(candidates)
    assert draws.shape == (30, len(candidates)) and draws.dtype == np.float64
    # the independent reference: scikit-learn's own forest, grown on the same standardised data
    standardised = ((candidates - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    reference = RandomForestRegressor(n_estimators=30, random_state=0).fit(
        (X - X.mean(axis=0)) / X.std(axis=0), np.round((y - y.mean()) / y.std(), FOREST_Y_DECIMALS)
    )
    trees = np.stack([tree.predict(standardised) for tree in reference.estimators_])
    np.testing.assert_array_equal(
        np.stack([tree.predict(standardised) for tree in forest.trees_]), trees
    )  # the same trees, bit for bit
    np.testing.assert_allclose(draws, trees * y.std() + y.mean(), rtol=1e-12, atol=1e-12)
    mean, std = forest.predict(candidates, return_std=True)
    np.testing.assert_allclose(draws.mean(axis=0), mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(draws.std(axis=0), std, rtol=0, atol=1e-9)
    sklearn_mean = reference.predict(standardised) * y.std() + y.mean()
    np.testing.assert_allclose(mean, sklearn_mean, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(forest.sample_y(candidates, n_samples=7), draws[:7])
    with pytest.raises(ArcloopError, match="n_samples"):
        forest.sample_y(candidates, n_samples=31)


@pytest.mark.parametrize(("min_samples_leaf", "max_features", "seed"), [(1, 1.0, 7), (3, 0.5, 11)])
def test_forest_grows_scikit_learns_trees_for_other_settings(
    min_samples_leaf: int, max_features: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.round(rng.normal(size=40), 2)  # ties between rows, as measured properties have
    grid = rng.normal(size=(300, 5)).astype(np.float32)
    reference = RandomForestRegressor(
        n_estimators=25, min_samples_leaf=min_samples_leaf, max_features=max_features, random_state=seed
    ).fit(X, y)
    grown = bagged_trees(
        X,
        y,
        lambda g: DecisionTreeRegressor(
            min_samples_leaf=min_samples_leaf, max_features=max_features, random_state=g
        ),
        25,
        seed,
    )
    for ours, theirs in zip(grown, reference.estimators_, strict=True):
        np.testing.assert_array_equal(ours.predict(grid), theirs.predict(grid))


def test_gp_draws_are_joint_samples_of_the_posterior(sine_gp: GPRegressor) -> None:
    x = np.linspace(-3.0, 9.0, 25)[:, None]  # inside and outside the data: the spread varies
    mean, std = sine_gp.predict(x, return_std=True)
    draws = sine_gp.sample_y(x, n_samples=2000, random_state=0)
    assert draws.shape == (2000, 25) and draws.dtype == np.float64
    spread = std > 0.05  # where the std is not dominated by the jitter
    assert spread.sum() >= 8
    assert np.all(np.abs(draws.mean(axis=0) - mean) <= 0.1 * np.maximum(std, 0.05))  # 4.5 standard errors
    np.testing.assert_allclose(draws.std(axis=0)[spread], std[spread], rtol=0.06)
    neighbours = np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]  # x = -3 and -2.5: one smooth function
    assert neighbours > 0.9
    np.testing.assert_array_equal(draws, sine_gp.sample_y(x, n_samples=2000, random_state=0))
    assert not np.array_equal(draws[:5], sine_gp.sample_y(x, n_samples=5, random_state=1))


def test_gp_draws_default_to_the_estimators_seed() -> None:
    X, y, candidates = _smooth_data(n=20)
    seeded = GPRegressor(random_state=3).fit(X, y)
    np.testing.assert_array_equal(seeded.sample_y(candidates, 4), seeded.sample_y(candidates, 4, 3))


# ---------------------------------------------------------------------------------------------------
# determinism, threads, the optimiser's fallback
# ---------------------------------------------------------------------------------------------------


def test_two_fits_on_the_same_data_predict_bit_for_bit_the_same() -> None:
    X, y, candidates = _smooth_data(n=50)
    X_b, y_b, _ = _smooth_data(n=30, seed=5)
    fits = []
    for data in [(X_b, y_b), (X, y), (X_b, y_b), (X, y)]:  # fits share nothing, whatever came before
        model = GPRegressor().fit(*data)
        fits.append((model.lengthscales_, *model.predict(candidates, return_std=True)))
    for first, second in [(fits[0], fits[2]), (fits[1], fits[3])]:
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.allclose(fits[0][0], fits[1][0], rtol=0.01)
    forests = [ForestRegressor(random_state=4).fit(X, y).predict(candidates) for _ in range(2)]
    np.testing.assert_array_equal(forests[0], forests[1])


def test_gp_runs_torch_on_one_thread_and_restores_the_callers_count(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, candidates = _smooth_data(n=20)
    seen: list[int] = []
    loss = regression.negative_log_marginal_likelihood

    def spy(model: object) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return loss(model)  # type: ignore[arg-type]

    monkeypatch.setattr(regression, "negative_log_marginal_likelihood", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        GPRegressor().fit(X, y).predict(candidates)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("ard", [True, False])
def test_gp_marginal_likelihood_equals_pyros_elbo_loss(ard: bool) -> None:
    """The written-out NLML is the loss Pyro's own inference computes for the same model (no priors)."""
    X, y, _ = _smooth_data(n=25)
    model = GPRegressor(ard=ard, max_iter=3).fit(X, y).model_
    with pyro.settings.context(module_local_params=True):
        ours = float(regression.negative_log_marginal_likelihood(model).detach())
        pyros = float(Trace_ELBO().differentiable_loss(model.model, model.guide).detach())
    assert ours == pytest.approx(pyros, rel=1e-9)


def test_gp_keeps_the_best_point_when_an_evaluation_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, candidates = _smooth_data(n=30)
    values: list[float] = []
    loss = regression.negative_log_marginal_likelihood

    def failing(model: object) -> torch.Tensor:
        if len(values) == 4:
            return torch.tensor(float("nan"), dtype=torch.float64, requires_grad=True)
        value = loss(model)  # type: ignore[arg-type]
        values.append(float(value.detach()))
        return value

    monkeypatch.setattr(regression, "negative_log_marginal_likelihood", failing)
    model = GPRegressor().fit(X, y)
    assert model.optimizer_failed_
    assert model.nlml_ == min(values) < values[0]
    assert np.all(np.isfinite(model.predict(candidates, return_std=True)))
    monkeypatch.undo()
    with pyro.settings.context(module_local_params=True):  # the NLML at the kept hyper-parameters, by Pyro
        again = Trace_ELBO().differentiable_loss(model.model_.model, model.model_.guide)
    assert float(again.detach()) == pytest.approx(model.nlml_, rel=1e-9)
    assert not GPRegressor().fit(X, y).optimizer_failed_


# ---------------------------------------------------------------------------------------------------
# scikit-learn API and errors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_gives_an_unfitted_copy_and_set_params_changes_a_param(cls: type) -> None:
    X, y, _ = _smooth_data(n=20)
    kwargs = {"n_estimators": 7} if cls is ForestRegressor else {"kernel": "rbf", "max_iter": 5}
    fitted = cls(random_state=2, **kwargs).fit(X, y)
    copy = clone(fitted)
    assert type(copy) is cls and copy.get_params() == fitted.get_params()
    assert copy.get_params()["random_state"] == 2
    with pytest.raises(ArcloopError, match="not fitted yet; call fit"):
        copy.predict(X)
    name, value = ("min_samples_leaf", 3) if cls is ForestRegressor else ("ard", False)
    copy.set_params(**{name: value})
    assert copy.get_params()[name] == value and fitted.get_params()[name] != value


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_input_raises_one_arcloop_error_naming_the_argument(cls: type) -> None:
    X, y, _ = _smooth_data(n=10)
    with pytest.raises(ArcloopError, match=r"predict: not fitted yet; call fit\(X, y\) first"):
        cls().predict(X)
    with pytest.raises(ArcloopError, match=r"sample_y: not fitted yet"):
        cls().sample_y(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ArcloopError, match="X contains NaN"):
        cls().fit(bad, y)
    with pytest.raises(ArcloopError, match="y has 9 values but X has 10 rows"):
        cls().fit(X, y[:-1])
    with pytest.raises(ArcloopError, match="y contains NaN"):
        cls().fit(X, np.where(np.arange(10) == 2, np.inf, y))
    with pytest.raises(ArcloopError, match="X must be 2-D"):
        cls().fit(X[:, 0], y)
    with pytest.raises(ArcloopError, match="X needs at least 2 rows"):
        cls().fit(X[:1], y[:1])
    model = cls().fit(X, y)
    with pytest.raises(ArcloopError, match="X has 3 columns but the model was fitted on 4"):
        model.predict(X[:, :3])
    bad_candidates = X.copy()
    bad_candidates[0, 0] = np.inf
    with pytest.raises(ArcloopError, match="predict: X contains NaN or infinite"):
        model.predict(bad_candidates)
