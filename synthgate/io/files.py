"""Reading tables by extension and writing files atomically.

Paths are paths: nothing is globbed. A folder reads every table file directly inside it. CSV and
TSV: every column is text; a line with nothing on it (outside quotes) is not a row, so an empty
text is written `""`; CR-only line endings are read as line ends; `header=False` names the
columns by position, "1", "2", ... JSON lines: one object a line, blank lines skipped, a lone
UTF-16 surrogate escape becomes U+FFFD (as invalid UTF-8 does), and a key whose values mix JSON
types (string, number, boolean, array, object) is an error naming the line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError

EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_table(path: str | Path, *, header: bool = True) -> pl.DataFrame:
    """Read a .csv, .tsv, .jsonl/.ndjson or .parquet file, or a folder of them (read in name
    order, hidden files skipped, concatenated by column name), holding at least one row. Every
    failure is one SynthgateError naming the file, and the line where one is known. `header`:
    whether CSV/TSV files have a header line (other formats name their columns themselves)."""
    if not str(path):
        raise SynthgateError("an input path is empty")
    path = Path(path)
    if _kind(path) == "folder":
        files = table_files(path)
        frames = [read_table(f, header=header) for f in files]
        try:
            return pl.concat(frames, how="diagonal_relaxed")
        except Exception as exc:
            raise SynthgateError(f"{path}: its files' columns do not fit together ({exc})") from exc
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        known = ", ".join(EXTENSIONS)
        raise SynthgateError(
            f"{path}: unknown extension {suffix or '(none)'!r}; expected one of {known}"
        )
    if path.stat().st_size == 0:
        raise SynthgateError(f"{path}: empty file")
    frame = _read(path, suffix, header)
    if frame.height == 0:
        raise SynthgateError(f"{path}: no rows")
    return frame


def table_files(folder: Path) -> list[Path]:
    """The table files directly inside `folder`, in name order (hidden files skipped)."""
    files = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS and p.is_file()
    )
    if not files:
        known = ", ".join(EXTENSIONS)
        raise SynthgateError(f"{folder}: folder holds no table files ({known})")
    return files


def _kind(path: Path) -> str:
    """'file' or 'folder'; anything else (missing, a FIFO, a symlink loop) is one clear error."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise SynthgateError(
                f"{path}: broken symbolic link (its target does not exist)"
            ) from None
        globbed = any(c in str(path) for c in "*?[")
        hint = "; paths are not globbed: pass a folder to read many files" if globbed else ""
        raise SynthgateError(f"{path}: no such file{hint}") from None
    except OSError as exc:  # a symlink loop, a permission, a file where a folder should be
        raise SynthgateError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(mode):
        return "folder"
    if not stat.S_ISREG(mode):
        what = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise SynthgateError(f"{path}: is {what}; give a file or a folder of files")
    return "file"


def _read(path: Path, suffix: str, header: bool) -> pl.DataFrame:
    sep = "\t" if suffix == ".tsv" else ","
    raw = b""
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path, glob=False)
        raw = path.read_bytes()
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(path, raw)
        return _read_delimited(path, raw, sep, header)
    except SynthgateError:
        raise
    except OSError as exc:
        raise SynthgateError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except Exception as exc:  # polars and arrow raise many types; the user needs one line
        where = _csv_problem(raw, sep, header) if raw and suffix in (".csv", ".tsv") else None
        if where:
            raise SynthgateError(f"{path}:{where}") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SynthgateError(f"{path}: cannot read {suffix[1:]} file: {first}") from exc


def _read_delimited(path: Path, raw: bytes, sep: str, header: bool) -> pl.DataFrame:
    # Every column as text: ids like "007" and labels like "1" must survive unchanged.
    # Invalid UTF-8 becomes U+FFFD so the row is kept and the quality scorer flags it.
    # A tab file is read without quoting, as TSV data sets (SMS Spam, CoLA) are written.
    if b"\n" not in raw and b"\r" in raw:  # classic Mac line endings
        raw = raw.replace(b"\r", b"\n")
    frame = pl.read_csv(
        raw,
        has_header=header,
        separator=sep,
        infer_schema=False,
        encoding="utf8-lossy",
        quote_char=None if sep == "\t" else '"',
        empty_string_is_null=False,
    )
    if not header:
        frame = frame.rename({old: str(i) for i, old in enumerate(frame.columns, start=1)})
    blank = _blank_records(raw, sep)
    if not blank:
        return frame
    rows = [i - header for i in blank if i >= header]
    if header and 0 in blank:
        raise SynthgateError(f"{path}:1: blank header line")
    keep = np.ones(frame.height, dtype=bool)
    keep[rows] = False
    return frame.filter(pl.Series(keep))


