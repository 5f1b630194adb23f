"""Reading tables by extension and writing files atomically."""

from __future__ import annotations

import csv
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
    """Read a .csv, .tsv, .jsonl/.ndjson or .parquet file holding at least one row. Every
    failure is one SynthgateError naming the file, and the line where one is known."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise SynthgateError(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise SynthgateError(f"{path}: no such file")
    if suffix not in EXTENSIONS:
        known = ", ".join(EXTENSIONS)
        raise SynthgateError(
            f"{path}: unknown extension {suffix or '(none)'!r}; expected one of {known}"
        )
    if path.stat().st_size == 0:
        raise SynthgateError(f"{path}: empty file")
    frame = _read(path, suffix)
    if frame.height == 0:
        raise SynthgateError(f"{path}: no rows")
    return frame


def _read(path: Path, suffix: str) -> pl.DataFrame:
    sep = "\t" if suffix == ".tsv" else ","
    raw = b""
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        raw = path.read_bytes()
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(path, raw)
        return _read_delimited(raw, sep)
    except SynthgateError:
        raise
    except Exception as exc:  # polars and arrow raise many types; the user needs one line
        where = _csv_problem(raw, sep) if raw and suffix in (".csv", ".tsv") else None
        if where:
            raise SynthgateError(f"{path}:{where}") from exc
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


def _csv_problem(raw: bytes, sep: str) -> str | None:
    """`LINE: what` for the first malformed record Python's csv module finds, else None."""
    text = raw.decode("utf-8-sig", errors="replace")
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting, strict=True)
    width, start = -1, 1  # start: the line the current record begins on
    try:
        for row in reader:
            if width < 0:
                width = len(row)
            elif len(row) > width:
                return f"{start}: {len(row)} fields, but the header has {width}"
            start = reader.line_num + 1
    except csv.Error as exc:
        if "end of data" in str(exc):
            return f"{start}: unterminated quote (a field opened with '\"' is never closed)"
        return f"{start}: malformed CSV ({exc})"
    return None


def _read_jsonl(path: Path, raw: bytes) -> pl.DataFrame:
    # Lines end at \n only: str.splitlines would also split inside a string at U+2028 or
    # U+0085, which JSON allows unescaped. utf-8-sig drops a byte-order mark.
    text = raw.decode("utf-8-sig", errors="replace")
    rows = []
    for lineno, line in enumerate(text.split("\n"), start=1):
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
    if path.is_dir():
        raise SynthgateError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthgateError(f"{path.parent}: cannot create directory ({exc.strerror})") from exc
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a report is for others to read too
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask, read without changing it (Linux reports it in /proc; elsewhere the
    conventional 022 is assumed rather than setting the umask to read it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def write_parquet(path: Path, frame: pl.DataFrame) -> None:
    """Atomically write a DataFrame as Parquet."""
    write_atomic(path, lambda handle: frame.write_parquet(handle))


def write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 text."""
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
