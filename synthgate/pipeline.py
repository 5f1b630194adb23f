"""score(): canonical input -> fit scorers -> score in batches -> gate. No files, no printing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from synthgate import config as cfg
from synthgate.embed import Embeddings
from synthgate.errors import SynthgateError
from synthgate.gate import Gate
from synthgate.inputs import Columns, canonical
from synthgate.scorers import SCORERS
from synthgate.scorers.base import Resources

Progress = Callable[[str, int, int], None]
"""progress(step, done, total): called as work advances; the CLI draws bars from it."""

GATE_COLUMNS = ("reasons", "accepted")


@dataclass
class Scored:
    """What a scoring run produced: the gated frame and what the run record needs."""

    frame: pl.DataFrame
    config: dict[str, Any]
    gate: Gate
    inactive_rules: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    real: pl.DataFrame | None = None  # the canonical real set: id, text and label if any
    embeddings: Embeddings | None = None  # every distinct text's vector, when a scorer used them


def score(
    candidates: pl.DataFrame,
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Score every candidate against `real` and gate it: the input's columns plus every score
    column, `reasons` and `accepted`, one row per candidate in input order."""
    return run_scoring(candidates, real, config, columns=columns, progress=progress).frame


def run_scoring(
    candidates: pl.DataFrame,
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
) -> Scored:
    """`score`, keeping the config, gate and timings for the run record."""
    conf = cfg.merge_config(config) if isinstance(config, dict) else cfg.load_config(config)
    columns = columns or Columns()
    report = progress or (lambda step, done, total: None)
    timings: dict[str, float] = {}
    cand = canonical(candidates, columns, "candidates")
    ref = canonical(real, columns, "real", id_prefix="real:", reference=True)
    scorers = cfg.build_scorers(conf)
    _check_clashes(candidates, scorers)
    id_col = columns.id if columns.id in candidates.columns else "id"
    # Config and user columns are checked before any scoring: a typo must not cost a long run.
    gate, inactive = _build_gate(conf, candidates, scorers)
    user_cols = [r.column for r in gate.rules if r.column in candidates.columns]
    view = candidates.select(numeric_column(candidates, c) for c in user_cols)
    resources = _resources(conf, scorers, cand, ref, report, timings)
    for scorer in scorers:
        start = time.perf_counter()
        report(f"fit {scorer.name}", 0, 1)
        scorer.fit(cand, ref, resources)
        report(f"fit {scorer.name}", 1, 1)
        timings[f"fit_{scorer.name}"] = time.perf_counter() - start
    scores = _score_batches(cand, scorers, conf["batch_size"], report, timings)
    out = candidates if id_col in candidates.columns else candidates.with_columns(id=cand["id"])
    out = pl.concat([out, scores], how="horizontal")
    start = time.perf_counter()
    decided = gate.apply(out.with_columns(view), id_col=id_col)
    gated = out.with_columns(decided.select(GATE_COLUMNS))
    timings["gate"] = time.perf_counter() - start
    if gated.height != candidates.height:  # habit 4: rows out == rows in, before any write
        raise RuntimeError(f"internal error: {candidates.height} rows in, {gated.height} out")
    device = resources.embeddings.device if resources.embeddings else "cpu"
    summaries = {s.name: s.summary_ for s in scorers if getattr(s, "summary_", None)}
    return Scored(
        gated, conf, gate, inactive, timings, device, summaries, ref, resources.embeddings
    )


def _resources(
    conf: dict,
    scorers: list,
    cand: pl.DataFrame,
    ref: pl.DataFrame,
    report: Progress,
    timings: dict,
) -> Resources:
    """Make what the enabled scorers need, once: one embedding pass over every distinct text."""
    if not any("embeddings" in s.needs for s in scorers):
        return Resources()
    start = time.perf_counter()
    embedder = cfg.build_embedder(conf)
    columns = [cand["text"], ref["text"], *([cand["source"]] if "source" in cand.columns else [])]
    embeddings = Embeddings.build(columns, embedder, report)
    timings["embed"] = time.perf_counter() - start
    return Resources(embeddings=embeddings)


def _score_batches(
    cand: pl.DataFrame, scorers: list, batch_size: int, report: Progress, timings: dict
) -> pl.DataFrame:
    parts = []
    for lo in range(0, cand.height, batch_size):
        batch = cand.slice(lo, batch_size)
        cols = []
        for scorer in scorers:
            start = time.perf_counter()
            cols.append(scorer.score(batch))
            key = f"score_{scorer.name}"
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start
        parts.append(pl.concat(cols, how="horizontal") if cols else pl.DataFrame())
        report("score", min(lo + batch_size, cand.height), cand.height)
    return pl.concat(parts, how="vertical") if parts else pl.DataFrame()


def _check_clashes(candidates: pl.DataFrame, scorers: list) -> None:
    produced = [c for s in scorers for c in s.columns] + list(GATE_COLUMNS)
    for name in produced:
        if name in candidates.columns:
            raise SynthgateError(
                f"candidates: column {name!r} clashes with an output column of synthgate; rename it"
            )


def _build_gate(conf: dict, candidates: pl.DataFrame, scorers: list) -> tuple[Gate, list[str]]:
    provided_by = {col: name for name, cls in SCORERS.items() for col in cls.columns}
    available = {*candidates.columns, "id", *(c for s in scorers for c in s.columns)}
    gate = cfg.build_gate(conf, available, provided_by)
    return gate, cfg.inactive_rules(conf, available, provided_by)


def numeric_column(frame: pl.DataFrame, column: str) -> pl.Series:
    """A rule's column as numbers: user columns read from CSV arrive as text."""
    series = frame[column]
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        return series
    if series.dtype != pl.String:
        raise SynthgateError(
            f"gate.rules.{column}: column {column!r} is {series.dtype}, not numeric"
        )
    parsed = series.str.strip_chars().cast(pl.Float64, strict=False)
    bad = parsed.is_null() & series.is_not_null() & (series.str.strip_chars() != "")
    if bad.any():
        row = int(bad.arg_max())  # type: ignore[arg-type]
        raise SynthgateError(
            f"candidates: column {column!r} row {row + 1}: {series[row]!r} is not a number "
            f"(gate.rules.{column} needs numbers)"
        )
    return parsed
