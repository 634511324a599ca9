"""Inverse design with the SSVAE: screening, generation, the flip loop, and ``arcloop design flip``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arcloop.cli import main
from arcloop.errors import ArcloopError
from arcloop.materials import parse_formula
from arcloop.models import SSVAE
from arcloop.models.design import clean_compositions, flip, generate, screen
from arcloop.models.evaluation import distinct_alloys, paper_split

START = "Fe14Ni16Cr22Co14Al22Cu8"


@pytest.fixture(scope="module")
def model() -> SSVAE:
    X, y = distinct_alloys()
    split = paper_split(1)
    return SSVAE(max_epochs=150, random_state=1).fit(
        X[split.labelled], y[split.labelled], X[split.unlabelled]
    )


@pytest.fixture(scope="module")
def model_file(model: SSVAE, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model.save(tmp_path_factory.mktemp("design") / "model.pt")


def test_screen_ranks_by_probability(model: SSVAE) -> None:
    X, _ = distinct_alloys()
    chosen, p = screen(model, X[:200], cutoff=0.7)
    np.testing.assert_array_equal(p, model.predict_proba(X[:200])[:, 1])
    assert set(chosen) == set(np.flatnonzero(p >= 0.7))
    assert np.all(np.diff(p[chosen]) <= 0)
    with pytest.raises(ArcloopError, match="cutoff"):
        screen(model, X[:5], cutoff=1.5)


def test_generate_decodes_cleans_and_rechecks(model: SSVAE) -> None:
    Z = np.random.default_rng(0).normal(size=(64, 2))
    single = generate(model, Z, p_single=1.0)
    assert single.compositions.shape == (64, 30)
    np.testing.assert_allclose(single.compositions.sum(axis=1), 1.0, atol=1e-12)
    assert ((single.compositions == 0) | (single.compositions >= 0.05)).all()
    np.testing.assert_array_equal(single.p_single, model.predict_proba(single.compositions)[:, 1])
    # the decoder's phase input matters: asking for single phase gives more single-phase candidates
    multi = generate(model, Z, p_single=0.0)
    assert single.p_single.mean() > multi.p_single.mean()


def test_clean_compositions_keeps_the_simplex() -> None:
    X = np.full((2, 30), 1 / 30)
    X[1] = np.r_[0.9, np.full(29, 0.1 / 29)]
    cleaned = clean_compositions(X, min_fraction=0.01)
    np.testing.assert_allclose(cleaned[0], X[0])
    assert cleaned[1, 0] == 1.0
    # a threshold above every fraction keeps the largest one(s)
    np.testing.assert_allclose(clean_compositions(X, min_fraction=0.5)[1], np.eye(30)[0])
    with pytest.raises(ArcloopError, match="min_fraction"):
        clean_compositions(X, min_fraction=1.0)


def test_flip_trajectory(model: SSVAE) -> None:
    trajectory = flip(model, START, cutoff=0.6, max_steps=8)
    assert trajectory[0].step == 0 and trajectory[0].formula == START
    np.testing.assert_allclose(trajectory[0].composition, parse_formula(START))
    assert [s.step for s in trajectory] == list(range(len(trajectory)))
    assert len(trajectory) >= 2  # START is below the cutoff: at least one flip
    for s in trajectory:
        assert s.p_single == pytest.approx(float(model.predict_positive(s.composition[None])[0]))
        assert s.z.shape == (2,)
    for s in trajectory[1:]:  # designed compositions: integer atomic percent, principal elements only
        assert np.allclose(s.composition * 100, np.round(s.composition * 100))
        assert s.composition[s.composition > 0].min() >= 0.05 - 0.005
        np.testing.assert_allclose(s.composition, parse_formula(s.formula))
    # it stops as soon as the cutoff is reached, and only then (or at the step limit)
    reached = [s.p_single >= 0.6 for s in trajectory]
    assert not any(reached[:-1])
    assert reached[-1] or len(trajectory) == 9
    assert flip(model, START, cutoff=0.0)[-1].step == 0  # already there
    assert flip(model, START, cutoff=1.0, max_steps=2)[-1].step == 2
    # each step depends on the current composition only: restarting from step 1 continues the same path
    restarted = flip(model, trajectory[1].formula, cutoff=0.6, max_steps=7)
    assert [s.formula for s in restarted] == [s.formula for s in trajectory[1:]]


def test_flip_rejects_bad_input(model: SSVAE) -> None:
    with pytest.raises(ArcloopError, match="not in arcloop's 30-element basis"):
        flip(model, "Fe50Th50")
    with pytest.raises(ArcloopError, match="unknown element"):
        flip(model, "Fe50Xx50")
    with pytest.raises(ArcloopError, match="target"):
        flip(model, START, target=2)
    with pytest.raises(ArcloopError, match="max_steps"):
        flip(model, START, max_steps=0)
    with pytest.raises(ArcloopError, match="start"):
        flip(model, np.full(30, 0.5))


def test_design_flip_cli(model: SSVAE, model_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "flip", START, "--cutoff", "0.6", "--model", str(model_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = flip(model, START, cutoff=0.6)
    assert [s["formula"] for s in out["trajectory"]] == [s.formula for s in expected]
    assert out["trajectory"][0]["p_single"] == pytest.approx(expected[0].p_single)
    assert len(out["trajectory"][0]["z"]) == 2
    assert out["reached"] == (expected[-1].p_single >= 0.6)

    assert main(["design", "flip", START, "--model", str(model_file)]) == 0
    table = capsys.readouterr().out
    assert START in table and "cutoff 0.6" in table


def test_design_flip_cli_errors(model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "flip", "Fe50Qq50", "--model", str(model_file)]) == 2
    assert "unknown element symbol 'Qq'" in capsys.readouterr().err
    assert main(["design", "flip", START, "--model", str(tmp_path / "none.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: path: no model file")
