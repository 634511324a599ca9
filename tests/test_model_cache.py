"""The on-disk model cache: a hit gives the fitted model to the bit, any change to the key is a miss."""

from __future__ import annotations

import json

import numpy as np
import pytest

from arcloop.cli import main
from arcloop.models import SSVAE
from arcloop.models.cache import CACHE_ENV, cache_dir, fit_cached
from arcloop.models.evaluation import distinct_alloys

SETTINGS = {"max_epochs": 15, "hidden": (16, 16), "random_state": 4, "n_threads": 1}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "models"


@pytest.fixture(scope="module")
def data():
    X, y = distinct_alloys()
    return X[:120], y[:120], X[120:300]


def test_a_hit_is_the_fitted_model_and_a_changed_key_is_a_miss(cache, data):
    X_l, y, X_u = data
    fits: list[int] = []
    first = fit_cached(SETTINGS, X_l, y, X_u, ("t",), on_fit=lambda: fits.append(1))
    again = fit_cached(SETTINGS, X_l, y, X_u, ("t",), on_fit=lambda: fits.append(1))
    assert len(fits) == 1 and cache_dir() == cache and len(list(cache.iterdir())) == 1
    # Independent of the cache: a model fitted here, in memory, with the same settings and data.
    direct = SSVAE(**SETTINGS).fit(X_l, y, X_u)
    probe = X_u[:50]
    assert np.array_equal(first.predict_proba(probe), direct.predict_proba(probe))
    assert np.array_equal(again.encode(probe), direct.encode(probe))
    assert again.history_["loss"] == direct.history_["loss"]

    changed_y = y.copy()
    changed_y[0] = 1 - changed_y[0]
    for settings, labels, parts in (
        ({**SETTINGS, "random_state": 5}, y, ("t",)),
        (SETTINGS, changed_y, ("t",)),
        (SETTINGS, y, ("other",)),
    ):
        fit_cached(settings, X_l, labels, X_u, parts, on_fit=lambda: fits.append(1))
    assert len(fits) == 4 and len(list(cache.iterdir())) == 4
    fit_cached(SETTINGS, X_l, y, X_u, ("t",), retrain=True, on_fit=lambda: fits.append(1))
    assert len(fits) == 5 and len(list(cache.iterdir())) == 4


def test_model_train_twice_fits_once_and_retrain_fits_again(cache, tmp_path, capsys):
    argv = ["model", "train", "--max-epochs", "5", "--labelled", "100", "--json"]
    outputs = []
    for extra in ([], [], ["--retrain"]):
        out = tmp_path / f"m{len(outputs)}.pt"
        assert main([*argv, "--out", str(out), *extra]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert [o["from_cache"] for o in outputs] == [False, True, False]
    assert outputs[0]["test_auc"] == outputs[1]["test_auc"] == outputs[2]["test_auc"]
    assert outputs[0]["seconds"] == outputs[1]["seconds"] != outputs[2]["seconds"]
