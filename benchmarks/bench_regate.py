"""`synthgate regate` on a million stored rows: seconds, against a row-by-row gate.

    python benchmarks/bench_regate.py [--rows 1000000] [--naive-rows 100000] [--seed 0]

Builds a run directory of `--rows` scored rows with every column the default rules read (random
scores, one in ten rows in a duplicate cluster), `--real-rows` real rows, and random 384-dim
float16 embeddings for both (what a default run keeps, so diversity and coverage run too), then
times, each in this process with its peak RSS read at the end:

1. `load_run` + `regate` + `write_run` without the page (what `synthgate regate` does, minus HTML);
2. rendering report.html for the same run, and `tune` (sweeps; a target acceptance 5 points
   above the run's; writing tuning.html) and `sample --n 500` on it;
3. the baseline: the same rules applied row by row in plain Python (a dict per row, the unique
   step with a seen-set) on the first `--naive-rows` rows, scaled to `--rows`.

Checks that the row-by-row baseline and `regate` accept exactly the same rows.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl

from synthgate import config as cfg
from synthgate.io.rundir import RunEmbeddings, load_run
from synthgate.job import write_run
from synthgate.pipeline import gate_step
from synthgate.regate import regate

COLUMNS = {"text": "text", "label": "label", "source": None, "id": "id"}


def scored_frame(rows: int, seed: int) -> pl.DataFrame:
    """Random scores for every default rule column; each rule alone rejects 1-4% of rows."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "id": np.arange(rows).astype(str),
        "text": np.char.add("candidate text number ", np.arange(rows).astype(str)),
        "label": rng.choice(["ham", "spam", "question"], rows),
    }
    for column, (rule, _) in cfg.DEFAULT_RULES.items():
        lo, hi, r = rule.get("min"), rule.get("max"), rng.random(rows)
        if hi is False:
            data[column] = r < 0.01  # a flag set on 1% of rows
        elif lo is not None and hi is not None:
            data[column] = lo + (hi - lo) * (r * 1.04 - 0.02)  # 2% beyond each bound
        elif lo is not None:
            data[column] = lo + r - 0.03  # 3% below
        else:
            data[column] = hi - r + 0.03  # 3% above
    data["similarity_cosine"] = np.where(r < 0.01, np.nan, data["similarity_cosine"])  # no source
    cluster = np.where(rng.random(rows) < 0.1, rng.integers(0, rows // 20, rows), -1)
    data["dedup_cluster"] = np.where(cluster >= 0, cluster.astype(str), data["id"])
    return pl.DataFrame(data).with_columns(pl.col("similarity_cosine").fill_nan(None))


def embeddings(rows: int, real_rows: int, seed: int) -> RunEmbeddings:
    """Random unit vectors (384 dims, float16 as a run stores them), built in chunks."""
    rng = np.random.default_rng(seed)

    def unit(n: int) -> np.ndarray:
        out = np.empty((n, 384), dtype=np.float16)
        for lo in range(0, n, 100_000):
            block = rng.standard_normal((min(100_000, n - lo), 384), dtype=np.float32)
            out[lo : lo + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    return RunEmbeddings(unit(rows), unit(real_rows))


def naive_gate(frame: pl.DataFrame, config: dict) -> list[bool]:
    """The gate, one row at a time: every failing rule's reason in Python, then one keeper
    per cluster among the rows that fail nothing."""
    rules = [(c, r.get("min"), r.get("max")) for c, r in config["gate"]["rules"].items()]
    kept, seen = [], set()
    for row in frame.iter_rows(named=True):
        reasons = []
        for column, lo, hi in rules:
            value = row[column]
            if value is None:
                continue
            if hi is False and value:
                reasons.append(column)
            elif hi is not None and hi is not False and value > hi:
                reasons.append(f"{column}>{hi:g}")
            if lo is not None and value < lo:
                reasons.append(f"{column}<{lo:g}")
        if not reasons and row["dedup_cluster"] in seen:
            reasons.append("duplicate_of")
        elif not reasons:
            seen.add(row["dedup_cluster"])
        kept.append(not reasons)
    return kept


def timed(step):
    start = time.perf_counter()
    out = step()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--real-rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    base = cfg.default_config()
    frame = scored_frame(args.rows, args.seed)
    looser = cfg.merge_config({"gate": {"rules": {"similarity_cosine": {"min": 0.3}}}})
    real = scored_frame(args.real_rows, args.seed + 1).select("id", "text", "label")
    vectors = embeddings(args.rows, args.real_rows, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        run = gate_step(frame, base, COLUMNS, real=real, embeddings=vectors)
        run.record["format_version"] = cfg.FORMAT_VERSION
        write_run(run, Path(tmp) / "run", html=False)
        loaded, load_s = timed(lambda: load_run(Path(tmp) / "run", vectors=True))
        new, gate_s = timed(lambda: regate(loaded, looser))
        _, write_s = timed(lambda: write_run(new, Path(tmp) / "new", html=False))
        from synthgate.report.page import render_report

        _, html_s = timed(lambda: render_report(new))
        from synthgate.tune.page import write_tuning
        from synthgate.tune.tuning import tune

        target = new.report["accepted"] / new.report["rows"] + 0.05
        tuning, tune_s = timed(lambda: tune(new))
        _, target_s = timed(lambda: tune(new, target_acceptance=target))
        _, tune_write_s = timed(lambda: write_tuning(tuning, new, Path(tmp) / "tuned"))
        from synthgate.sample import sample

        _, sample_s = timed(lambda: sample(new, 500))
    from synthgate.config import gate_for

    gate = gate_for(looser, frame)
    _, apply_s = timed(lambda: gate.apply(frame))
    sub = frame.head(args.naive_rows)
    naive, naive_s = timed(lambda: naive_gate(sub, looser))
    agree = naive == new.frame["accepted"].head(args.naive_rows).to_list()
    naive_scaled = naive_s * args.rows / args.naive_rows
    regate_s = load_s + gate_s + write_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows {args.rows:,}; accepted {new.report['accepted']:,}; peak RSS {peak_mb:,.0f} MB")
    print(
        f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
        f"polars {metadata.version('polars')}, numpy {metadata.version('numpy')}"
    )
    print()
    print("| step | seconds |")
    print("|---|---|")
    for name, secs in [
        ("load_run", load_s),
        ("regate (gate + report)", gate_s),
        ("write_run (no page)", write_s),
        ("regate total", regate_s),
        ("report.html", html_s),
        ("tune: sweeps of every bound", tune_s),
        ("tune --target-acceptance (+5 points)", target_s),
        ("tune: write tuning.html, .json, suggested.toml", tune_write_s),
        ("sample --n 500", sample_s),
        ("Gate.apply alone (reasons + unique step)", apply_s),
        (f"naive row-by-row gate, {args.naive_rows:,} rows", naive_s),
        (f"naive, scaled to {args.rows:,} rows", naive_scaled),
    ]:
        print(f"| {name} | {secs:.2f} |")
    print()
    print(
        f"naive / Gate.apply: {naive_scaled / apply_s:.1f}x; "
        f"naive / regate total (load, gate, report, write): {naive_scaled / regate_s:.1f}x; "
        f"same accepted rows on the first {args.naive_rows:,}: {agree}"
    )


if __name__ == "__main__":
    main()
