"""Speed, memory and agreement of synthgate on synthetic SMS candidates.

    python benchmarks/bench_score.py [--rows 100000] [--naive-rows 5000] [--seed 0]

Builds `--rows` candidates from SMS Spam (word edits, copies, loops, artifacts, shuffled-word
texts, within-candidate duplicates), then in a fresh subprocess per measurement:

1. times `synthgate.run_job` (what `synthgate score` runs: read, score, gate, write) with its
   peak RSS and the per-step timings of run.json;
2. on the first `--naive-rows` candidates, times `synthgate.score` against the row-by-row
   reference `benchmarks/naive_baseline.py` (exact pairwise Jaccard, no MinHash) and measures
   how often they agree, and the recall of synthgate's MinHash-LSH against the exact search.

Reads ../shared/data (or $SYNTHGATE_SHARED/data). Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
from naive_baseline import lexical_config, naive_score  # beside this script: sys.path[0]

import synthgate
from synthgate.config import default_config, dumps
from synthgate.io.files import read_table

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SYNTHGATE_SHARED", REPO.parent / "shared"))
SMS = SHARED / "data/sms_spam/SMSSpamCollection.tsv"
LIBRARIES = ("polars", "numpy", "datasketch")

# kind -> share of candidates
MIX = {"edit": 0.60, "copy": 0.10, "loop": 0.10, "artifact": 0.05, "shuffle": 0.10, "dup": 0.05}
ARTIFACTS = (" <|endoftext|>", " </s>", " <pad> <pad>", " [SEP]", "<|im_end|>", "\n=====\n")


# ---- data ------------------------------------------------------------------------------------


def read_sms() -> pl.DataFrame:
    """SMS Spam as label, text: tab-separated, no header, no quoting."""
    if not SMS.is_file():
        sys.exit(f"{SMS} not found (set SYNTHGATE_SHARED)")
    rows = [line.rstrip("\n").split("\t", 1) for line in SMS.open(encoding="utf-8")]
    return pl.DataFrame({"label": [r[0] for r in rows], "text": [r[1] for r in rows]})


def edit(words: list[str], rng: random.Random, vocab: list[str]) -> str:
    """1-4 edits, each a swap of two words or a word replaced from `vocab`."""
    words = list(words)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(words))
        if len(words) > 1 and rng.random() < 0.5:
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        else:
            words[i] = rng.choice(vocab)
    return " ".join(words)


def loop(words: list[str], rng: random.Random) -> str:
    """The opening words, then a 1-4 word phrase of the text repeated 4-8 times."""
    start = rng.randrange(len(words))
    phrase = " ".join(words[start : start + rng.randint(1, 4)])
    return " ".join([*words[:3], *[phrase] * rng.randint(4, 8)])


def shuffled(words: list[str], other: list[str], rng: random.Random) -> str:
    """A novel text: the words of two messages mixed, as long as the first."""
    pool = words + other
    rng.shuffle(pool)
    return " ".join(pool[: max(3, len(words))])


def make_one(kind: str, i: int, src: str, texts: list[str], ctx: dict[str, Any]) -> str:
    """One candidate of `kind` made from the real text `src`."""
    rng: random.Random = ctx["rng"]
    words = src.split() or ["ok"]
    if kind == "copy":
        return src
    if kind == "loop":
        return loop(words, rng)
    if kind == "artifact":
        return src + rng.choice(ARTIFACTS)
    if kind == "shuffle":
        return shuffled(words, rng.choice(texts).split(), rng)
    if kind == "dup" and i > 0:
        return ctx["out"][rng.randrange(i)]
    return edit(words, rng, ctx["vocab"])


def build_candidates(real: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """`n` candidates in the MIX of kinds, each with its source row's label; the same for the
    same seed."""
    rng = random.Random(seed)
    texts, labels = real["text"].to_list(), real["label"].to_list()
    vocab = sorted({w for t in texts for w in t.split()})
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    sources = [rng.randrange(len(texts)) for _ in range(n)]
    ctx: dict[str, Any] = {"rng": rng, "out": [], "vocab": vocab}
    for i, (kind, src) in enumerate(zip(kinds, sources, strict=True)):
        ctx["out"].append(make_one(kind, i, texts[src], texts, ctx))
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "text": ctx["out"],
            "label": [labels[src] for src in sources],
            "source": [texts[src] for src in sources],
            "kind": kinds,
        }
    )


# ---- measurements, each in a fresh process ---------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_job(cand: Path, real: Path, out: Path) -> dict[str, Any]:
    """`synthgate.run_job` once: wall time, peak RSS, run.json's timings and counts."""
    base = peak_rss_mb()
    start = time.perf_counter()
    config = out.parent / "lexical.toml"
    config.write_text(dumps(lexical_config()))
    synthgate.run_job(cand, real, out, config)
    wall = time.perf_counter() - start
    run = json.loads((out / "run.json").read_text())
    return {
        "wall_s": wall,
        "peak_rss_mb": peak_rss_mb(),
        "import_rss_mb": base,
        "timings_s": run["timings_s"],
        "counts": run["counts"],
    }


