"""The SSVAE: training, determinism, warm start, persistence, the scikit-learn estimator surface,
uncertainty, input errors, evaluation, CLI."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer, roc_auc_score

from arcloop.cli import main
from arcloop.errors import ArcloopError
from arcloop.models import SSVAE
from arcloop.models.evaluation import classification_scores, distinct_alloys, evaluate, paper_split

SMALL = {"max_epochs": 40, "warm_max_epochs": 10}


@pytest.fixture(scope="module")
def alloys() -> tuple[np.ndarray, np.ndarray]:
    return distinct_alloys()


@pytest.fixture(scope="module")
def small_data(alloys: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """300 labelled and 300 unlabelled alloys, a random subset of the dataset."""
    X, y = alloys
    order = np.random.default_rng(0).permutation(len(X))
    return {"X_l": X[order[:300]], "y": y[order[:300]], "X_u": X[order[300:600]]}


@pytest.fixture(scope="module")
def trained(alloys: tuple[np.ndarray, np.ndarray]) -> tuple[SSVAE, dict[str, float]]:
    """A model trained on split seed 0 of the paper's protocol, fewer epochs than the default."""
    X, y = alloys
    split = paper_split(0)
    model = SSVAE(max_epochs=250, patience=100, random_state=0)
    model.fit(
        X[split.labelled], y[split.labelled], X[split.unlabelled], X[split.validation], y[split.validation]
    )
    p = model.predict_positive(X[split.test])
    accuracy, auc = classification_scores(p, y[split.test])
    return model, {"test_accuracy": accuracy, "test_auc": auc}


def _state(model: SSVAE) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.net_.state_dict().items()}


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- training quality -------------------------------------------------------------------------------------
def test_one_seed_of_the_paper_protocol_learns_the_phase(trained: tuple[SSVAE, dict[str, float]]) -> None:
    model, scores = trained
    assert scores["test_auc"] > 0.8
    assert scores["test_accuracy"] > 0.72
    history = model.history_
    assert history["n_epochs"] == len(history["elbo"]) == len(history["val_accuracy"])
    assert 0 <= history["best_epoch"] < history["n_epochs"]
    # The ELBO per alloy (N = 100 atom counts) rises from ≈ −201 nats (mean of the first 10 epochs;
    # measured, seed 0) to ≈ −98 (last 10), a gain of ≈ 103. Half of it, 50, is the bound: a fit whose
    # encoder and decoder do not learn (only the heads trained) gains almost nothing.
    first, last = np.mean(history["elbo"][:10]), np.mean(history["elbo"][-10:])
    assert last > first + 50
    # elbo_ is the fitted model's ELBO on the same data (−96.5 measured, 8 fresh particles): within a few
    # nats of the last epochs' single-sample estimates; a per-batch sum instead of a per-alloy mean is
    # ×1,160 away, an untrained model (1 epoch) ≈ −213.
    assert abs(model.elbo_ - last) < 5


def test_head_reads_descriptors_only(trained: tuple[SSVAE, dict[str, float]]) -> None:
    """predict_proba is the heads' mean on descriptor_matrix(X): the composition reaches the head only
    through the 8 descriptors."""
    from arcloop.materials import descriptor_matrix

    model, _ = trained
    X, _ = distinct_alloys()
    features = torch.as_tensor(descriptor_matrix(X[:50]), dtype=torch.float32)
    with torch.no_grad():
        direct = torch.sigmoid(model.net_.head_logits(features)).mean(0).double().numpy()
    np.testing.assert_allclose(model.predict_positive(X[:50]), direct, rtol=0, atol=1e-7)


