"""The run directory: everything a later command needs, read back and validated, or written."""

from __future__ import annotations

import io
import json
import shutil
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.io import runcheck as check
from synthgate.io.files import write_atomic, write_parquet, write_text

REQUIRED = ("run.json", "config.toml", "scored.parquet", "accepted.parquet", "report.json")
"""Files every run has; run.json is written last, so its presence means the run finished."""
REAL_FILE = "real.parquet"  # id, text, label of the real set (what diversity compares with)
EMBEDDINGS_FILE = "embeddings.npz"  # float16 unit vectors: `candidates` and `real`, row-aligned
HTML_FILE = "report.html"
RUN_FILES = (*REQUIRED, REAL_FILE, EMBEDDINGS_FILE, HTML_FILE)
"""Every file a run may write (embeddings.npz only when a scorer embedded and save_embeddings)."""
TUNING_FILES = ("tuning.html", "tuning.json", "suggested.toml")
EVALUATION_FILES = ("evaluation.json", "evaluation.html")
DERIVED = (*TUNING_FILES, *EVALUATION_FILES)
"""Files later commands write into a run directory: stale once the run is rewritten."""


@dataclass
class RunEmbeddings:
    """Row-aligned unit vectors; a zero row is a text with no vector (blank)."""

    candidates: np.ndarray
    real: np.ndarray


@dataclass
class Run:
    """A scored, gated run: the frame every later command reads, and what produced it."""

    frame: pl.DataFrame
    config: dict[str, Any]
    record: dict[str, Any]
    report: dict[str, Any]
    columns: dict[str, str | None] = field(default_factory=dict)
    real: pl.DataFrame | None = None
    embeddings: RunEmbeddings | None = None
    path: Path | None = None

    @property
    def id_col(self) -> str:
        """The id column of `frame`."""
        return self.columns.get("id") or "id"

    @property
    def text_col(self) -> str:
        """The text column of `frame`."""
        return self.columns.get("text") or "text"

    @property
    def label_col(self) -> str | None:
        """The label column of `frame`, or None when the candidates had no labels."""
        name = self.columns.get("label", "label")
        return name if name and name in self.frame.columns else None