def _blank_records(raw: bytes, sep: str) -> list[int]:
    """The records (0-based, header included) that are lines with nothing on them."""
    if not re.search(rb"(?:^|\n)\r?\n", raw):
        return []
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting)
    return [i for i, record in enumerate(reader) if not record]


def _csv_problem(raw: bytes, sep: str, header: bool = True) -> str | None:
    """`LINE: what` for the first malformed record Python's csv module finds, else None."""
    text = raw.decode("utf-8-sig", errors="replace")
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting, strict=True)
    width, start = -1, 1  # start: the line the current record begins on
    first = "the header" if header else "line 1"
    try:
        for row in reader:
            if width < 0:
                width = len(row)
            elif len(row) > width:
                return f"{start}: {len(row)} fields, but {first} has {width}"
            start = reader.line_num + 1
    except csv.Error as exc:
        if "end of data" in str(exc):
            return f"{start}: unterminated quote (a field opened with '\"' is never closed)"
        return f"{start}: malformed CSV ({exc})"
    return None


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _read_jsonl(path: Path, raw: bytes) -> pl.DataFrame:
    # Lines end at \n only: str.splitlines would also split inside a string at U+2028 or
    # U+0085, which JSON allows unescaped. utf-8-sig drops a byte-order mark.
    text = raw.decode("utf-8-sig", errors="replace")
    eol = "\r" if "\n" not in text and "\r" in text else "\n"
    rows, seen = [], {}
    for lineno, line in enumerate(text.split(eol), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SynthgateError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise SynthgateError(f"{path}:{lineno}: expected a JSON object per line")
        if _ESCAPED_SURROGATE.search(line):
            row = _without_surrogates(row)
        _check_types(path, lineno, row, seen)
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    return pl.from_dicts(rows, infer_schema_length=None)


def _without_surrogates(value: Any) -> Any:
    """`value` with every lone UTF-16 surrogate replaced by U+FFFD (they cannot be UTF-8)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _check_types(path: Path, lineno: int, row: dict, seen: dict[str, tuple[str, int]]) -> None:
    """Each key keeps one JSON type (null aside): else the error names both lines."""
    for key, value in row.items():
        kind = _json_type(value)
        if kind is None:
            continue
        first, line = seen.setdefault(key, (kind, lineno))
        if first != kind:
            raise SynthgateError(
                f"{path}:{lineno}: key {key!r} holds {kind} here but {first} on line {line}"
            )


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}[type(value)]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks; of a folder, over its table files' names and
    sha256s (what `read_table` reads)."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in table_files(path):
            digest.update(f"{file.name}\0{file_sha256(file)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`. An OS error
    (a full disk, a read-only folder) is one SynthgateError naming the file and the cause, and
    the temporary file is removed."""
    if path.is_dir():
        raise SynthgateError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SynthgateError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    handle = None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a report is for others to read too
        with os.fdopen(fd, "wb") as raw:
            handle = _Watched(raw)
            write(handle)  # type: ignore[arg-type]
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        cause = _os_cause(handle.error or exc) if handle else _os_cause(exc)
        if cause:
            raise SynthgateError(f"{path}: cannot write ({cause})") from exc
        raise


class _Watched:
    """A binary file that remembers the OS error of a failed write: a writer that wraps it
    (polars' Parquet writer: 'Invalid thrift: transport error') loses the cause."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self.raw, self.error = raw, None

    def write(self, data: bytes) -> int:
        try:
            return self.raw.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.raw.flush()


def _os_cause(exc: BaseException) -> str | None:
    """The OS's words for a failed write: from an OSError, or from the message of a writer
    (polars, arrow) that wraps one ('... (os error 28)')."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    text = str(exc)
    match = re.search(r"os error (\d+)", text)
    if match:
        return os.strerror(int(match.group(1)))
    return None


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