# --- determinism, warm start, persistence -----------------------------------------------------------------
def test_same_seed_same_weights_and_predictions(small_data: dict[str, np.ndarray]) -> None:
    a = SSVAE(random_state=3, **SMALL).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    b = SSVAE(random_state=3, **SMALL).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    c = SSVAE(random_state=4, **SMALL).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    assert _same_state(_state(a), _state(b))
    assert not _same_state(_state(a), _state(c))
    X = small_data["X_u"]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.encode(X), b.encode(X))
    np.testing.assert_array_equal(a.predict_proba_samples(X, 32), b.predict_proba_samples(X, 32))
    assert a.history_["elbo"] == b.history_["elbo"]


def test_fit_leaves_global_rng_and_threads_alone(small_data: dict[str, np.ndarray]) -> None:
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    SSVAE(random_state=0, max_epochs=3).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_warm_start_continues_and_resumes_bit_identically_after_load(
    small_data: dict[str, np.ndarray], tmp_path: Path
) -> None:
    X_l, y, X_u = small_data["X_l"], small_data["y"], small_data["X_u"]
    model = SSVAE(random_state=1, warm_start=True, **SMALL).fit(X_l[:200], y[:200], X_u)
    cold_state = _state(model)
    scaler = model.net_.feature_mean.clone()
    path = model.save(tmp_path / "model.pt")
    resumed = SSVAE.load(path)

    for m in (model, resumed):  # the loop: new random_state, more labels, warm refit
        m.set_params(random_state=77).fit(X_l, y, X_u)
    assert model.history_["warm"] and model.history_["n_epochs"] == SMALL["warm_max_epochs"]
    assert not _same_state(cold_state, _state(model))
    assert torch.equal(model.net_.feature_mean, scaler)  # the scaler is frozen after the first fit
    assert _same_state(_state(model), _state(resumed))
    np.testing.assert_array_equal(model.predict_proba(X_u), resumed.predict_proba(X_u))

    # warm_start=False starts again from random_state: same as a fresh model with that random_state
    fresh = SSVAE(random_state=77, **SMALL).fit(X_l, y, X_u)
    cold_again = SSVAE(random_state=5, **SMALL).fit(X_l, y, X_u)
    cold_again.set_params(random_state=77).fit(X_l, y, X_u)
    assert _same_state(_state(fresh), _state(cold_again))


def test_save_load_round_trip_is_exact(trained: tuple[SSVAE, dict[str, float]], tmp_path: Path) -> None:
    model, _ = trained
    loaded = SSVAE.load(model.save(tmp_path / "sub" / "m.pt"))
    X, _ = distinct_alloys()
    Z = np.random.default_rng(0).normal(size=(20, 2))
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict_proba_samples(X, 7), model.predict_proba_samples(X, 7))
    np.testing.assert_array_equal(loaded.encode(X), model.encode(X))
    np.testing.assert_array_equal(loaded.decode(Z, 0.3), model.decode(Z, 0.3))
    assert loaded.latent_health(X[:100]) == model.latent_health(X[:100])


def test_load_reads_files_written_with_the_old_seed_parameter(small_data: dict, tmp_path: Path) -> None:
    """Checkpoints and cached models written before ``seed`` was renamed ``random_state`` still load."""
    model = SSVAE(random_state=6, max_epochs=2).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    payload = torch.load(model.save(tmp_path / "new.pt"), weights_only=True)
    payload["config"]["seed"] = payload["config"].pop("random_state")
    torch.save(payload, tmp_path / "old.pt")
    old = SSVAE.load(tmp_path / "old.pt")
    assert old.get_params() == model.get_params()
    X = small_data["X_u"][:20]
    np.testing.assert_array_equal(old.predict_proba_samples(X, 7), model.predict_proba_samples(X, 7))


# --- the scikit-learn estimator surface -------------------------------------------------------------------
NON_DEFAULT: dict[str, Any] = {
    "latent_dim": 3,
    "hidden": [16, 8],  # a list: clone fails if __init__ stores a converted copy (e.g. tuple(hidden))
    "n_heads": 3,
    "distance_aware": True,
    "trust_length": 2.5,
    "prior_single": 0.4,
    "prior_spread": 1.5,
    "total_count": 50,
    "aux_weight": 100.0,
    "learning_rate": 1e-3,
    "warm_learning_rate": 1e-4,
    "max_epochs": 7,
    "warm_max_epochs": 3,
    "patience": None,
    "lr_patience": 11,
    "lr_factor": 0.25,
    "bootstrap": True,
    "objective": "supervised",
    "warm_start": True,
    "random_state": 12,
    "n_threads": None,
}


