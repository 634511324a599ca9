"""The tamper corpus: every file of a finished campaign's state folder and of a model-cache entry,
truncated, replaced by garbage, emptied, replaced by a pickle whose loading would run code, and
``LATEST`` pointed outside the folder. ``arcloop resume`` must answer each with one line or a
correct resume: no traceback, and the planted code never runs.

The campaign is real (pool, GP surrogate, lookup oracle, 2 iterations of 6) and made once per module.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from arcloop.cli import main
from arcloop.models.cache import cache_dir, fit_cached
from arcloop.models.ssvae import SSVAE

MARKER_ENV = "ARCLOOP_TAMPER_MARKER"


class Planted:
    """Unpickling this creates the file named in $ARCLOOP_TAMPER_MARKER: proof that code ran."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (os.environ[MARKER_ENV],))  # type: ignore[return-value]


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(len(path.name)).bytes(max(64, path.stat().st_size)))


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def pickled(path: Path) -> None:
    path.write_bytes(pickle.dumps(Planted()))


def pickle_in_npz(path: Path) -> None:
    """For .npz files: a valid archive whose array is an object array (loading it unpickles)."""
    with path.open("wb") as handle:
        np.savez(handle, values=np.array([Planted()], dtype=object))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated": truncated,
    "garbage": garbage,
    "empty": emptied,
    "pickle": pickled,
}

CONFIG = {
    "seed": 5,
    "iterations": 2,
    "batch_size": 6,
    "model": {"max_epochs": 40, "warm_max_epochs": 3},
    "candidates": {"source": "pool"},
    "surrogate": {"name": "gp", "params": {"n_inducing": 16, "n_steps": 60, "warm_steps": 20, "n_draws": 16}},
    "policy": {"name": "greedy"},
    "oracle": {"name": "lookup"},
    "scenario": {"kind": "random", "n_initial": 40},
    "target": {"min_elements": 5},
    "tracking": {"experiment": "tamper"},
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Path]:
    """A finished campaign's state folder (and its MLflow store beside it)."""
    root = tmp_path_factory.mktemp("tamper")
    config = {
        **CONFIG,
        "tracking": {**CONFIG["tracking"], "uri": f"sqlite:///{root / 'mlruns.db'}"},
        "state_dir": str(root / "state"),
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["campaign", "--config", str(root / "config.yaml")]) == 0
    yield root / "state"


def state_files(folder: Path) -> list[str]:
    """Every file a resume may read: all of the folder but the checkpoint before the last (kept as a
    spare, never read) and the oracle journal (written, never read)."""
    latest = (folder / "LATEST").read_text().strip()
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file()
        and (path.parent.parent.name != "checkpoints" or path.parent.name == latest)
        and path.name != "oracle_calls.jsonl"
    )


EXPECTED_FILES = [
    "LATEST",
    "checkpoints/LATEST/arrays.npz",
    "checkpoints/LATEST/model.pt",
    "checkpoints/LATEST/state.json",
    "checkpoints/LATEST/surrogate.npz",
    "config.yaml",
    "logged_step",
    "logs/history.jsonl",
    "logs/metrics.jsonl",
    "run.json",
]


def tampered_copy(finished: Path, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A copy of the finished folder (config.yaml pointing at the copy) and the file ``name`` in it."""
    folder = tmp_path / "state"
    shutil.copytree(finished, folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["state_dir"] = str(folder)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    latest = (folder / "LATEST").read_text().strip()
    return folder, folder / name.replace("checkpoints/LATEST/", f"checkpoints/{latest}/")


def resume_answers_in_one_line(folder: Path, capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``arcloop resume`` in-process: its status and stderr; fails on a traceback or a stray error."""
    capfd.readouterr()
    status = main(["resume", str(folder)])
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-2000:]
    assert status in (0, 2), err[-2000:]
    if status == 2:
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and len(errors[0]) < 600, err[-2000:]
    return status, err


def test_the_corpus_covers_every_file_a_resume_reads(finished: Path) -> None:
    latest = (finished / "LATEST").read_text().strip()
    assert [name.replace(latest, "LATEST") for name in state_files(finished)] == EXPECTED_FILES


CASES = [pytest.param(name, damage, id=f"{name}-{damage}") for name in EXPECTED_FILES for damage in DAMAGES]


