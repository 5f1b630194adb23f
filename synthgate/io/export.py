"""`synthgate export`: a run's accepted (or all) rows as CSV, JSON lines or Parquet, for tools
that read neither this run directory nor Parquet."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.gate import GATE_COLUMNS
from synthgate.io.csvsafe import neutralise
from synthgate.io.files import write_atomic
from synthgate.io.rundir import Run

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def export_rows(run: Run, *, rows: str = "accepted", scores: bool = False) -> pl.DataFrame:
    """The rows to export (`accepted`, `rejected` or `all`), in input order: the candidates'
    own columns (plus `id`), with every score column too when `scores`; `accepted` and
    `reasons` are kept unless only accepted rows are asked for."""
    choose = {"accepted": pl.col("accepted"), "rejected": ~pl.col("accepted"), "all": pl.lit(True)}
    if rows not in choose:
        raise SynthgateError(f"--rows: unknown value {rows!r}; available: {', '.join(choose)}")
    stored = set(cfg.score_schema())
    keep = [c for c in run.frame.columns if c not in GATE_COLUMNS and (scores or c not in stored)]
    if rows != "accepted":
        keep += list(GATE_COLUMNS)
    return run.frame.filter(choose[rows]).select(keep)


def write_export(frame: pl.DataFrame, out: str | Path, fmt: str | None = None) -> Path:
    """Write `frame` atomically as `fmt` (default: from the extension of `out`)."""
    path = Path(out)
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt not in FORMATS.values():
        known = ", ".join(sorted(set(FORMATS.values())))
        raise SynthgateError(f"{path}: cannot tell the format; pass --format ({known})")
    if fmt == "parquet":
        write_atomic(path, lambda handle: frame.write_parquet(handle))
    elif fmt == "jsonl":
        write_atomic(path, lambda handle: frame.write_ndjson(handle))
    else:
        text = io.StringIO()
        spreadsheet_safe(frame).write_csv(text)
        write_atomic(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
    return path


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as a spreadsheet may open it: list cells joined with '; ', and every text cell
    that a spreadsheet would run as a formula prefixed with `'` (OWASP's rule)."""
    lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    out = frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join("; ") for c in lists)
    return neutralise(out)