def test_get_params_and_clone_round_trip_every_constructor_argument() -> None:
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(SSVAE.__init__).parameters.items()
        if name != "self"
    }
    assert set(NON_DEFAULT) == set(defaults)
    assert all(NON_DEFAULT[name] != defaults[name] for name in defaults)  # each one is really set
    model = SSVAE(**NON_DEFAULT)
    params = model.get_params(deep=True)
    assert set(params) == set(defaults)
    # scikit-learn's rule: get_params gives back the very objects passed in
    assert all(params[name] is NON_DEFAULT[name] for name in defaults)
    copy = clone(model)
    assert type(copy) is SSVAE and copy is not model and not copy.is_fitted
    assert copy.get_params() == NON_DEFAULT
    assert is_classifier(model)
    assert SSVAE(**{**NON_DEFAULT, "hidden": (16, 8)}).get_config() == {**NON_DEFAULT, "hidden": [16, 8]}
    # set_params sets each one and returns the estimator; a misspelt or old name is refused
    other = SSVAE()
    assert other.set_params(**NON_DEFAULT) is other and other.get_params() == NON_DEFAULT
    with pytest.raises(ValueError, match="seed"):
        other.set_params(seed=1)


def test_set_params_decides_the_fit_and_clone_forgets_it(small_data: dict[str, np.ndarray]) -> None:
    data = small_data["X_l"], small_data["y"], small_data["X_u"]
    X = small_data["X_u"][:100]
    base = SSVAE(max_epochs=10, hidden=(16, 16), random_state=3)
    first = clone(base).fit(*data)
    other = clone(base).set_params(random_state=4).fit(*data)
    back = clone(other).set_params(random_state=3).fit(*data)
    assert not np.array_equal(other.predict_proba(X), first.predict_proba(X))
    np.testing.assert_array_equal(back.predict_proba(X), first.predict_proba(X))
    assert _same_state(_state(back), _state(first))
    # another hyper-parameter set after construction reaches the fit too
    assert clone(base).set_params(max_epochs=4).fit(*data).history_["n_epochs"] == 4
    assert not clone(first).is_fitted  # clone copies parameters, never weights


def test_predict_proba_has_two_columns_in_classes_order(trained: tuple[SSVAE, dict[str, float]]) -> None:
    model, _ = trained
    X, y = distinct_alloys()
    proba = model.predict_proba(X)
    positive = model.predict_positive(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_array_equal(model.classes_, [0, 1])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(proba[:, 1], positive)
    # the positive column is the heads' mean, by the other road (predict_proba_heads)
    np.testing.assert_allclose(positive, model.predict_proba_heads(X).mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(model.predict(X), (proba[:, 1] >= 0.5).astype(np.int64))
    # scikit-learn's own tools read the columns through classes_: they must see P(single phase) there
    assert get_scorer("roc_auc")(model, X, y) == roc_auc_score(y, positive)
    assert model.score(X, y) == float((model.predict(X) == y).mean())


class _NotAModel:
    pass


def test_load_never_unpickles_arbitrary_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "arcloop.ssvae/1", "config": _NotAModel()}, path)
    with pytest.raises(ArcloopError, match="not a readable arcloop model"):
        SSVAE.load(path)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ArcloopError, match="not an arcloop SSVAE file"):
        SSVAE.load(tmp_path / "other.pt")
    with pytest.raises(ArcloopError, match="no model file"):
        SSVAE.load(tmp_path / "missing.pt")