def load_run(path: str | Path, *, vectors: bool = False) -> Run:
    """Read a run directory; every problem is one SynthgateError naming the file. `vectors`:
    also read embeddings.npz (0.8 KB a row; only regate, which recomputes coverage, needs it)."""
    root = Path(path)
    if not root.is_dir():
        raise SynthgateError(f"{root}: no such run directory")
    missing = [name for name in REQUIRED if not (root / name).is_file()]
    if missing:
        hint = (
            " (run.json is written last: the run did not finish)" if "run.json" in missing else ""
        )
        raise SynthgateError(
            f"{root}: not a synthgate run directory: missing {', '.join(missing)}{hint}"
        )
    record = _json(root / "run.json")
    version = record.get("format_version")
    if version != cfg.FORMAT_VERSION:
        raise SynthgateError(
            f"{root / 'run.json'}: format_version {version!r} is not supported "
            f"(this synthgate reads {cfg.FORMAT_VERSION}); re-score with this version"
        )
    columns = check.record_columns(root / "run.json", record)
    counts = record["counts"]
    config = _config(root / "config.toml")
    report = _json(root / "report.json")
    check.check_report(root / "report.json", report, counts)
    frame = _parquet(root / "scored.parquet")
    check.check_frame(root / "scored.parquet", frame, columns, counts)
    check.check_accepted(root / "accepted.parquet", counts)
    real = _parquet(root / REAL_FILE) if (root / REAL_FILE).is_file() else None
    if real is not None:
        check.check_real(root / REAL_FILE, real)
    return Run(
        frame=frame,
        config=config,
        record=record,
        report=report,
        columns=columns,
        real=real,
        embeddings=_embeddings(root / EMBEDDINGS_FILE, frame.height, real) if vectors else None,
        path=root,
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SynthgateError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SynthgateError(f"{path}: expected a JSON object")
    return data


def _config(path: Path) -> dict[str, Any]:
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SynthgateError(f"{path}: cannot read TOML: {exc}") from exc
    try:
        return cfg.merge_config(user)
    except SynthgateError as exc:
        raise SynthgateError(f"{path}: {exc}") from exc


def _parquet(path: Path) -> pl.DataFrame:
    try:
        # One chunk: later passes run several times faster. A path is a path: no globbing.
        return pl.read_parquet(path, glob=False).rechunk()
    except Exception as exc:  # arrow raises many types; the user needs one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SynthgateError(f"{path}: cannot read parquet: {first}") from exc


def _embeddings(path: Path, rows: int, real: pl.DataFrame | None) -> RunEmbeddings | None:
    if not path.is_file():
        return None
    try:
        with np.load(
            path, allow_pickle=False
        ) as data:  # never pickle: a run may come from elsewhere
            found = RunEmbeddings(data["candidates"], data["real"])
    except Exception as exc:
        raise SynthgateError(f"{path}: cannot read embeddings: {exc}") from exc
    n_real = real.height if real is not None else len(found.real)
    check.check_vectors(path, found.candidates, found.real, rows, n_real)
    return found


Page = Callable[[Run], str]
"""A page drawn from a run (report.html): written with the run's other files."""


def write_files(
    run: Run,
    out_dir: str | Path,
    pages: Mapping[str, Page] | None = None,
    started: float | None = None,
) -> Path:
    """Write every file of `run` atomically into `out_dir`, and `pages` drawn from it; run.json
    goes last, once. `started` (a perf_counter reading): record the write and total times."""
    out = Path(out_dir)
    t0 = time.perf_counter()
    if out.exists() and not out.is_dir():
        raise SynthgateError(f"{out}: exists and is not a directory")
    (out / "run.json").unlink(missing_ok=True)  # until it is rewritten, the dir is unfinished
    kept = {REAL_FILE: run.real is not None, EMBEDDINGS_FILE: run.embeddings is not None}
    for name in (*DERIVED, *(n for n, keep in kept.items() if not keep), HTML_FILE):
        (out / name).unlink(missing_ok=True)  # nothing of an earlier run may pass for this one
    write_parquet(out / "scored.parquet", run.frame)
    write_parquet(out / "accepted.parquet", run.frame.filter(pl.col("accepted")))
    write_text(out / "report.json", json.dumps(run.report, indent=2) + "\n")
    write_text(out / "config.toml", cfg.dumps(run.config))
    if run.real is not None:
        write_parquet(out / REAL_FILE, run.real)
    if run.embeddings is not None:
        _write_embeddings(run, out)
    for name, draw in (pages or {}).items():
        write_text(out / name, draw(replace(run, path=out)))
    if started is not None:
        now = time.perf_counter()
        timings = run.record.setdefault("timings_s", {})
        timings |= {"write": round(now - t0, 4), "total": round(now - started, 4)}
    write_text(out / "run.json", json.dumps(run.record, indent=2) + "\n")
    return out


def _write_embeddings(run: Run, out: Path) -> None:
    assert run.embeddings is not None
    source = run.path / EMBEDDINGS_FILE if run.path else None
    if source is not None and source.is_file() and run.path != out:

        def copy(handle: io.BufferedWriter) -> None:
            with source.open("rb") as stored:
                shutil.copyfileobj(stored, handle)

        write_atomic(out / EMBEDDINGS_FILE, copy)
        return
    buffer = io.BytesIO()
    np.savez(
        buffer,
        candidates=run.embeddings.candidates.astype(np.float16),
        real=run.embeddings.real.astype(np.float16),
    )
    write_atomic(out / EMBEDDINGS_FILE, lambda handle: handle.write(buffer.getvalue()))
