"""The generator stage: prompts from real rows, a generator's outputs, and the quota loop that
generates, scores and gates in rounds until each label has its accepted rows."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.generate.holdout import LEAK_COLUMN, LEAK_RULE, leak_flags, without_holdout
from synthgate.generate.rows import Generation, start
from synthgate.generate.settings import check_quota
from synthgate.io.inputs import Columns, canonical
from synthgate.io.rundir import Run
from synthgate.pipeline import gate_scored, score_step
from synthgate.progress import Progress, silent


def quotas(real: pl.DataFrame, table: dict[str, Any], n: int | None = None) -> dict[str, int]:
    """Rows wanted per label: `n`, else per_label, else (balance) up to the largest label's
    real count. Labels outside the real set are an error naming them."""
    counts = dict(real.group_by("label", maintain_order=True).len().iter_rows())
    counts = {str(k): v for k, v in counts.items() if k is not None}
    labels = table["labels"] or list(counts)
    missing = [label for label in labels if label not in counts]
    if missing:
        raise SynthgateError(
            f"generate.labels: label {missing[0]!r} has no real rows to build prompts from; "
            f"labels found: {', '.join(counts)}"
        )
    if n is None:
        check_quota(table)
    if n is not None or table["per_label"]:
        return {label: n or table["per_label"] for label in labels}
    top = max(counts.values())
    return {label: top - counts[label] for label in labels if top > counts[label]}


def real_rows(real: pl.DataFrame, columns: Columns | None) -> pl.DataFrame:
    """The real set as id, text, label; generating needs labels."""
    rows = canonical(real, columns or Columns(), "real", id_prefix="real:", reference=True)
    if "label" not in rows.columns:
        label = (columns or Columns()).label
        raise SynthgateError(f"real: no label column {label!r}; generating needs labelled rows")
    return rows


def generate(
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    n: int | None = None,
    columns: Columns | None = None,
    progress: Progress | None = None,
    holdout: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`synthgate generate`: one round of candidates, no scoring; the quota (`n`, per_label
    or balance) counts generated rows per label. Rows carry GENERATED_SCHEMA's columns. No
    `holdout` row is a prompt source."""
    conf = _config(config)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise SynthgateError(f"--n: must be an int >= 1; got {n!r}")
    rows = real_rows(real, columns)
    hold = _holdout(holdout, columns)
    job = start(rows if hold is None else without_holdout(rows, hold), conf)
    plan = {k: v for k, v in quotas(rows, conf["generate"], n).items() if v > 0}
    if plan:
        job.add(plan, 1, progress or silent)
    return job.frame


@dataclass
class RoundsResult:
    """The last round's run (every generated row scored and gated) and the generation."""

    run: Run
    generation: Generation
    timings: dict[str, float]
    device: str


def run_rounds(
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
    holdout: pl.DataFrame | None = None,
) -> RoundsResult:
    """Generate → score → gate in rounds, only for the labels still short, until each label
    has its quota of accepted rows or has generated max_factor × its quota. Each round scores
    every row so far, so later rows are deduplicated against the real set and all earlier
    candidates; the last round's run is what `synthgate score` gives for all of them. With a
    `holdout` (the user's test rows), none of its rows is a prompt source and a candidate
    that copies one is rejected with reason `leak_holdout`."""
    conf = _config(config)
    report = progress or silent
    rows = real_rows(real, columns)
    hold = _holdout(holdout, columns)
    if hold is not None:
        conf["gate"]["rules"][LEAK_COLUMN] = dict(LEAK_RULE)
    job = start(rows if hold is None else without_holdout(rows, hold), conf)
    quota = quotas(rows, conf["generate"])
    budget = {k: math.ceil(v * conf["generate"]["max_factor"]) for k, v in quota.items()}
    accepted_ids: set[str] = set()
    run, timings, device = None, {"generate": 0.0}, "cpu"
    for round_no in range(1, 10_000):
        plan = _plan(quota, budget, job.frame, run)
        if not plan:
            break
        t0 = time.perf_counter()
        job.add(plan, round_no, report)
        timings["generate"] += time.perf_counter() - t0
        frame = job.frame
        if hold is not None:
            frame = frame.with_columns(leak_flags(frame, hold, conf, report))
        scored = score_step(frame, rows, conf, progress=report)
        run = gate_scored(scored, conf, keep=accepted_ids)
        timings |= {k: timings.get(k, 0.0) + v for k, v in scored.timings.items()}
        device = scored.device
        accepted_ids = _record_round(job, run, round_no, plan)
    if run is None:
        raise SynthgateError("generate: every label already has its quota; nothing to generate")
    run.report["generation"] = yields(run.frame, quota)
    run.report["generation"]["kept_by_earlier_rounds"] = job.rounds[-1]["kept_by_earlier_rounds"]
    if hold is not None:
        run.report["generation"]["leak_holdout"] = int(run.frame[LEAK_COLUMN].sum())
    return RoundsResult(run, job, timings, device)


