"""Downstream proof of the generator stage: the offline `rules` generator through
`synthgate run` on madewithml, balancing the labels, then `synthgate evaluate`.

    python benchmarks/evaluate_generated.py [--seeds 5] [--seed 0]

dataset.csv (text = title + ". " + description, label = tag) is the real set; `run` (default
scorers and gate, `[generate] generator = "rules"`, `balance = true`) brings every tag up to the
largest one's count of accepted rows; `evaluate` then trains TF-IDF + logistic regression on
real / real + all generated / real + accepted / oversampled real / real + a random subset the
size of the accepted set and scores holdout.csv (never a prompt source: it is `--holdout`).
Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl

from synthgate.evaluate.conditions import evaluate
from synthgate.io.rundir import load_run
from synthgate.job import generate_run_job

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TEXT = pl.concat_str(["title", "description"], separator=". ", ignore_nulls=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = SHARED / "data" / "madewithml"
    real = pl.read_csv(data / "dataset.csv").select("id", text=TEXT, label=pl.col("tag"))
    test = pl.read_csv(data / "holdout.csv").select("id", text=TEXT, label=pl.col("tag"))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: Path(tmp) / f"{name}.parquet" for name in ("real", "test")}
        real.write_parquet(paths["real"])
        test.write_parquet(paths["test"])
        config = Path(tmp) / "run.toml"
        config.write_text(f"[generate]\ngenerator = 'rules'\nbalance = true\nseed = {args.seed}\n")
        start = time.perf_counter()
        generate_run_job(paths["real"], Path(tmp) / "run", config, holdout_path=paths["test"])
        run_s = time.perf_counter() - start
        run = load_run(Path(tmp) / "run")
    gen = run.report["generation"]
    print(
        f"synthgate run: {run.frame.height:,} generated, {run.report['accepted']:,} accepted, "
        f"{len(gen['by_round'])} rounds, {run_s:.0f} s"
    )
    print("\n| label | real rows | quota | generated | accepted | yield | main reasons |")
    print("|---|---|---|---|---|---|---|")
    counts = dict(real.group_by("label").len().iter_rows())
    for label, e in gen["by_label"].items():
        why = sorted(e["rejected_by_reason"].items(), key=lambda kv: -kv[1])[:2]
        print(
            f"| {label} | {counts[label]} | {e['quota']} | {e['generated']} | {e['accepted']} "
            f"| {e['yield']:.2f} | {', '.join(f'{r} {n}' for r, n in why) or '–'} |"
        )
    start = time.perf_counter()
    found = evaluate(run, real, test, seeds=args.seeds, names=("dataset.csv", "holdout.csv"))
    print(
        f"\nevaluate: {args.seeds} seeds in {time.perf_counter() - start:.0f} s, "
        f"{found.data['rows']['test']} test rows"
    )
    print("\n| training set | generated rows added | micro F1 | macro F1 | weighted F1 |")
    print("|---|---|---|---|---|")
    for name, cond in found.data["conditions"].items():
        added = cond["candidate_rows"][0] if cond["candidate_rows"] else 0
        cells = [
            f"{cond['metrics'][m]['mean']:.3f} ± {cond['metrics'][m]['std']:.3f}"
            for m in ("micro_f1", "macro_f1", "weighted_f1")
        ]
        print(f"| {name} | {added} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