# --- encode / decode / predict ----------------------------------------------------------------------------
def test_shapes_and_ranges(trained: tuple[SSVAE, dict[str, float]]) -> None:
    model, _ = trained
    X, _ = distinct_alloys()
    Z = model.encode(X)
    assert Z.shape == (len(X), 2) and Z.dtype == np.float64 and np.isfinite(Z).all()
    # the mixture mean lies between the two conditional means
    Z0, Z1 = model.encode(X, y=0), model.encode(X, y=np.ones(len(X)))
    assert np.all(np.minimum(Z0, Z1) - 1e-9 <= Z) and np.all(np.maximum(Z0, Z1) + 1e-9 >= Z)
    p_single = np.linspace(0, 1, len(X))
    decoded = model.decode(Z, p_single=p_single)
    assert decoded.shape == (len(X), 30) and (decoded >= 0).all()
    np.testing.assert_allclose(decoded.sum(axis=1), 1.0, atol=1e-12)
    p = model.predict_positive(X)
    assert p.shape == (len(X),) and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_array_equal(model.predict(X), (p >= 0.5).astype(np.int64))
    samples = model.predict_proba_samples(X, n_samples=3 * model.n_heads)
    assert samples.shape == (3 * model.n_heads, len(X))
    # whole cycles over the heads average to the ensemble mean
    np.testing.assert_allclose(samples.mean(axis=0), p, atol=1e-12)


def test_decoder_reconstructs_training_alloys(trained: tuple[SSVAE, dict[str, float]]) -> None:
    """Reconstruction error of real alloys is far below that of a shuffled pairing of codes and alloys."""
    model, _ = trained
    X, y = distinct_alloys()
    reconstructed = model.decode(model.encode(X, y=y), p_single=y.astype(float))
    error = np.abs(reconstructed - X).sum(axis=1).mean()
    shuffled = np.abs(reconstructed - X[np.random.default_rng(0).permutation(len(X))]).sum(axis=1).mean()
    assert error < 0.7 * shuffled


# Far-field uncertainty of the heads (plain, and with distance_aware=True): tests/test_surrogates.py


def test_latent_health(trained: tuple[SSVAE, dict[str, float]]) -> None:
    model, _ = trained
    X, _ = distinct_alloys()
    health = model.latent_health(X)
    assert set(health) >= {"active_units", "kl_dim_0", "kl_dim_1", "kl_total", "elbo", "train_elbo"}
    assert all(isinstance(v, float) for v in health.values())
    # mean_var_dim_j is the variance over X of the posterior mean: what encode(X) returns, by another road
    variances = np.array([health["mean_var_dim_0"], health["mean_var_dim_1"]])
    np.testing.assert_allclose(variances, model.encode(X).var(axis=0), rtol=1e-12)
    assert health["active_units"] == float((variances > 0.01).sum())
    # Both dimensions are in use. Measured (seed 0): variances 2.6 and 1.5, KL 3.0 and 2.4 nats; a
    # collapsed latent (the model after 1 epoch) has variances ≈ 3e-5 and KL 0.23 and 0.14. The bounds,
    # 0.1 and 1 nat, sit well between the two.
    assert health["active_units"] == 2.0 and (variances > 0.1).all()
    assert health["kl_dim_0"] > 1.0 and health["kl_dim_1"] > 1.0
    assert health["kl_total"] == pytest.approx(health["kl_dim_0"] + health["kl_dim_1"])
    # The ELBO of all 1,373 alloys is per alloy, like the training one: −96.9 vs −96.5 measured, well
    # within 5 nats (another likelihood scale, e.g. N = 1 atom count, or a sum over alloys is far off).
    assert abs(health["elbo"] - health["train_elbo"]) < 5


