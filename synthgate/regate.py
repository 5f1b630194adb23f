"""Gate stored scores: a new config's thresholds applied with no model and no re-scoring."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from synthgate import config as cfg
from synthgate.diversity import diversity
from synthgate.errors import SynthgateError
from synthgate.pipeline import GATE_COLUMNS, numeric_column
from synthgate.report import build_report
from synthgate.rundir import Run, RunEmbeddings, gate_for, provided_by, score_columns

RESCORE_KEYS = ("seed", "embedding", "scorers")
"""Config tables the stored scores depend on: changing them means running `score` again."""


def gated_run(
    frame: pl.DataFrame,
    config: dict[str, Any],
    columns: dict[str, str | None],
    *,
    real: pl.DataFrame | None = None,
    embeddings: RunEmbeddings | None = None,
    summaries: dict[str, dict[str, Any]] | None = None,
    record: dict[str, Any] | None = None,
) -> Run:
    """A Run from a frame of scores: `config`'s gate applied, report built, counts recorded."""
    base = frame.drop([c for c in GATE_COLUMNS if c in frame.columns])
    gate = gate_for(config, base)
    id_col = columns.get("id") or "id"
    stored = set(score_columns(base))
    view = base.select(numeric_column(base, r.column) for r in gate.rules if r.column not in stored)
    decided = gate.apply(base.with_columns(view), id_col=id_col)
    out = base.with_columns(decided.select(GATE_COLUMNS))
    label = columns.get("label")
    label = label if label and label in out.columns else None
    inactive = cfg.inactive_rules(config, set(base.columns), provided_by())
    report = build_report(out, gate, score_columns(out), label, inactive, summaries)
    report["diversity"] = run_diversity(out, columns, real, embeddings, config["seed"])
    record = dict(record or {})
    record |= {
        "config": config,
        "config_sha256": cfg.sha256(config),
        "columns": columns,
        "counts": {k: report[k] for k in ("rows", "accepted", "rejected")},
    }
    return Run(out, config, record, report, columns, real, embeddings)


def run_diversity(
    frame: pl.DataFrame,
    columns: dict[str, str | None],
    real: pl.DataFrame | None,
    embeddings: RunEmbeddings | None,
    seed: int,
) -> dict[str, Any]:
    """diversity() of the accepted rows of a gated frame beside the real set."""
    mask = frame["accepted"].to_numpy()
    text, label = columns.get("text") or "text", columns.get("label")
    keep = [pl.col(text).alias("text")]
    if label and label in frame.columns:
        keep.append(pl.col(label).cast(pl.String).alias("label"))
    accepted = frame.filter(pl.col("accepted")).select(keep)
    vectors = (None, None)
    if embeddings is not None:
        vectors = (embeddings.candidates[np.flatnonzero(mask)], embeddings.real)
    return diversity(accepted, real, *vectors, seed=seed)


def regate(run: Run, config: dict[str, Any]) -> Run:
    """`run` gated again under `config`; refused when `config` changes what the scores mean."""
    for key in RESCORE_KEYS:
        changed = _first_difference(run.config[key], config[key], key)
        if changed:
            raise SynthgateError(
                f"{changed}: differs from the run's config, and the stored scores depend on it; "
                "run `synthgate score` again to apply it"
            )
    start = time.perf_counter()
    record = {
        **run.record,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "regated_from": {
            "path": str(run.path) if run.path else None,
            "config_sha256": run.record.get("config_sha256"),
        },
    }
    new = gated_run(
        run.frame,
        config,
        run.columns,
        real=run.real,
        embeddings=run.embeddings if config["save_embeddings"] else None,
        summaries=run.report.get("scorers"),
        record=record,
    )
    new.record["timings_s"] = {"regate": round(time.perf_counter() - start, 4)}
    return replace(new, path=run.path)


def _first_difference(old: Any, new: Any, path: str) -> str | None:
    """The dotted path of the first value that differs, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    return None if old == new else path
