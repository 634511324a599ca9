"""Trained models kept on disk, keyed by everything that decides the fit: settings, data, seed.

A fit of the default SSVAE is the slowest step of a campaign; ``arcloop design`` and ``arcloop model train``
would pay it on every call. The key hashes the model's constructor arguments (its ``random_state`` among
them), the exact bytes, dtypes and shapes of every array given to ``fit``, and the caller's ``key_parts``; a
change to any of them is a different model (so entries stored while the argument was still called ``seed``
are misses: refitted once, never read as the wrong model). The folder is
``$ARCLOOP_CACHE_DIR/models`` (default ``~/.cache/arcloop/models``). Entries are written under a
temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arcloop.errors import ArcloopError
from arcloop.models.ssvae import FORMAT, SSVAE

CACHE_ENV = "ARCLOOP_CACHE_DIR"
MODEL_FILE = "model.pt"
HISTORY_FILE = "history.json"


def cache_dir() -> Path:
    """Where models are cached: ``$ARCLOOP_CACHE_DIR/models`` or ``~/.cache/arcloop/models``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "arcloop"
    return Path(root) / "models"


def cache_key(settings: dict[str, Any], arrays: Sequence[np.ndarray | None], key_parts: Sequence[Any]) -> str:
    """sha256 of the model file format, the settings, every array (dtype, shape, bytes) and the parts."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"format": FORMAT, "settings": settings, "parts": list(key_parts)}, sort_keys=True, default=str
        ).encode()
    )
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        data = np.ascontiguousarray(array)
        digest.update(f"{data.dtype.str}{data.shape}".encode())
        digest.update(data.tobytes())
    return digest.hexdigest()


def fit_cached(
    model_factory: Callable[[], SSVAE] | dict[str, Any],
    X_l: np.ndarray,
    y: np.ndarray,
    X_u: np.ndarray | None,
    key_parts: Sequence[Any] = (),
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    retrain: bool = False,
    on_fit: Callable[[], None] | None = None,
) -> SSVAE:
    """The model ``model_factory()`` (or ``SSVAE(**settings)``) would be after ``fit(X_l, y, X_u,
    X_val, y_val)``: read from the cache, or fitted (``on_fit()`` first) and stored.

    ``retrain`` fits even on a hit and replaces the entry. Hit or miss, the model comes from the
    stored file, so that both give the same model to the bit.
    """
    model = model_factory() if callable(model_factory) else SSVAE(**model_factory)
    key = cache_key(model.get_config(), (X_l, y, X_u, X_val, y_val), key_parts)
    entry = cache_dir() / key
    if not retrain and (entry / MODEL_FILE).is_file():
        cached = _read_entry(entry)
        if cached is not None:
            return cached
    if on_fit is not None:
        on_fit()
    model.fit(X_l, y, X_u, X_val, y_val)
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=entry.parent))
    model.save(staging / MODEL_FILE)
    (staging / HISTORY_FILE).write_text(json.dumps(model.history_))
    if retrain and entry.exists():
        shutil.rmtree(entry, ignore_errors=True)
    try:
        os.rename(staging, entry)
    except OSError:  # another process stored the same model first: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    cached = _read_entry(entry)
    if cached is None:  # what was just stored does not read back: the folder itself is at fault
        raise ArcloopError(
            f"model cache {cache_dir()}: a model stored there does not read back; check the disk"
        )
    return cached


def _read_entry(entry: Path) -> SSVAE | None:
    """The model stored in ``entry``; None, with the entry dropped and one line said, when a file of
    it is damaged (the caller then refits: a damaged cache costs a fit, never a campaign)."""
    try:
        cached = SSVAE.load(entry / MODEL_FILE)
        history = json.loads((entry / HISTORY_FILE).read_text())
        if not isinstance(history, dict):
            raise ValueError("history.json is not a mapping")
    except (ArcloopError, OSError, ValueError) as error:  # JSON and Unicode errors are ValueErrors
        sys.stderr.write(f"model cache: dropped the damaged entry {entry.name[:12]} ({error}); refitting\n")
        shutil.rmtree(entry, ignore_errors=True)
        return None
    cached.history_ = history
    return cached
