"""The two steps of every job: `score_step` (fit every scorer once, then score in batches) and
`gate_step` (the gate over the scores, report.json built). No files, no printing.

`synthgate score`, `regate` and the generator's rounds all go through these two steps; only
the gate decides, and it runs once per job.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate import config as cfg
from synthgate.embed import Embeddings
from synthgate.errors import SynthgateError
from synthgate.gate import GATE_COLUMNS, gate_frame, numeric_column
from synthgate.io.files import read_table
from synthgate.io.inputs import Columns, canonical
from synthgate.io.rundir import Run, RunEmbeddings
from synthgate.progress import Progress, silent
from synthgate.report.diversity import run_diversity
from synthgate.report.summary import build_report
from synthgate.resources import Resources
from synthgate.scorers import Scorer, provided_by, score_columns
from synthgate.scorers.base import reads


@dataclass
class Scored:
    """What the score step produced: every candidate with its scores, not yet decided."""

    frame: pl.DataFrame  # the input's columns, `id` where it had none, every score column
    config: dict[str, Any]
    columns: dict[str, str | None]  # role (text, label, source, id) -> column of `frame`
    real: pl.DataFrame  # the canonical real set: id, text and label if any
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    embeddings: Embeddings | None = None  # every distinct text's vector, when a scorer used them

    def vectors(self) -> RunEmbeddings | None:
        """Row-aligned candidate and real vectors as embeddings.npz keeps them (float16), so
        the report of a run and of its regate measure the same numbers; None if not embedded."""
        if self.embeddings is None:
            return None
        cand, _ = self.embeddings.of(self.frame[self.columns["text"] or "text"])
        real, _ = self.embeddings.of(self.real["text"])
        return RunEmbeddings(cand.astype(np.float16), real.astype(np.float16))


Table = pl.DataFrame | str | Path
"""A table given to `score`: a DataFrame, or the path of a file `read_table` reads."""


def score(
    candidates: Table,
    real: Table,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Score every candidate against `real` and gate it: the input's columns plus every score
    column, `reasons` and `accepted`, one row per candidate in input order. `candidates` and
    `real` are DataFrames or paths (.csv, .tsv, .jsonl, .parquet)."""
    cand, ref = _table(candidates, "candidates"), _table(real, "real")
    scored = score_step(cand, ref, config, columns=columns, progress=progress)
    gate = cfg.gate_for(scored.config, scored.frame)
    return gate_frame(scored.frame, gate, id_col=scored.columns["id"] or "id")


def _table(value: Table, name: str) -> pl.DataFrame:
    """`value` as a DataFrame: itself, or the file it names; anything else is an error."""
    if isinstance(value, pl.DataFrame):
        return value
    if isinstance(value, str | Path):
        return read_table(value)
    raise SynthgateError(
        f"{name}: must be a polars DataFrame or a path to a .csv, .tsv, .jsonl or .parquet "
        f"file; got {_type_name(value)}"
    )


def _type_name(value: object) -> str:
    """`list`, `pandas.core.frame.DataFrame`: a pandas frame must not read as a polars one."""
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def score_step(
    candidates: pl.DataFrame,
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
) -> Scored:
    """Every scorer fitted once over the whole candidate and real sets (the corpus-level
    step), then every candidate scored batch by batch (the row-local step)."""
    conf = cfg.merge_config(config) if isinstance(config, dict) else cfg.load_config(config)
    columns = columns or Columns()
    report = progress or silent
    cand = canonical(candidates, columns, "candidates")
    ref = canonical(real, columns, "real", id_prefix="real:", reference=True)
    scorers: list[Scorer] = cfg.build_scorers(conf)
    _check_before_work(conf, candidates, scorers)
    needs = {name for s in scorers for name in s.needs}
    resources = Resources(config=conf, declared=needs, rows=(cand, ref), progress=report)
    if "t5" in needs:  # a checkpoint that cannot be loaded fails before any other work
        resources.get("t5", cand, ref).load()
    for scorer in scorers:  # so does a model of a scorer's own
        getattr(scorer, "prepare", lambda: None)()
    timings = _fit(scorers, cand, ref, resources, report)
    scores = _score_batches(cand, scorers, conf["batch_size"], report, timings)
    roles = _roles(columns, candidates)
    out = (
        candidates if roles["id"] in candidates.columns else candidates.with_columns(id=cand["id"])
    )
    out = pl.concat([out, scores], how="horizontal")
    if out.height != candidates.height:  # habit 4: rows out == rows in, before any write
        raise RuntimeError(f"internal error: {candidates.height} rows in, {out.height} out")
    summaries = {s.name: s.summary_ for s in scorers if s.summary_}
    return Scored(out, conf, roles, ref, timings, resources.device, summaries, resources.embeddings)


