"""Datasets: a table of inputs and measured properties, packaged or the user's own.

A :class:`Dataset` holds, for each *distinct* input, the input vector and the mean of every property
measured on it. Inputs are either a composition (atomic fractions over the elements found in the
data, summing to 1) or named numeric parameters (process settings, geometry). Properties are named
numeric columns, each ``binary`` (0/1) or ``continuous``, with an optional unit.

Sources: a packaged name (:data:`PACKAGED`: ``hea`` and the five experimental datasets of Liang et
al. 2021) or a CSV / Parquet file. What is not declared is inferred, and :attr:`Dataset.notes` says
how: a ``formula`` column, or two or more element-symbol columns, make a composition; otherwise the
last numeric column is the property and the other numeric columns are parameters. Repeated inputs
are grouped (the mean of each property, as the Liang et al. benchmark does) and the notes say how
many rows were merged. A bad table gives one :class:`ArcloopError` line naming the file, the line
and the column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arcloop.errors import ArcloopError, format_validation_error
from arcloop.materials import PERIODIC_TABLE, formula_amounts

InputKind = Literal["composition", "parameters"]
PropertyKind = Literal["binary", "continuous"]
ROW_SUM_TOLERANCE = 1e-3  # a composition row sums to 1 (or 100 at.%) within this relative tolerance


@dataclass(frozen=True)
class Dataset:
    """Distinct inputs and the mean of each property measured on them.

    ``X`` (n, d) float64: fractions summing to 1 over ``input_names`` (elements) for a composition,
    raw parameter values otherwise. ``properties[name]`` (n,) float64: the mean over the rows that
    share an input. ``replicates`` (n,) int: how many rows each distinct input merged.
    ``features`` (n, f) float64 over ``feature_names``: what a surrogate is fitted on
    (:func:`model_features`); ``X`` itself when the dataset does not say otherwise.
    """

    name: str
    input_kind: InputKind
    input_names: tuple[str, ...]
    X: np.ndarray
    properties: dict[str, np.ndarray]
    property_kinds: dict[str, PropertyKind]
    units: dict[str, str | None]
    replicates: np.ndarray
    n_rows: int
    notes: tuple[str, ...] = ()
    citation: str | None = None
    default_target: dict[str, Any] = field(default_factory=dict)
    features: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.features is None:
            object.__setattr__(self, "features", self.X)
            object.__setattr__(self, "feature_names", self.input_names)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def values(self, prop: str) -> np.ndarray:
        """(n,) the property ``prop``; a one-line error naming the dataset's properties otherwise."""
        if prop not in self.properties:
            raise ArcloopError(
                f"target.property: {prop!r} is not a property of dataset {self.name!r}; "
                f"properties: {', '.join(self.properties)}"
            )
        return self.properties[prop].copy()

    def input_labels(self, rows: np.ndarray | None = None) -> list[str]:
        """A readable label per input: a formula in at.% (composition) or ``name=value`` pairs."""
        chosen = self.X if rows is None else self.X[np.asarray(rows, dtype=np.int64)]
        if self.input_kind == "composition":
            return [
                "".join(f"{e}{100 * f:.4g}" for e, f in zip(self.input_names, row, strict=True) if f > 0)
                for row in chosen
            ]
        return [
            " ".join(f"{n}={v:.6g}" for n, v in zip(self.input_names, row, strict=True)) for row in chosen
        ]

    def standardised_inputs(self) -> np.ndarray:
        """(n, d) inputs with each column centred and scaled to unit variance over the dataset (a
        constant column stays 0): the frame of the dataset's bias and diversity readings."""
        std = self.X.std(axis=0)
        return (self.X - self.X.mean(axis=0)) / np.where(std > 0, std, 1.0)

    def summary(self) -> dict[str, Any]:
        """What ``arcloop data info`` prints: sizes, inputs, properties with ranges and units."""
        props = {}
        for name, values in self.properties.items():
            props[name] = {
                "kind": self.property_kinds[name],
                "unit": self.units.get(name),
                "min": float(np.min(values)),
                "median": float(np.median(values)),
                "max": float(np.max(values)),
            }
        return {
            "name": self.name,
            "rows": self.n_rows,
            "distinct_inputs": len(self),
            "input_kind": self.input_kind,
            "inputs": list(self.input_names),
            "model_features": list(self.feature_names),
            "properties": props,
            "default_target": self.default_target,
            "notes": list(self.notes),
            "citation": self.citation,
        }