def test_supervised_objective_trains_only_the_heads(small_data: dict[str, np.ndarray]) -> None:
    semi = SSVAE(random_state=2, max_epochs=2).fit(small_data["X_l"], small_data["y"], small_data["X_u"])
    sup = SSVAE(random_state=2, max_epochs=20, objective="supervised").fit(
        small_data["X_l"], small_data["y"], small_data["X_u"]
    )
    init = SSVAE(random_state=2, max_epochs=1, objective="supervised").fit(small_data["X_l"], small_data["y"])
    for name in ("encoder", "decoder"):
        for a, b in zip(
            getattr(sup.net_, name).parameters(), getattr(init.net_, name).parameters(), strict=True
        ):
            assert torch.equal(a, b)
    assert not torch.equal(semi.net_.encoder[0].weight, init.net_.encoder[0].weight)


# --- errors -----------------------------------------------------------------------------------------------
def test_bad_inputs_raise_one_line_errors(trained: tuple[SSVAE, dict[str, float]], small_data: dict) -> None:
    model, _ = trained
    X_l, y = small_data["X_l"], small_data["y"]
    nan = X_l.copy()
    nan[3, 0] = np.nan
    cases = [
        (lambda: model.predict_proba(X_l[:, :29]), "expected shape"),
        (lambda: model.predict_proba(nan), "NaN"),
        (lambda: model.predict_proba(X_l * 1.1), "normalise rows"),
        (lambda: model.encode(X_l, y=np.full(len(X_l), 2.0)), "values in"),
        (lambda: model.decode(np.zeros((3, 3))), "expected shape"),
        (lambda: model.decode(np.zeros((3, 2)), p_single=1.5), "p_single"),
        (lambda: model.predict_proba_samples(X_l, n_samples=0), "n_samples"),
        (lambda: SSVAE(max_epochs=1).fit(X_l, y[:-1]), "y: expected shape"),
        (lambda: SSVAE(max_epochs=1).fit(X_l, np.full(len(X_l), 3)), "labels must be 0"),
        (lambda: SSVAE(max_epochs=1).fit(X_l, y, X_val=X_l), "give both"),
        (lambda: SSVAE(max_epochs=1).fit(X_l[:0], y[:0]), "no labelled"),
        (lambda: SSVAE(max_epochs=1).fit(X_l, y, nan), "X_unlabelled: row 3"),
        (lambda: SSVAE().predict_proba(X_l), "not fitted"),
        (lambda: SSVAE(latent_dim=0), "latent_dim"),
        (lambda: SSVAE(prior_single=1.0), "prior_single"),
        (lambda: SSVAE(objective="unsupervised"), "objective"),
        (lambda: SSVAE(random_state=-1), "random_state"),
        (lambda: SSVAE(hidden=100), "hidden"),
        # set_params does not check (scikit-learn's convention); fit does
        (lambda: SSVAE(max_epochs=1).set_params(random_state=-1).fit(X_l, y), "random_state"),
        (lambda: SSVAE(max_epochs=1).set_params(lr_factor=2.0).fit(X_l, y), "lr_factor"),
    ]
    for call, message in cases:
        with pytest.raises(ArcloopError, match=message) as error:
            call()
        assert "\n" not in str(error.value)


# --- evaluation protocol and CLI --------------------------------------------------------------------------
def test_paper_split_sizes_and_disjointness() -> None:
    split = paper_split(0)
    parts = [split.labelled, split.unlabelled, split.validation, split.test]
    assert [len(p) for p in parts] == [864, 296, 75, 138]
    assert len(np.unique(np.concatenate(parts))) == 1373
    small = paper_split(0, n_labelled=247)
    assert len(small.labelled) == 247 and len(small.unlabelled) == 296 + 864 - 247
    assert set(small.labelled) <= set(split.labelled)
    np.testing.assert_array_equal(small.test, split.test)
    assert not np.array_equal(paper_split(1).test, split.test)
    with pytest.raises(ArcloopError, match="labelled"):
        paper_split(0, n_labelled=900)


