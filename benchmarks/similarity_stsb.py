"""`similarity_cosine` against human similarity judgements (STS Benchmark train).

    python benchmarks/similarity_stsb.py

Each STS-B pair becomes a candidate (sentence 2) with its source (sentence 1), scored by the
default embedding model. Prints Spearman's rho against the gold 0-5 scores and how each gold band
falls inside the default gate band for `similarity_cosine`. Results: benchmarks/README.md.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import polars as pl
from scipy.stats import spearmanr

import synthgate
from synthgate.config import DEFAULT_RULES, merge_config

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def stsb() -> pl.DataFrame:
    """Score, sentence 1, sentence 2: fields 5-7 of the tab-separated file, no quoting."""
    rows = []
    for line in (SHARED / "data/stsb/sts-train.csv").open(encoding="utf-8"):
        fields = line.rstrip("\n").split("\t")
        if len(fields) >= 7:
            rows.append((float(fields[4]), fields[5], fields[6]))
    return pl.DataFrame(rows, schema=["gold", "source", "text"], orient="row")


def main() -> None:
    pairs = stsb()
    only_similarity = merge_config(
        {"scorers": {n: {"enabled": n == "similarity"} for n in synthgate.config.SCORERS}}
    )
    real = pairs.select(pl.col("source").alias("text")).unique()
    start = time.perf_counter()
    out = synthgate.score(pairs, real, only_similarity)
    seconds = time.perf_counter() - start
    rho = spearmanr(out["similarity_cosine"], out["gold"]).statistic
    print(f"STS-B train: {out.height:,} pairs, {seconds:.0f} s; Spearman rho = {rho:.4f}\n")
    band = DEFAULT_RULES["similarity_cosine"][0]
    lo, hi = band.get("min", -1.0), band.get("max", 1.0)
    print(f"| gold score | pairs | cosine p5 | p50 | p95 | below {lo} | above {hi} |")
    print("|---|---|---|---|---|---|---|")
    edges = [0.0, 1.0, 2.0, 3.0, 4.0, 4.999, 5.01]
    for a, b in itertools.pairwise(edges):
        part = out.filter((pl.col("gold") >= a) & (pl.col("gold") < b))["similarity_cosine"]
        name = "5.0" if a == 4.999 else f"{a:.0f}-{b:.0f}"
        q = [part.quantile(x) for x in (0.05, 0.5, 0.95)]
        print(
            f"| {name} | {part.len()} | {q[0]:.3f} | {q[1]:.3f} | {q[2]:.3f} | "
            f"{(part < lo).mean():.1%} | {(part > hi).mean():.1%} |"
        )


if __name__ == "__main__":
    main()