class InputsSpec(BaseModel):
    """``dataset.inputs``: a composition (``formula`` column or element ``columns``) or parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: InputKind | None = Field(None, description="composition or parameters; inferred when unset")
    columns: list[str] | None = Field(None, description="input columns (elements or parameters)")
    formula: str | None = Field(None, description="composition: the column holding formulas")


class PropertySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PropertyKind | None = Field(None, description="binary (0/1) or continuous; inferred when unset")
    unit: str | None = Field(None, max_length=40)


class DatasetConfig(BaseModel):
    """The ``dataset:`` section: a packaged ``name`` or a ``path`` to a CSV / Parquet table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="a packaged dataset (arcloop data list)")
    path: Path | None = Field(None, description="a CSV or Parquet file of your own")
    inputs: InputsSpec = Field(default_factory=InputsSpec)
    properties: dict[str, PropertySpec] = Field(
        default_factory=dict, description="property columns; inferred when empty"
    )

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.name is None) == (self.path is None):
            raise ValueError("give either name (a packaged dataset) or path (your own file), not both")
        if self.name is not None and self.name not in PACKAGED:
            raise ValueError(f"unknown packaged dataset {self.name!r}; packaged: {', '.join(PACKAGED)}")
        return self

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | DatasetConfig) -> DatasetConfig:
        """A packaged name, a file path (contains a dot or a slash), a mapping, or a config."""
        if isinstance(value, DatasetConfig):
            return value
        if isinstance(value, str):
            value = {"path": value} if ("/" in value or "." in value) else {"name": value}
        try:
            return cls.model_validate(value)
        except ValidationError as error:
            raise ArcloopError(format_validation_error(error, "dataset")) from None


@dataclass(frozen=True)
class Packaged:
    """A dataset shipped in the package: its file, declared columns and the published goal."""

    file: str
    description: str
    inputs: tuple[str, ...]
    prop: str
    unit: str | None
    target: dict[str, Any]
    citation: str