def test_model_evaluate_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["model", "evaluate", "--seeds", "0", "--labelled", "247", "--max-epochs", "15", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    # Measured (split seed 0, 247 labelled, 15 epochs): test accuracy 0.86 for both models, ROC AUC 0.92.
    # The test set is 49 % single phase, so one class everywhere scores ≤ 0.51 and chance AUC is 0.5;
    # reading the wrong column of predict_proba scores ≈ 0.14. Bounds 0.7 and 0.8 leave room for a
    # different platform's arithmetic.
    assert out["test_accuracy_mean"] > 0.7 and out["supervised_test_accuracy_mean"] > 0.7
    assert out["test_auc_mean"] > 0.8
    assert 0 < out["seconds_per_fit_median"] < 60
    assert out["per_seed"][0]["n_labelled"] == 247 and out["seeds"] == [0]


def test_model_evaluate_cli_table_and_bad_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "evaluate", "--seeds", "2", "--max-epochs", "5", "--no-supervised"]) == 0
    out = capsys.readouterr().out
    assert "864 labelled, 296 unlabelled, 75 validation, 138 test" in out and "SSVAE mean ± std" in out
    assert main(["model", "evaluate", "--seeds", "4-0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --seeds") and err.count("\n") == 1


def test_model_train_cli_writes_a_loadable_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.pt"
    assert main(["model", "train", "--out", str(path), "--seed", "3", "--max-epochs", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == str(path)
    model = SSVAE.load(path)
    assert model.random_state == 3 and model.max_epochs == 5
    X, y = distinct_alloys()
    test = paper_split(3).test
    assert classification_scores(model.predict_positive(X[test]), y[test])[0] == out["test_accuracy"]


def test_evaluate_summary_statistics() -> None:
    summary = evaluate([0, 1], model_kwargs={"max_epochs": 5}, supervised=False)
    a, b = (row["test_accuracy"] for row in summary["per_seed"])
    assert a != b  # (0.862 and 0.775 measured) else any ddof, or none, gives the same std of 0
    # two values: mean (a + b) / 2, population std |a − b| / 2 (ddof 1 would give |a − b| / √2)
    assert summary["test_accuracy_mean"] == pytest.approx((a + b) / 2, rel=1e-12)
    assert summary["test_accuracy_std"] == pytest.approx(abs(a - b) / 2, rel=1e-12)
    assert "supervised_test_accuracy_mean" not in summary


@pytest.mark.slow
def test_paper_figures_over_five_seeds() -> None:
    """The issue's acceptance figures: mean test accuracy ≥ 0.83, ROC AUC ≥ 0.89 over split seeds 0–4;
    with 247 labelled alloys the SSVAE's mean test accuracy is at least the supervised-only head's."""
    full = evaluate([0, 1, 2, 3, 4], supervised=False)
    assert full["test_accuracy_mean"] >= 0.83
    assert full["test_auc_mean"] >= 0.89
    few = evaluate([0, 1, 2, 3, 4], n_labelled=247)
    assert few["test_accuracy_mean"] >= few["supervised_test_accuracy_mean"]


def test_chunked_encode_decode_and_heads_equal_one_forward_pass(
    trained: tuple[SSVAE, dict[str, float]], alloys: tuple[np.ndarray, np.ndarray], monkeypatch
) -> None:
    """Predicting in chunks bounds memory; it must not change a row's value (rows are independent)."""
    import arcloop.models.ssvae as ssvae_module

    model, _ = trained
    X = alloys[0][:53]
    Z = np.random.default_rng(3).normal(size=(53, model.latent_dim))
    phases = np.linspace(0, 1, 53)
    monkeypatch.setattr(ssvae_module, "PREDICT_CHUNK", 10**9)
    whole = model.encode(X), model.encode(X, y=1), model.decode(Z, phases), model.predict_proba_heads(X)
    monkeypatch.setattr(ssvae_module, "PREDICT_CHUNK", 7)  # 53 rows = 7 full chunks + 4
    chunked = model.encode(X), model.encode(X, y=1), model.decode(Z, phases), model.predict_proba_heads(X)
    for one, many in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(many, one, rtol=0, atol=1e-6)