@pytest.mark.parametrize(("name", "damage"), CASES)
def test_a_damaged_state_file_is_one_line_and_runs_no_code(
    finished: Path,
    tmp_path: Path,
    name: str,
    damage: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    marker = tmp_path / "planted-code-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    folder, target = tampered_copy(finished, tmp_path, name)
    if damage == "pickle" and target.suffix == ".npz":
        pickle_in_npz(target)
    else:
        DAMAGES[damage](target)
    status, err = resume_answers_in_one_line(folder, capfd)
    assert not marker.exists()
    # Nothing here is harmless: each file is one the resume needs, so each damage is refused and
    # the line names the file (config.yaml's own errors name its field or line).
    assert status == 2
    assert target.name in err or name == "config.yaml", err


@pytest.mark.parametrize(
    "edit",
    [
        {"iteration": "1"},
        {"iteration": -1},
        {"iteration": 10**6},
        {"fingerprint": 5},
        {"oracle_calls": 1.5},
        {"mlflow_run_id": ["x"]},
        {"vendi_bandwidth": "wide"},
        {"iteration": True},
    ],
    ids=str,
)
def test_a_state_json_with_values_of_the_wrong_kind_is_one_line(
    finished: Path, tmp_path: Path, edit: dict, capfd: pytest.CaptureFixture[str], prefect_harness: None
) -> None:
    """Well-formed JSON, hand-edited: each value of the wrong type or out of range is refused by name."""
    folder, target = tampered_copy(finished, tmp_path, "checkpoints/LATEST/state.json")
    target.write_text(json.dumps(json.loads(target.read_text()) | edit))
    status, err = resume_answers_in_one_line(folder, capfd)
    assert status == 2 and "state.json" in err and next(iter(edit)) in err, err


@pytest.mark.parametrize("pointer", ["../../../../etc", "/etc", "iter-99999", "checkpoints/iter-00002"])
def test_latest_never_leads_outside_the_state_folder(
    finished: Path, tmp_path: Path, pointer: str, capfd: pytest.CaptureFixture[str]
) -> None:
    folder, latest = tampered_copy(finished, tmp_path, "LATEST")
    latest.write_text(pointer)
    status, err = resume_answers_in_one_line(folder, capfd)
    assert status == 2 and "LATEST" in err


def test_a_damaged_cache_entry_is_dropped_said_once_and_refitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each file of a cache entry, damaged each way: the next fit drops it, says so in one line, fits
    again to the same model as the first (bit for bit), and stores it; no planted code runs."""
    monkeypatch.setenv("ARCLOOP_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "planted-code-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(30), size=24)
    y = np.arange(24) % 2
    settings = {"max_epochs": 3, "random_state": 0, "hidden": (16,)}
    reference = fit_cached(settings, X[:12], y[:12], X[12:])
    (entry,) = list(cache_dir().iterdir())
    weights = reference.net_.state_dict()
    for name in ("model.pt", "history.json"):
        for damage, spoil in DAMAGES.items():
            spoil(entry / name)
            capfd.readouterr()
            again = fit_cached(settings, X[:12], y[:12], X[12:])
            said = capfd.readouterr().err
            assert said.count("dropped the damaged entry") == 1, (name, damage, said)
            assert all(np.array_equal(weights[k], v) for k, v in again.net_.state_dict().items())
            assert isinstance(SSVAE.load(entry / "model.pt"), SSVAE)  # stored again, whole
            assert json.loads((entry / "history.json").read_text()) == again.history_
    assert not marker.exists()


def test_a_folder_from_an_earlier_arcloop_is_named_as_such(
    finished: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A state folder whose config.yaml lacks a setting added since (``model.refit``) is refused in
    one line saying so, not as "a different config" the user never wrote."""
    folder, path = tampered_copy(finished, tmp_path, "config.yaml")
    config = yaml.safe_load(path.read_text())
    del config["model"]["refit"]
    path.write_text(yaml.safe_dump(config))
    # the fingerprint an earlier arcloop wrote: a hash of a config without the setting
    (state_json,) = folder.glob("checkpoints/iter-00002/state.json")
    state = json.loads(state_json.read_text())
    state["fingerprint"] = "0123456789abcdef"
    state_json.write_text(json.dumps(state))
    status, err = resume_answers_in_one_line(folder, capfd)
    assert status == 2
    assert "written by an earlier arcloop" in err and "model.refit" in err, err


def test_differences_from_names_added_and_changed_settings(finished: Path) -> None:
    from arcloop.config import CampaignConfig, validated

    saved = yaml.safe_load((finished / "config.yaml").read_text())
    config = validated(CampaignConfig, saved)
    assert config.differences_from(saved) == ""
    changed = validated(CampaignConfig, {**saved, "seed": 6, "iterations": 9})
    assert changed.differences_from(saved) == "settings differ: seed was 5, now 6"  # iterations: not history
    older = {**saved, "model": {k: v for k, v in saved["model"].items() if k != "refit"}}
    assert "without the setting(s) model.refit" in config.differences_from(older)


def test_a_refused_command_keeps_the_config_of_a_campaign_killed_early(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A folder holding only config.yaml (its campaign was killed before its first checkpoint): a new
    command into it that is refused later (here: the store cannot be reached) leaves that file as it
    was, so ``arcloop resume`` still continues the killed campaign."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "config.yaml").write_text("seed: 1\n")
    unreachable = "sqlite:////nonexistent-arcloop-folder/mlruns.db"
    assert main(["campaign", "--state-dir", str(state), "--seed", "2", "--tracking-uri", unreachable]) == 2
    assert "does not exist" in capfd.readouterr().err
    assert (state / "config.yaml").read_text() == "seed: 1\n"
