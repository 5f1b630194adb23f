"""Reading tables by extension and writing files atomically."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from synthgate.errors import SynthgateError

EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a .csv, .tsv, .jsonl/.ndjson or .parquet file; every failure is one SynthgateError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise SynthgateError(
            f"{path}: unknown extension {suffix or '(none)'!r}; expected one of {', '.join(EXTENSIONS)}"
        )
    if not path.is_file():
        raise SynthgateError(f"{path}: no such file")
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        raw = path.read_bytes()
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(path, raw)
        return _read_delimited(raw, "\t" if suffix == ".tsv" else ",")
    except SynthgateError:
        raise
    except Exception as exc:  # polars and arrow raise many types; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SynthgateError(f"{path}: cannot read {suffix[1:]} file: {first}") from exc


def _read_delimited(raw: bytes, sep: str) -> pl.DataFrame:
    # Every column as text: ids like "007" and labels like "1" must survive unchanged.
    # Invalid UTF-8 becomes U+FFFD so the row is kept and the quality scorer flags it.
    # A tab file is read without quoting, as TSV data sets (SMS Spam, CoLA) are written.
    return pl.read_csv(
        raw,
        separator=sep,
        infer_schema=False,
        encoding="utf8-lossy",
        quote_char=None if sep == "\t" else '"',
        empty_string_is_null=False,
    )


def _read_jsonl(path: Path, raw: bytes) -> pl.DataFrame:
    text = raw.decode("utf-8", errors="replace")
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SynthgateError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise SynthgateError(f"{path}:{lineno}: expected a JSON object per line")
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    return pl.from_dicts(rows, infer_schema_length=None)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(path: Path, frame: pl.DataFrame) -> None:
    """Atomically write a DataFrame as Parquet."""
    write_atomic(path, lambda handle: frame.write_parquet(handle))


def write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 text."""
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
