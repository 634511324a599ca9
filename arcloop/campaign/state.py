"""Campaign state and its checkpoint, so that a crashed campaign resumes where it stopped.

A checkpoint is a directory ``checkpoints/iter-NNNNN`` holding ``state.json`` (scalars, and the
extent of each append-only log it vouches for), ``arrays.npz`` (every array field) and the model's
weights. List fields (history, metrics) live in ``logs/NAME.jsonl``, appended to, so that a
checkpoint's cost does not grow with the campaign's length. The folder is written under a temporary
name and renamed into place (atomic on POSIX), then the one-line ``LATEST`` pointer is replaced
atomically: a reader sees the previous complete checkpoint or the new complete one, never half of
one (log lines past the checkpoint's extent are ignored, and cut off by the next checkpoint).
Randomness is derived from (seed, iteration, purpose), so no generator state needs saving.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from arcloop.errors import ArcloopError, shortened

LATEST = "LATEST"
CHECKPOINTS = "checkpoints"
CHECKPOINT_NAME = re.compile(r"iter-\d{5}")  # what LATEST may name: a folder of checkpoints/, no path
DAMAGED_ADVICE = (
    "restore it from a backup of the state folder, or start the campaign again in a new --state-dir"
)
MODEL_FILE = "model.pt"
KEEP_CHECKPOINTS = 2


PROPOSAL_ARRAYS: tuple[str, ...] = (
    "proposed_X",
    "proposed_pool_index",
    "proposed_iteration",
    "proposed_status",
    "proposed_observed",
    "proposed_true",
    "proposed_hit",
    "proposed_discovery",
)
"""Per-proposal arrays, row for row: one row per composition the loop proposed, in proposal order."""


def no_proposals() -> dict[str, np.ndarray]:
    """The per-proposal arrays of a campaign that has proposed nothing yet."""
    return {
        "proposed_X": np.zeros((0, 30)),
        "proposed_pool_index": np.zeros(0, dtype=np.int64),
        "proposed_iteration": np.zeros(0, dtype=np.int64),
        "proposed_status": np.zeros(0, dtype="<U9"),
        "proposed_observed": np.zeros(0, dtype=np.int64),
        "proposed_true": np.zeros(0, dtype=np.int64),
        "proposed_hit": np.zeros(0, dtype=bool),
        "proposed_discovery": np.zeros(0, dtype=bool),
    }


@dataclass(frozen=True)
class CampaignState:
    """Everything the loop has learned so far. ``iteration`` is the next iteration to run.

    Two views of the same proposals: the *training set* (``labelled_*``: the initial set with its true
    labels plus every proposal whose observation came back ``ok``, with the OBSERVED label: what the
    loop was told) and the *proposal record* (``proposed_*``: every composition the loop proposed,
    whatever happened to it, with its status, the observed label, the TRUE label, and whether it was
    a hit and a discovery against truth).
    """

    fingerprint: str
    iteration: int
    labelled_X: np.ndarray  # (m, 30) compositions with a label the model may train on
    labelled_y: np.ndarray  # (m,) int64 0/1
    labelled_origin: np.ndarray  # (m,) int64: -1 for the initial set, else the iteration that labelled it
    labelled_pool_index: np.ndarray  # (m,) int64: dataset row, -1 for generated compositions
    proposed_X: np.ndarray  # (P, 30) every proposal, in order
    proposed_pool_index: np.ndarray  # (P,) int64 dataset row, -1 for generated compositions
    proposed_iteration: np.ndarray  # (P,) int64
    proposed_status: np.ndarray  # (P,) <U9: ok / failed / dropped / abstained (the observation)
    proposed_observed: np.ndarray  # (P,) int64 observed label, -1 unless status is ok
    proposed_true: np.ndarray  # (P,) int64 truth's label, -1 where truth abstains
    proposed_hit: np.ndarray  # (P,) bool: result returned and truth says target
    proposed_discovery: np.ndarray  # (P,) bool: a hit that is new (docs/design.md)
    previous_pool_z: np.ndarray  # (N, d) last iteration's encoding of the loop rows ((0, 0) before any)
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per proposal
    metrics: list[dict[str, float]] = field(default_factory=list)  # one dict per finished iteration
    vendi_bandwidth: float | None = None
    mlflow_run_id: str | None = None
    oracle_calls: int = 0

    @property
    def paid(self) -> np.ndarray:
        """(P,) bool: proposals whose experiment was paid for (every status but ``abstained``)."""
        return self.proposed_status != "abstained"

    def with_batch(
        self,
        proposals: dict[str, np.ndarray],
        pool_z: np.ndarray,
        rows: list[dict[str, Any]],
        metrics: dict[str, float],
        oracle_calls: int,
    ) -> CampaignState:
        """The state after one batch: every proposal joins the record; only ``ok`` observations join
        the training set, with their observed label."""
        ok = proposals["proposed_status"] == "ok"
        origin = np.full(int(ok.sum()), self.iteration, dtype=np.int64)
        record = {
            name: np.concatenate(
                [getattr(self, name), np.asarray(proposals[name]).astype(getattr(self, name).dtype)]
            )
            for name in PROPOSAL_ARRAYS
        }
        return replace(
            self,
            iteration=self.iteration + 1,
            labelled_X=np.concatenate([self.labelled_X, proposals["proposed_X"][ok]]),
            labelled_y=np.concatenate([self.labelled_y, proposals["proposed_observed"][ok].astype(np.int64)]),
            labelled_origin=np.concatenate([self.labelled_origin, origin]),
            labelled_pool_index=np.concatenate(
                [self.labelled_pool_index, proposals["proposed_pool_index"][ok].astype(np.int64)]
            ),
            previous_pool_z=np.asarray(pool_z, dtype=np.float64),
            history=[*self.history, *rows],
            metrics=[*self.metrics, metrics],
            oracle_calls=oracle_calls,
            **record,
        )


LOGS = "logs"


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _split_fields(state: CampaignState) -> tuple[dict[str, np.ndarray], dict[str, list], dict[str, Any]]:
    """Every field by its value's kind: numpy arrays, lists of records, and the JSON scalars.

    Discovered from the dataclass, so that a field added to :class:`CampaignState` later is
    checkpointed with no edit here.
    """
    arrays: dict[str, np.ndarray] = {}
    logs: dict[str, list] = {}
    scalars: dict[str, Any] = {}
    for item in fields(state):
        value = getattr(state, item.name)
        if isinstance(value, np.ndarray):
            arrays[item.name] = value
        elif isinstance(value, list):
            logs[item.name] = value
        else:
            scalars[item.name] = value
    return arrays, logs, scalars


@contextmanager
def reading(path: Path, what: str = "state file") -> Iterator[None]:
    """Any failure while reading ``path`` becomes one :class:`ArcloopError` line naming the file.

    A damaged or hand-edited file fails in library-specific ways (BadZipFile, EOFError,
    JSONDecodeError, UnicodeDecodeError, a TypeError from a field it should not have, ...); the user
    needs to know which file, not which parser.
    """
    try:
        yield
    except ArcloopError:
        raise
    except OSError as error:
        if not isinstance(error, FileNotFoundError):  # the disk or permissions, not the file's content
            raise ArcloopError(
                f"{path}: cannot read ({error.strerror}); check the disk and permissions"
            ) from None
        raise ArcloopError(f"{path}: missing; {DAMAGED_ADVICE}") from None
    except Exception as error:  # see above: every parser failure means the same
        detail = str(error) if isinstance(error, WrongValueError) else type(error).__name__
        raise ArcloopError(f"{path}: damaged {what} ({detail}); {DAMAGED_ADVICE}") from None


class WrongValueError(ValueError):
    """A file that parses, holding a value it cannot hold (its message names the value)."""


def _previous_logs(state_dir: Path) -> dict[str, dict[str, int]]:
    """Rows and bytes of every append-only log that the current checkpoint vouches for."""
    folder = latest_checkpoint(state_dir)
    if folder is None:
        return {}
    with reading(folder / "state.json"):
        return dict(json.loads((folder / "state.json").read_text()).get(LOGS, {}))


def _append_log(path: Path, rows: list, previous: dict[str, int] | None) -> dict[str, int]:
    """Extend ``path`` to hold ``rows`` as JSON lines; returns its new extent (rows, bytes).

    Lines beyond the last checkpoint's extent (a crash between append and pointer) are cut off
    first; when ``rows`` is not an extension of the checkpointed rows, the file is rewritten.
    """
    kept_rows, kept_bytes = (previous["rows"], previous["bytes"]) if previous else (0, 0)
    if kept_rows > len(rows) or not path.exists() or path.stat().st_size < kept_bytes:
        kept_rows, kept_bytes = 0, 0
    with open(path, "ab") as handle:
        handle.truncate(kept_bytes)
        handle.seek(kept_bytes)
        handle.write("".join(json.dumps(row) + "\n" for row in rows[kept_rows:]).encode())
        handle.flush()
        os.fsync(handle.fileno())
        return {"rows": len(rows), "bytes": handle.tell()}


def _read_log(path: Path, extent: dict[str, int]) -> list:
    with reading(path), open(path, "rb") as handle:
        text = handle.read(int(extent["bytes"])).decode()
        rows = [json.loads(line) for line in text.splitlines()]
    if len(rows) != extent["rows"]:
        raise ArcloopError(
            f"state file {path}: {len(rows)} rows where the checkpoint expects {extent['rows']}; "
            "the state dir was changed by hand"
        )
    return rows


def save_checkpoint(state_dir: Path, state: CampaignState, save_model: Any | None = None) -> Path:
    """Write ``state`` (and the model, through ``save_model(path)``) atomically; return its folder.

    Arrays and the model are written whole into the checkpoint's folder; list fields (history,
    metrics) are appended to ``logs/NAME.jsonl`` and the checkpoint records how many rows and bytes
    of each are its own, so that a checkpoint costs the new rows, not the whole history.
    """
    state_dir = Path(state_dir)
    root = state_dir / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    (state_dir / LOGS).mkdir(exist_ok=True)
    arrays, logs, scalars = _split_fields(state)
    previous = _previous_logs(state_dir)
    scalars[LOGS] = {
        key: _append_log(state_dir / LOGS / f"{key}.jsonl", rows, previous.get(key))
        for key, rows in logs.items()
    }
    _fsync_dir(state_dir / LOGS)
    name = f"iter-{state.iteration:05d}"
    final = root / name
    staging = root / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    (staging / "state.json").write_text(json.dumps(scalars))
    np.savez(staging / "arrays.npz", **arrays)
    if save_model is not None:
        save_model(staging / MODEL_FILE)
    for child in staging.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.rename(staging, final)
    _fsync_dir(root)
    write_atomically(state_dir / LATEST, name)
    _fsync_dir(state_dir)
    for old in sorted(root.glob("iter-*"))[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a staging file and a rename: a reader (a resume after
    SIGKILL) sees the old file or the whole new one, never a prefix. A prefix of config.yaml still
    parses, and a resume once continued a 3-iteration campaign to the default 10."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text)
    os.replace(staging, path)


def latest_checkpoint(state_dir: Path) -> Path | None:
    """The folder ``LATEST`` names; None before the first checkpoint (no ``LATEST`` yet).

    ``LATEST`` may only name a checkpoint of this state folder (``iter-NNNNN``); anything else,
    or a name whose folder is gone, is a damaged state folder: one line, never a fresh start in the
    campaign's MLflow run, and never a path outside the folder.
    """
    pointer = Path(state_dir) / LATEST
    if not pointer.is_file():
        return None
    with reading(pointer, "checkpoint pointer"):
        name = pointer.read_bytes()[:64].decode("ascii").strip()
    if not CHECKPOINT_NAME.fullmatch(name):
        raise ArcloopError(
            f"{pointer}: damaged checkpoint pointer (it must name a folder checkpoints/iter-NNNNN); "
            f"write the name of the newest folder under {Path(state_dir) / CHECKPOINTS} into it, or "
            "start the campaign again in a new --state-dir"
        )
    folder = Path(state_dir) / CHECKPOINTS / name
    if not folder.is_dir():
        raise ArcloopError(f"{pointer}: names checkpoints/{name}, which is not there; {DAMAGED_ADVICE}")
    return folder


def load_checkpoint(
    state_dir: Path, state_type: type[CampaignState] = CampaignState
) -> tuple[CampaignState, Path | None]:
    """The last complete state and the path of its model weights (None before the first fit)."""
    folder = latest_checkpoint(state_dir)
    if folder is None:
        raise ArcloopError(
            f"state dir {state_dir}: no checkpoint to resume; start a campaign without --resume"
        )
    with reading(folder / "state.json"):
        scalars = dict(json.loads((folder / "state.json").read_text()))
        extents = dict(scalars.pop(LOGS, {}))  # absent in checkpoints written before the logs existed
    logs = {
        key: _read_log(Path(state_dir) / LOGS / f"{Path(key).name}.jsonl", span)
        for key, span in extents.items()
    }
    with reading(folder / "arrays.npz"), np.load(folder / "arrays.npz", allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    with reading(folder / "state.json"):
        _check_scalars(scalars, len(logs.get("metrics", [])))
        state = state_type(**scalars, **logs, **arrays)
    model_path = folder / MODEL_FILE
    return state, (model_path if model_path.exists() else None)


# state.json's values: what each must be (JSON gives int, float, str, list, dict, None, bool).
SCALAR_KINDS: dict[str, tuple[type, ...]] = {
    "fingerprint": (str,),
    "iteration": (int,),
    "vendi_bandwidth": (int, float, type(None)),
    "mlflow_run_id": (str, type(None)),
    "oracle_calls": (int,),
}


def _check_scalars(scalars: dict[str, Any], finished_iterations: int) -> None:
    """A hand-edited state.json is refused by the name of the value that is wrong, before a wrong
    type fails far away (an iteration "1" in arithmetic) or a wrong number is believed."""
    for name, kinds in SCALAR_KINDS.items():
        value = scalars.get(name)
        if name in scalars and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise WrongValueError(f"{name} is {shortened(repr(value))}")
    for name in ("iteration", "oracle_calls"):
        if scalars.get(name, 0) < 0:
            raise WrongValueError(f"{name} is {scalars[name]} (negative)")
    if "iteration" in scalars and scalars["iteration"] != finished_iterations:
        raise WrongValueError(
            f"iteration is {scalars['iteration']}, "
            f"but logs/metrics.jsonl holds {finished_iterations} iterations"
        )


def record_config(state_dir: Path, text: str) -> None:
    """Write ``config.yaml`` of a campaign about to start, unless the folder holds a checkpoint or one.

    Called first, before anything slow (the store, the data, Prefect, torch), so that `arcloop
    resume DIR` can continue a campaign killed at any moment after its command was read.
    A folder that already holds a config.yaml (a campaign killed before its first checkpoint) keeps
    it here: if this command is refused later, that campaign can still be resumed as it was.
    """
    if latest_checkpoint(state_dir) is None and not config_path(state_dir).exists():
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        write_atomically(config_path(state_dir), text)


def config_path(state_dir: Path) -> Path:
    """The campaign's config, written when it starts, read by ``arcloop resume STATE_DIR``."""
    return Path(state_dir) / "config.yaml"
