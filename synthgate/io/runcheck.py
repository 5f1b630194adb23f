"""A run directory read back is checked before any command trusts it: every file well formed,
and all of them telling the same story (counts across run.json, report.json, scored and
accepted). A run may come from elsewhere; each problem is one line naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.gate import GATE_COLUMNS

ROLES = ("text", "label", "source", "id")
COUNTS = ("rows", "accepted", "rejected")
REPORT_TABLES = (
    "rejected_by_rule",
    "rejected_only_by_rule",
    "skipped_by_rule",
    "rejected_by_reason",
    "acceptance_by_label",
    "co_rejection",
    "scorers",
    "diversity",
)


def record_columns(path: Path, record: dict[str, Any]) -> dict[str, str | None]:
    """run.json's counts and role columns, checked; the role -> column map."""
    counts = record.get("counts")
    if not isinstance(counts, dict) or not all(_is_int(counts.get(k)) for k in COUNTS):
        raise SynthgateError(f"{path}: 'counts' must hold integers {', '.join(COUNTS)}")
    columns = record.get("columns") or {"text": "text", "id": "id"}
    if not isinstance(columns, dict) or not set(columns) <= set(ROLES):
        raise SynthgateError(f"{path}: 'columns' must map roles ({', '.join(ROLES)}) to columns")
    for role, name in columns.items():
        if name is not None and (not isinstance(name, str) or name in GATE_COLUMNS):
            raise SynthgateError(f"{path}: 'columns.{role}' cannot be {name!r}")
    return columns


def check_report(path: Path, report: dict[str, Any], counts: dict[str, int]) -> None:
    """report.json has the counts run.json has, and its tables are tables."""
    for key in COUNTS:
        if report.get(key) != counts[key]:
            raise SynthgateError(
                f"{path}: {key} is {report.get(key)!r}, but run.json counts {counts[key]} "
                "(the files come from different runs)"
            )
    for key in REPORT_TABLES:
        if key in report and not isinstance(report[key], dict):
            raise SynthgateError(f"{path}: {key!r} must be a JSON object")


def check_frame(path: Path, frame: pl.DataFrame, columns: dict[str, Any], counts: dict) -> None:
    """scored.parquet: the gate's columns with their types and no nulls, every score column
    with its scorer's type, the role columns run.json names, and the counts it records."""
    want = {"reasons": pl.List(pl.String), "accepted": pl.Boolean}
    for column, dtype in {**want, **cfg.score_schema()}.items():
        if column not in frame.columns:
            if column in want:
                raise SynthgateError(f"{path}: no {column!r} column")
            continue
        if frame.schema[column] != dtype:
            found = frame.schema[column]
            raise SynthgateError(f"{path}: column {column!r} is {found}, not {dtype}")
    for column in want:
        if frame[column].null_count():
            row = int(frame[column].is_null().arg_max())  # type: ignore[arg-type]
            raise SynthgateError(f"{path}: column {column!r} is null at row {row + 1}")
    for role in ROLES:
        name = columns.get(role)
        if name and name not in frame.columns:
            raise SynthgateError(f"{path}: no {role} column {name!r} (run.json names it)")
    found = {"rows": frame.height, "accepted": int(frame["accepted"].sum())}
    for key, value in found.items():
        if value != counts[key]:
            raise SynthgateError(f"{path}: {value} {key}, but run.json counts {counts[key]}")


def check_accepted(path: Path, counts: dict[str, int]) -> None:
    """accepted.parquet holds as many rows as run.json says were accepted."""
    try:
        rows = pl.scan_parquet(path, glob=False).select(pl.len()).collect().item()
    except Exception as exc:  # arrow raises many types; the user needs one line
        raise SynthgateError(f"{path}: cannot read parquet: {_first_line(exc)}") from exc
    if rows != counts["accepted"]:
        raise SynthgateError(
            f"{path}: {rows} rows, but run.json counts {counts['accepted']} accepted "
            "(the files come from different runs)"
        )


def check_real(path: Path, real: pl.DataFrame) -> None:
    """real.parquet: id and text, as text."""
    for column in ("id", "text"):
        if real.schema.get(column) != pl.String:
            raise SynthgateError(f"{path}: needs a String column {column!r}")


def check_vectors(path: Path, candidates: Any, real: Any, rows: int, n_real: int) -> None:
    """embeddings.npz: two float matrices of one width, a row per candidate and real row."""
    arrays = {"candidates": candidates, "real": real}
    for name, array in arrays.items():
        if not (isinstance(array, np.ndarray) and array.ndim == 2):
            raise SynthgateError(f"{path}: {name!r} must be a 2-D array")
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise SynthgateError(f"{path}: {name!r} must hold finite floats; got {array.dtype}")
    if candidates.shape[1] != real.shape[1]:
        raise SynthgateError(f"{path}: candidate and real vectors differ in width")
    if candidates.shape[0] != rows or real.shape[0] != n_real:
        raise SynthgateError(
            f"{path}: {candidates.shape[0]} candidate and {real.shape[0]} real "
            f"vectors, but the run has {rows} and {n_real} rows"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