def gate_scored(scored: Scored, config: dict[str, Any], keep: Collection[str] = ()) -> Run:
    """`gate_step` over what `score_step` produced: its scores, real rows, summaries, and its
    embeddings when the config keeps them."""
    return gate_step(
        scored.frame,
        config,
        scored.columns,
        real=scored.real,
        embeddings=scored.vectors() if config["save_embeddings"] else None,
        summaries=scored.summaries,
        keep=keep,
    )


def gate_step(
    frame: pl.DataFrame,
    config: dict[str, Any],
    columns: dict[str, str | None],
    *,
    real: pl.DataFrame | None = None,
    embeddings: RunEmbeddings | None = None,
    summaries: dict[str, dict[str, Any]] | None = None,
    record: dict[str, Any] | None = None,
    keep: Collection[str] = (),
) -> Run:
    """A Run from a frame of scores: `config`'s gate applied, report built, counts recorded.
    `keep`: ids of rows accepted by an earlier round of generation, whose acceptance stands
    whatever this gate says (a cluster merge or a refit must not take it back)."""
    gate = cfg.gate_for(config, frame)
    id_col = columns.get("id") or "id"
    out = gate_frame(frame, gate, id_col=id_col)
    held = pl.col(id_col).cast(pl.String).is_in(list(keep)) & ~pl.col("accepted")
    kept = out.select(held.sum()).item() if keep else 0
    if kept:
        out = out.with_columns(
            reasons=pl.when(held).then(pl.lit([], pl.List(pl.String))).otherwise("reasons"),
            accepted=pl.col("accepted") | held,
        )
    label = columns.get("label")
    label = label if label and label in out.columns else None
    available = set(out.columns) - set(GATE_COLUMNS)
    inactive = cfg.inactive_rules(config, available, provided_by())
    report = build_report(out, gate, score_columns(out), label, inactive, summaries)
    report["diversity"] = run_diversity(out, columns, real, embeddings, config["seed"])
    if keep:
        report["kept_by_earlier_rounds"] = kept
    record = dict(record or {})
    record |= {
        "config": config,
        "config_sha256": cfg.sha256(config),
        "columns": columns,
        "counts": {k: report[k] for k in ("rows", "accepted", "rejected")},
    }
    return Run(out, config, record, report, columns, real, embeddings)


def _fit(
    scorers: list[Scorer],
    cand: pl.DataFrame,
    ref: pl.DataFrame,
    resources: Resources,
    report: Progress,
) -> dict[str, float]:
    """Fit each scorer on the columns it reads; time resources apart from the fits."""
    timings: dict[str, float] = {}
    for scorer in scorers:
        start, shared = time.perf_counter(), sum(resources.timings.values())
        report(f"fit {scorer.name}", 0, 1)
        scorer.fit(reads(cand, scorer), ref, resources)
        report(f"fit {scorer.name}", 1, 1)
        built = sum(resources.timings.values()) - shared
        timings[f"fit_{scorer.name}"] = time.perf_counter() - start - built
    return resources.timings | timings


def _score_batches(
    cand: pl.DataFrame,
    scorers: list[Scorer],
    batch_size: int,
    report: Progress,
    timings: dict[str, float],
) -> pl.DataFrame:
    parts = []
    report("score", 0, cand.height)
    for lo in range(0, cand.height, batch_size):
        batch = cand.slice(lo, batch_size)
        cols = []
        for scorer in scorers:
            start = time.perf_counter()
            cols.append(scorer.score(reads(batch, scorer)))
            key = f"score_{scorer.name}"
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start
        parts.append(pl.concat(cols, how="horizontal") if cols else pl.DataFrame())
        report("score", min(lo + batch_size, cand.height), cand.height)
    return pl.concat(parts, how="vertical") if parts else pl.DataFrame()


def _check_before_work(conf: dict, candidates: pl.DataFrame, scorers: list[Scorer]) -> None:
    """Clashing columns, the gate's config and the user columns it reads: a typo must not
    cost a long run."""
    produced = [c for s in scorers for c in s.columns] + list(GATE_COLUMNS)
    for name in produced:
        if name in candidates.columns:
            raise SynthgateError(
                f"candidates: column {name!r} clashes with an output column of synthgate; rename it"
            )
    available = {*candidates.columns, "id", *(c for s in scorers for c in s.columns)}
    gate = cfg.build_gate(conf, available, provided_by())
    for rule in gate.rules:
        if rule.column in candidates.columns:
            numeric_column(candidates, rule.column)


def _roles(columns: Columns, candidates: pl.DataFrame) -> dict[str, str | None]:
    """Role -> column of the scored frame (None where the candidates had no such column)."""
    roles = {r: getattr(columns, r) for r in ("text", "label", "source")}
    out = {r: (c if c in candidates.columns else None) for r, c in roles.items()}
    return out | {"id": columns.id if columns.id in candidates.columns else "id"}