def measure_compare(cand: Path, real: Path, rows: int) -> dict[str, Any]:
    """`synthgate.score` against `naive_score` on the first `rows` candidates."""
    cands, reals = read_table(cand).head(rows), read_table(real)
    start = time.perf_counter()
    fast = synthgate.score(cands.drop("source"), reals, lexical_config())
    fast_s = time.perf_counter() - start
    cand_rows = cands.select("id", "text", "label").to_dicts()
    start = time.perf_counter()
    slow = naive_score(cand_rows, reals.to_dicts())
    naive_s = time.perf_counter() - start
    return {
        "rows": cands.height,
        "synthgate_s": fast_s,
        "naive_s": naive_s,
        **agreement(fast, pl.DataFrame(slow, infer_schema_length=None)),
    }


def agreement(fast: pl.DataFrame, slow: pl.DataFrame) -> dict[str, Any]:
    """Accepted agreement, LSH recall/precision against exact Jaccard, metric mismatches."""
    cut = default_config()["gate"]["rules"]["dedup_real_jaccard"]["max"]
    exact_j = slow["dedup_real_jaccard"].fill_null(0.0)
    fast_j = fast["dedup_real_jaccard"].fill_null(0.0)
    near = exact_j > cut
    not_copy = near & ~slow["dedup_real_exact"].fill_null(False)
    differ = fast["accepted"] != slow["accepted"]
    return {
        "cut": cut,
        "accepted_agree": 1.0 - differ.mean(),  # type: ignore[operator]
        "accepted_fast": fast["accepted"].sum(),
        "accepted_naive": slow["accepted"].sum(),
        "near_rows": int(near.sum()),
        "recall": _share(fast_j.filter(near) > cut),
        "recall_not_copy": _share(fast_j.filter(not_copy) > cut),
        "not_copy_rows": int(not_copy.sum()),
        "precision": _share(exact_j.filter(fast_j > cut) > cut),
        "disagree_by_kind": dict(Counter(fast["kind"].filter(differ).to_list())),
        "disagree_by_rule": rule_differences(fast.filter(differ), slow.filter(differ)),
        "mismatched_metrics": mismatches(fast, slow),
    }


def rule_name(reason: str) -> str:
    """The rule behind a reason: `quality_length_z<-3.5` -> quality_length_z."""
    if reason.startswith("duplicate_of:"):
        return "unique"
    return re.sub(r"[<>].*|:missing$", "", reason.removeprefix("not:"))


def rule_differences(fast: pl.DataFrame, slow: pl.DataFrame) -> dict[str, int]:
    """For rows decided differently: which rules only synthgate, or only naive, applied."""
    out: Counter[str] = Counter()
    for mine, theirs in zip(fast["reasons"].to_list(), slow["reasons"].to_list(), strict=True):
        a, b = {rule_name(r) for r in mine}, {rule_name(r) for r in theirs}
        out[
            f"synthgate: {','.join(sorted(a - b)) or '-'} / naive: {','.join(sorted(b - a)) or '-'}"
        ] += 1
    return dict(out.most_common())


def _share(flags: pl.Series) -> float | None:
    return float(flags.mean()) if flags.len() else None  # type: ignore[arg-type]


def mismatches(fast: pl.DataFrame, slow: pl.DataFrame) -> dict[str, int]:
    """Rows where a metric computed exactly by both sides differs (floats to 1e-9)."""
    out = {}
    exact_cols = [c for c in slow.columns if c.startswith(("quality_", "repetition_"))]
    for col in [*exact_cols, "dedup_real_exact"]:
        a, b = fast[col], slow[col]
        if a.dtype.is_float():
            same = ((a - b).abs() <= 1e-9) | (a.is_null() & b.is_null())
        else:
            same = a.eq_missing(b)
        bad = int((~same.fill_null(False)).sum())
        if bad:
            out[col] = bad
    return out


def child(args: argparse.Namespace) -> None:
    """Run one measurement and print it as one JSON line."""
    cand, real = Path(args.candidates), Path(args.real)
    if args.child == "job":
        result = measure_job(cand, real, Path(args.out))
    else:
        result = measure_compare(cand, real, args.naive_rows)
    print(json.dumps(result))


