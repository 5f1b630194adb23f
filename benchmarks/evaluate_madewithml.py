"""What the gate is for, measured: a downstream classifier on madewithml with the whole default
chain deciding which candidates join the training set.

    python benchmarks/evaluate_madewithml.py [--seeds 5] [--seed 0]

dataset.csv (text = title + ". " + description, label = tag) is split in half (seeded):
the real set, and held-out rows that stand in for good generations (new text, right label).
Candidates, planted:
  good       a held-out row under its own tag (60% of them)
  off-label  a held-out row under another tag (the other 40%)
  loop       a held-out row with a sampling loop (5%);  artifact  with a leftover token (5%)
  copy       a real row copied (10% of real rows);  near copy  a real row with two words
             swapped (10%)
  leak       a holdout.csv row copied verbatim (15 rows: test leakage)
`synthgate score` (default config, all-MiniLM-L6-v2) gates them; `synthgate evaluate` then trains
TF-IDF + logistic regression on real / real + all / real + accepted / oversampled real /
real + a random subset the size of the accepted set, and scores holdout.csv (never used before).
Prints what the gate kept per kind and the evaluation table. Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from importlib import metadata
from pathlib import Path

import _paths  # noqa: F401  (tests/ on sys.path, for plant)
import plant
import polars as pl

from synthgate.evaluate.conditions import evaluate
from synthgate.job import run_job

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TEXT = pl.concat_str(["title", "description"], separator=". ", ignore_nulls=True)


def candidates(
    real: pl.DataFrame, held: pl.DataFrame, test: pl.DataFrame, seed: int
) -> pl.DataFrame:
    """Planted candidates with their kind (see the module docstring)."""
    rng = random.Random(seed)
    tags = sorted(set(real["label"]))
    rows = []
    for text, label in zip(held["text"], held["label"], strict=True):
        if rng.random() < 0.4:
            rows.append(("off-label", text, plant.off_label(label, tags, rng)))
        else:
            rows.append(("good", text, label))
        draw = rng.random()
        if draw < 0.05:
            rows.append(("loop", plant.loop(text, rng), label))
        elif draw < 0.10:
            rows.append(("artifact", plant.artifact(text, rng), label))
    for text, label in zip(real["text"], real["label"], strict=True):
        draw = rng.random()
        if draw < 0.10:
            rows.append(("copy", text, label))
        elif draw < 0.20:
            rows.append(("near copy", plant.word_swap(text, rng), label))
    for text, label in zip(test["text"].head(15), test["label"].head(15), strict=True):
        rows.append(("leak", text, label))
    rng.shuffle(rows)
    return pl.DataFrame(rows, schema=["kind", "text", "label"], orient="row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = SHARED / "data" / "madewithml"
    train = pl.read_csv(data / "dataset.csv").with_columns(text=TEXT, label=pl.col("tag"))
    test = pl.read_csv(data / "holdout.csv").with_columns(text=TEXT, label=pl.col("tag"))
    real, held = plant.holdout(train.select("id", "text", "label"), 0.5, args.seed)
    cands = candidates(real, held, test, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cand_path, real_path = Path(tmp) / "cands.parquet", Path(tmp) / "real.parquet"
        cands.write_parquet(cand_path)
        real.write_parquet(real_path)
        start = time.perf_counter()
        result = run_job(cand_path, real_path, Path(tmp) / "run")
        score_s = time.perf_counter() - start
        from synthgate.io.rundir import load_run

        run = load_run(Path(tmp) / "run")
    kept = run.frame.group_by("kind").agg(rows=pl.len(), accepted=pl.col("accepted").sum())
    print(
        f"{cands.height:,} candidates scored in {score_s:.0f} s; accepted "
        f"{result.report['accepted']:,}; torch {metadata.version('torch')}, "
        f"scikit-learn {metadata.version('scikit-learn')}, polars {metadata.version('polars')}"
    )
    print()
    print("| kind | candidates | accepted |")
    print("|---|---|---|")
    for row in kept.sort("kind").iter_rows(named=True):
        print(
            f"| {row['kind']} | {row['rows']} | {row['accepted']} "
            f"({row['accepted'] / row['rows']:.0%}) |"
        )
    start = time.perf_counter()
    found = evaluate(run, real, test, seeds=args.seeds, names=("real half", "holdout.csv"))
    print()
    print(
        f"evaluate: {args.seeds} seeds in {time.perf_counter() - start:.0f} s; test rows "
        f"{found.data['rows']['test']}; leakage {found.data['leakage']['all']['test_rows']} "
        f"test rows by all candidates, {found.data['leakage']['accepted']['test_rows']} by accepted"
    )
    print()
    print("| training set | candidates added | micro F1 | macro F1 | weighted F1 |")
    print("|---|---|---|---|---|")
    for name, cond in found.data["conditions"].items():
        added = cond["candidate_rows"][0] if cond["candidate_rows"] else 0
        cells = [
            f"{cond['metrics'][m]['mean']:.3f} ± {cond['metrics'][m]['std']:.3f}"
            for m in ("micro_f1", "macro_f1", "weighted_f1")
        ]
        print(f"| {name} | {added} | {' | '.join(cells)} |")
    print()
    print("recall per class (mean over seeds):")
    for name, cond in found.data["conditions"].items():
        recall = ", ".join(f"{k} {v['mean']:.2f}" for k, v in cond["recall"].items())
        print(f"  {name}: {recall}")


if __name__ == "__main__":
    main()