LIANG = "Liang et al., npj Comput. Mater. 7, 188 (2021)"
PACKAGED: dict[str, Packaged] = {
    "hea": Packaged(
        "alloys_top30_compositions.csv",
        "1,375 high-entropy alloys over 30 elements: single phase or not",
        (),
        "single_phase",
        None,
        {"property": "single_phase", "equals": 1},
        "Yan et al., Comput. Mater. Sci. 199 (2021) 110723; Zeng, Khan & Post, arXiv:2409.06740",
    ),
    "crossed-barrel": Packaged(
        "liang/Crossed_barrel.csv",
        "geometry of 3D-printed crossed-barrel structures and their toughness",
        ("n", "theta", "r", "t"),
        "toughness",
        None,
        {"property": "toughness", "goal": "maximize", "top_fraction": 0.05},
        f"Gongora et al., Sci. Adv. 6, eaaz1708 (2020); {LIANG}",
    ),
    "perovskite": Packaged(
        "liang/Perovskite.csv",
        "CsPbI / FAPbI / MAPbI halide-perovskite fractions and their instability index",
        ("CsPbI", "FAPbI", "MAPbI"),
        "Instability index",
        None,
        {"property": "Instability index", "goal": "minimize", "top_fraction": 0.05},
        f"Sun, Tiihonen, Oviedo et al., Matter 4, 1305 (2021); {LIANG}",
    ),
    "agnp": Packaged(
        "liang/AgNP.csv",
        "silver-nanoparticle synthesis flow rates and the spectrum's distance from the target",
        ("QAgNO3(%)", "Qpva(%)", "Qtsc(%)", "Qseed(%)", "Qtot(uL/min)"),
        "loss",
        None,
        {"property": "loss", "goal": "minimize", "top_fraction": 0.05},
        f"Mekki-Berrada, Ren et al., npj Comput. Mater. 7 (2021); {LIANG}",
    ),
    "p3ht": Packaged(
        "liang/P3HT.csv",
        "P3HT / carbon-nanotube blend contents and the film's conductivity",
        ("P3HT content (%)", "D1 content (%)", "D2 content (%)", "D6 content (%)", "D8 content (%)"),
        "Conductivity (measured) (S/cm)",
        "S/cm",
        {"property": "Conductivity (measured) (S/cm)", "goal": "maximize", "top_fraction": 0.05},
        f"Bash, Cai, Chellappan et al., Adv. Funct. Mater. 2102606 (2021); {LIANG}",
    ),
    "autoam": Packaged(
        "liang/AutoAM.csv",
        "3D-printer settings and the print's score",
        ("Prime Delay", "Print Speed", "X Offset Correction", "Y Offset Correction"),
        "Score",
        None,
        {"property": "Score", "goal": "maximize", "top_fraction": 0.05},
        f"Deneault, Chang, Myung et al., MRS Bulletin (2021); {LIANG}",
    ),
}


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, byte-order mark allowed) or Parquet file as strings-or-numbers columns."""
    if not path.is_file():
        raise ArcloopError(f"dataset.path: {path} is not a file; give the path of a CSV or Parquet table")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True)
    except UnicodeDecodeError:
        raise ArcloopError(f"dataset {path}: not UTF-8 text; save the table as UTF-8 CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, ImportError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ArcloopError(f"dataset {path}: cannot be read as a table ({first})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.duplicated().any():
        twice = frame.columns[frame.columns.duplicated()][0]
        raise ArcloopError(f"dataset {path}: column {twice!r} appears twice; rename one")
    if frame.empty:
        raise ArcloopError(f"dataset {path}: no rows")
    return frame


def _packaged_frame(name: str) -> pd.DataFrame:
    spec = PACKAGED[name]
    with resources.files("arcloop.data").joinpath(spec.file).open("r", encoding="utf-8-sig") as handle:
        frame = pd.read_csv(handle)
    frame.columns = [str(c).strip() for c in frame.columns]
    if name == "hea":
        frame = frame.rename(columns={"Alloys": "formula", "Class": "single_phase"})
    return frame


def _numeric(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """The column as float64, or one line naming the first missing or non-numeric cell."""
    if column not in frame.columns:
        raise ArcloopError(f"dataset {where}: no column {column!r}; columns: {', '.join(frame.columns)}")
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = raw.iloc[row]
        missing = cell is None or (isinstance(cell, float) and math.isnan(cell)) or str(cell).strip() == ""
        what = "missing value" if missing else f"{str(cell)[:40]!r} is not a finite number"
        raise ArcloopError(
            f"dataset {where}: line {row + 2}, column {column!r}: {what}; fix the cell or drop the row"
        )
    return values


def _compositions_from_formulas(
    frame: pd.DataFrame, column: str, where: str
) -> tuple[tuple[str, ...], np.ndarray]:
    parsed: list[dict[str, float]] = []
    for row, text in enumerate(frame[column].tolist()):
        if not isinstance(text, str) or not text.strip():
            raise ArcloopError(f"dataset {where}: line {row + 2}, column {column!r}: missing formula")
        try:
            parsed.append(formula_amounts(text))
        except ArcloopError as error:
            raise ArcloopError(f"dataset {where}: line {row + 2}, column {column!r}: {error}") from None
    elements = tuple(sorted({e for amounts in parsed for e in amounts}))
    index = {e: j for j, e in enumerate(elements)}
    X = np.zeros((len(parsed), len(elements)))
    for i, amounts in enumerate(parsed):
        for e, amount in amounts.items():
            X[i, index[e]] = amount
    return elements, X / X.sum(axis=1, keepdims=True)


def _compositions_from_columns(frame: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    unknown = [c for c in columns if c not in PERIODIC_TABLE]
    if unknown:
        raise ArcloopError(
            f"dataset {where}: composition column {unknown[0]!r} is not an element symbol; "
            "name element columns by their symbol (Fe, Ni, ...)"
        )
    X = np.column_stack([_numeric(frame, c, where) for c in columns])
    if (X < 0).any():
        row, col = (int(v) for v in np.argwhere(X < 0)[0])
        raise ArcloopError(f"dataset {where}: line {row + 2}, column {columns[col]!r}: negative fraction")
    sums = X.sum(axis=1)
    scale = 100.0 if np.all(np.abs(sums - 100.0) <= 100.0 * ROW_SUM_TOLERANCE) else 1.0
    off = np.abs(sums / scale - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ArcloopError(
            f"dataset {where}: line {row + 2}: element fractions sum to {sums[row]:.6g}, "
            "not 1 (or 100 at.%); "
            "fix the row or give a formula column"
        )
    return X / sums[:, None]


def model_features(
    kind: InputKind, names: tuple[str, ...], X: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...], str | None]:
    """What a surrogate sees of each input: (features (n, f), their names, a note for the log).

    Parameters: the parameters themselves. A composition whose elements all have rows in the packaged
    element table (:data:`arcloop.data.ELEMENTS`): the eight descriptors of Yan et al. 2021 (atomic
    size mismatch, mixing entropy and enthalpy, mean modulus, volume, melting point, valence
    electrons, electronegativity spread; :func:`arcloop.materials.descriptor_matrix`), then the
    fractions. Physics a model could not learn from a few fractions, as a practitioner feeds it.
    Any other composition: the fractions alone, and the note names the elements without data.
    """
    if kind != "composition":
        return X, names, None
    from arcloop.data import DESCRIPTOR_COLUMNS, ELEMENTS
    from arcloop.materials.descriptors import descriptor_matrix

    missing = [e for e in names if e not in ELEMENTS]
    if missing:
        return X, names, f"model features: the fractions only (no element data for {', '.join(missing)})"
    basis = np.zeros((X.shape[0], len(ELEMENTS)))
    basis[:, [ELEMENTS.index(e) for e in names]] = X
    features = np.hstack([descriptor_matrix(basis, validate=False), X])
    note = f"model features: {len(DESCRIPTOR_COLUMNS)} descriptors and {len(names)} fractions"
    return features, (*DESCRIPTOR_COLUMNS, *names), note


def build_dataset(frame: pd.DataFrame, config: DatasetConfig, name: str, where: str) -> Dataset:
    """A :class:`Dataset` from a table and what the config declares (the rest inferred, noted)."""
    notes: list[str] = []
    inputs = config.inputs
    columns = list(frame.columns)
    formula_column = inputs.formula or next((c for c in columns if c.lower() == "formula"), None)
    element_columns = [c for c in columns if c in PERIODIC_TABLE]
    kind = inputs.kind
    if kind is None:
        if inputs.formula or (formula_column and not inputs.columns):
            kind = "composition"
        elif inputs.columns:
            kind = "composition" if all(c in PERIODIC_TABLE for c in inputs.columns) else "parameters"
        elif len(element_columns) >= 2:
            kind = "composition"
        else:
            kind = "parameters"
        notes.append(f"inputs: {kind} (inferred)")
    declared_props = list(config.properties)
    # Input columns
    if kind == "composition":
        if inputs.columns:
            elements = tuple(inputs.columns)
            X = _compositions_from_columns(frame, list(elements), where)
            used = set(elements)
        elif formula_column and formula_column in columns and not (inputs.columns or []):
            elements, X = _compositions_from_formulas(frame, formula_column, where)
            used = {formula_column}
            notes.append(f"composition from column {formula_column!r}: {len(elements)} elements")
        elif inputs.formula:
            raise ArcloopError(f"dataset {where}: no column {inputs.formula!r} for dataset.inputs.formula")
        elif len(element_columns) >= 2:
            elements = tuple(element_columns)
            X = _compositions_from_columns(frame, element_columns, where)
            used = set(element_columns)
            notes.append(f"composition from {len(elements)} element columns")
        else:
            raise ArcloopError(
                f"dataset {where}: inputs.kind is composition but there is no formula column and "
                "fewer than two element-symbol columns; set dataset.inputs.formula or .columns"
            )
        keep = X.max(axis=0) > 0
        elements, X = tuple(e for e, k in zip(elements, keep, strict=True) if k), X[:, keep]
    else:
        if inputs.columns:
            parameters = list(inputs.columns)
        else:
            # Every column is numeric here; a text cell is reported by line when it is read.
            rest = [c for c in columns if c not in declared_props]
            parameters = rest if declared_props else rest[:-1]
            if not parameters:
                raise ArcloopError(
                    f"dataset {where}: no numeric input columns found; declare dataset.inputs.columns"
                )
            notes.append(f"parameters (inferred): {', '.join(parameters)}")
        for c in parameters:
            if c not in columns:
                raise ArcloopError(f"dataset {where}: no column {c!r}; columns: {', '.join(columns)}")
        elements = tuple(parameters)
        X = np.column_stack([_numeric(frame, c, where) for c in parameters])
        used = set(parameters)
    # Property columns
    if declared_props:
        prop_names = declared_props
    else:
        rest = [c for c in columns if c not in used and c != formula_column]
        prop_names = rest if kind == "composition" else rest[-1:]
        if not prop_names:
            raise ArcloopError(
                f"dataset {where}: no numeric property column found; declare dataset.properties"
            )
        notes.append(f"properties (inferred): {', '.join(prop_names)}")
    overlap = set(prop_names) & used
    if overlap:
        raise ArcloopError(f"dataset {where}: column {sorted(overlap)[0]!r} is both an input and a property")
    raw_props = {p: _numeric(frame, p, where) for p in prop_names}
    kinds: dict[str, PropertyKind] = {}
    for p, values in raw_props.items():
        declared = config.properties.get(p)
        binary = bool(np.isin(values, (0.0, 1.0)).all())
        if declared is not None and declared.kind is not None:
            if declared.kind == "binary" and not binary:
                row = int(np.flatnonzero(~np.isin(values, (0.0, 1.0)))[0])
                raise ArcloopError(
                    f"dataset {where}: line {row + 2}, column {p!r}: {values[row]:g} in a binary property; "
                    "use 0/1 or declare it continuous"
                )
            kinds[p] = declared.kind
        else:
            kinds[p] = "binary" if binary else "continuous"
    units = {p: (config.properties[p].unit if p in config.properties else None) for p in prop_names}
    # Group repeated inputs: the mean of every property over the rows that share an input.
    keys = np.round(X, 12)
    _, first, inverse, counts = np.unique(
        keys, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(first)  # distinct inputs in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[inverse.reshape(-1)]
    n = order.size
    grouped_X = X[first[order]]
    properties = {}
    for p, values in raw_props.items():
        properties[p] = np.bincount(group, weights=values, minlength=n) / np.bincount(group, minlength=n)
    if n < len(X):
        notes.append(f"{len(X)} rows → {n} distinct inputs (repeated inputs: mean of each property)")
    features, feature_names, features_note = model_features(kind, tuple(elements), grouped_X)
    if features_note:
        notes.append(features_note)
    return Dataset(
        name=name,
        input_kind=kind,
        input_names=tuple(elements),
        X=grouped_X,
        properties=properties,
        property_kinds=kinds,
        units=units,
        replicates=counts[order],
        n_rows=len(X),
        notes=tuple(notes),
        features=features,
        feature_names=feature_names,
    )


@lru_cache(maxsize=16)
def _load_packaged(name: str) -> Dataset:
    spec = PACKAGED[name]
    frame = _packaged_frame(name)
    if name == "hea":
        elements = [c for c in frame.columns if c in PERIODIC_TABLE]
        config = DatasetConfig(
            name=name,
            inputs=InputsSpec(kind="composition", columns=elements),
            properties={"single_phase": PropertySpec(kind="binary")},
        )
    else:
        config = DatasetConfig(
            name=name,
            inputs=InputsSpec(kind="parameters", columns=list(spec.inputs)),
            properties={spec.prop: PropertySpec(kind="continuous", unit=spec.unit)},
        )
    built = build_dataset(frame, config, name, name)
    return Dataset(
        **{
            **built.__dict__,
            "citation": spec.citation,
            "default_target": dict(spec.target),
            "notes": tuple(n for n in built.notes if "inferred" not in n),
        }
    )


def load_dataset(spec: str | Mapping[str, Any] | DatasetConfig) -> Dataset:
    """The dataset a config names: packaged (cached) or read from the user's file."""
    config = DatasetConfig.parse(spec)
    if config.name is not None:
        return _load_packaged(config.name)
    assert config.path is not None
    path = Path(config.path).expanduser()
    frame = _read_table(path)
    return build_dataset(frame, config, path.stem, str(path))


__all__ = [
    "PACKAGED",
    "Dataset",
    "DatasetConfig",
    "InputsSpec",
    "PropertySpec",
    "load_dataset",
    "model_features",
]