def spawn(kind: str, *extra: str) -> dict[str, Any]:
    """Run `child` in a fresh interpreter so that its peak memory is its own."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{kind} measurement failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- report ----------------------------------------------------------------------------------


def cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown CPU"


def machine() -> dict[str, str]:
    libs = ", ".join(f"{name} {metadata.version(name)}" for name in LIBRARIES)
    return {
        "cpus": f"{os.cpu_count()} x {cpu_model()}",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": libs,
    }


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def table(rows: int, n_real: int, job: dict[str, Any], cmp: dict[str, Any]) -> list[str]:
    """The results as a markdown table."""
    wall = job["wall_s"]
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| candidates / real rows | {rows:,} / {n_real:,} |",
        f"| `run_job` wall (read, score, gate, write) | {wall:.1f} s |",
        f"| throughput | {rows / wall:,.0f} rows/s |",
        f"| peak RSS (after imports) | {job['peak_rss_mb']:,.0f} MB "
        f"({job['import_rss_mb']:,.0f} MB) |",
        f"| accepted | {job['counts']['accepted']:,} of {job['counts']['rows']:,} |",
    ]
    lines += [f"| step `{k}` | {v:.2f} s |" for k, v in job["timings_s"].items()]
    speedup = cmp["naive_s"] / cmp["synthgate_s"]
    lines += [
        f"| naive comparison rows | {cmp['rows']:,} |",
        f"| `synthgate.score` / naive | {cmp['synthgate_s']:.2f} s / {cmp['naive_s']:.1f} s "
        f"(speedup {speedup:,.0f}x) |",
        f"| accepted agrees | {pct(cmp['accepted_agree'])} "
        f"(accepted {cmp['accepted_fast']:,} vs {cmp['accepted_naive']:,}) |",
        f"| near-dup recall, exact J > {cmp['cut']:g} | {pct(cmp['recall'])} "
        f"of {cmp['near_rows']:,} ({pct(cmp['recall_not_copy'])} of "
        f"{cmp['not_copy_rows']:,} non-copies) |",
        f"| near-dup precision | {pct(cmp['precision'])} |",
    ]
    return lines


def report(rows: int, n_real: int, job: dict[str, Any], cmp: dict[str, Any]) -> None:
    wall = job["wall_s"]
    print(f"\nrun_job on {rows:,} candidates x {n_real:,} real rows")
    print(f"  wall {wall:.2f} s, {rows / wall:,.0f} rows/s, peak RSS {job['peak_rss_mb']:,.0f} MB")
    for step, secs in job["timings_s"].items():
        print(f"  {step:<20} {secs:8.2f} s")
    print(f"\nsynthgate.score vs naive_score on {cmp['rows']:,} candidates")
    print(
        f"  synthgate {cmp['synthgate_s']:.2f} s, naive {cmp['naive_s']:.1f} s, "
        f"speedup {cmp['naive_s'] / cmp['synthgate_s']:,.1f}x"
    )
    print(
        f"  accepted agrees on {pct(cmp['accepted_agree'])}; disagreements by kind: "
        f"{cmp['disagree_by_kind'] or 'none'}"
    )
    for rules, count in cmp["disagree_by_rule"].items():
        print(f"    {count:5d}  {rules}")
    print(f"  exact-metric mismatches: {cmp['mismatched_metrics'] or 'none'}")
    print("\n" + "\n".join(table(rows, n_real, job, cmp)))
    print("\n" + "; ".join(f"{k}: {v}" for k, v in machine().items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="candidates for run_job")
    parser.add_argument("--naive-rows", type=int, default=5_000, help="rows for the naive run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the candidate builder")
    for hidden in ("--child", "--candidates", "--real", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    real = read_sms()
    cands = build_candidates(real, args.rows, args.seed)
    with tempfile.TemporaryDirectory(prefix="synthgate-bench-") as tmp:
        cand_path, real_path = Path(tmp) / "candidates.parquet", Path(tmp) / "real.csv"
        cands.write_parquet(cand_path)
        real.write_csv(real_path)
        paths = ["--candidates", str(cand_path), "--real", str(real_path)]
        print(f"built {args.rows:,} candidates: {dict(Counter(cands['kind'].to_list()))}")
        job = spawn("job", *paths, "--out", str(Path(tmp) / "run"))
        naive_rows = str(min(args.naive_rows, args.rows))
        cmp = spawn("compare", *paths, "--naive-rows", naive_rows)
    report(args.rows, real.height, job, cmp)


if __name__ == "__main__":
    main()