def _config(config: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    """A config dict (merged over the defaults), a TOML path, or None for the defaults."""
    return cfg.merge_config(config) if isinstance(config, dict) else cfg.load_config(config)


def _holdout(holdout: pl.DataFrame | None, columns: Columns | None) -> pl.DataFrame | None:
    if holdout is None:
        return None
    return canonical(holdout, columns or Columns(), "holdout", "holdout:", reference=True)


def _plan(
    quota: dict[str, int], budget: dict[str, int], frame: pl.DataFrame, run: Run | None
) -> dict[str, int]:
    """Rows to generate per label this round: what is still short, scaled up by the label's
    yield so far, within what is left of its max_factor budget."""
    plan = {}
    for label, want in quota.items():
        made = frame.filter(pl.col("label") == label).height
        kept = (
            run.frame.filter((pl.col("label") == label) & pl.col("accepted")).height if run else 0
        )
        short, left = want - kept, budget[label] - made
        if short <= 0 or left <= 0:
            continue
        rate = max(kept / made if made else 1.0, 1.0 / budget[label] * want)
        plan[label] = min(left, math.ceil(short / rate))
    return plan


def _record_round(job: Generation, run: Run, round_no: int, plan: dict[str, int]) -> set[str]:
    """Append the round's counts to the generation record; return the ids accepted now.
    `kept_by_earlier_rounds`: rows this round's gate would have rejected whose acceptance in
    an earlier round stood (a cluster merge or a refit)."""
    frame = run.frame
    accepted = set(frame.filter("accepted")["id"].to_list())
    this = frame.filter(pl.col("round") == round_no)
    per_label = {
        label: {
            "generated": n,
            "accepted": this.filter((pl.col("label") == label) & pl.col("accepted")).height,
        }
        for label, n in plan.items()
    }
    kept = run.report.pop("kept_by_earlier_rounds", 0)
    job.rounds.append(
        {
            "round": round_no,
            "labels": per_label,
            "batch_sizes": job.batches[-1],
            "kept_by_earlier_rounds": kept,
        }
    )
    return accepted


def yields(frame: pl.DataFrame, quota: dict[str, int]) -> dict[str, Any]:
    """report.json's `generation`: per label its quota, generated and accepted rows and yield
    (accepted ÷ generated), per round too, and the reasons of the rejected rows."""
    out: dict[str, Any] = {"by_label": {}, "by_round": {}}
    for label, want in quota.items():
        rows = frame.filter(pl.col("label") == label)
        out["by_label"][label] = _counts(rows) | {"quota": want}
    for (round_no,), rows in frame.group_by("round", maintain_order=True):
        out["by_round"][str(round_no)] = _counts(rows)
    return out


def _counts(rows: pl.DataFrame) -> dict[str, Any]:
    kept = rows.filter("accepted").height
    reasons = rows["reasons"].explode().drop_nulls()
    reasons = reasons.str.replace(r"^duplicate_of:.*", "duplicate_of")
    return {
        "generated": rows.height,
        "accepted": kept,
        "yield": round(kept / rows.height, 4) if rows.height else None,
        "rejected_by_reason": dict(sorted(reasons.value_counts().iter_rows(), key=lambda r: -r[1])),
    }
