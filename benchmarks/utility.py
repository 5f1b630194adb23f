"""Downstream proof (issue 10): in a low-resource split, does training on real + the gate's
accepted candidates reach real + every candidate, and beat plain oversampling?

    python benchmarks/utility.py [--seeds 10] [--datasets sms_spam,madewithml,cola]
                                 [--config my.toml] [--eval-seeds 3] [--keep DIR]

Per data set (../shared/data, or $SYNTHGATE_SHARED/data) and per seed (the split seed):
  data      SMS Spam (ham/spam), madewithml (dataset.csv + holdout.csv; text = title + ". " +
            description, label = tag, 4 classes), CoLA in-domain train (acceptable /
            unacceptable). Rows with an empty text are dropped and rows whose normalised text
            repeats an earlier row's (SMS has 403) are dropped, so train and test never share
            a text.
  split     10% of each label (at least 5 rows) is the real training set; the held-out test set
            is a stratified sample of the rest, at most 2,000 rows.
  good      the product's offline `rules` generator (`synthgate.generate.rules`: EDA, Wei & Zou
            2019, no synonyms, alpha 0.1, one operation per candidate: random swap, random
            deletion, or random insertion of a word from the same label's training vocabulary)
            over the training rows of every label but the largest, enough to bring each up to
            the largest label's count (at most 1,600 in all); each with its `label` and
            `source` (the real row's text). An edit that leaves the normalised text unchanged
            is redrawn (up to 5 times) with the next copy's seed.
  junk      as many again as a quarter of the good ones (20% of all candidates), evenly:
            copy (tests/plant.py exact_copy of a minority row), near_copy (one character
            changed), loop (plant.loop), off_label (a real row of the largest label that is in
            neither train nor test, labelled as a minority label, its own source, so only the
            label check can catch it; madewithml, whose rest all goes to the test set, has none
            spare: there a `rules` edit of a training row of the largest label, as a verbatim
            training row would be rejected as a copy before its label is looked at), empty
            (plant.empty, or the row's first word alone), artifact (plant.artifact).
The `kind` column rides along in the candidates file; no rule reads it.
`synthgate.job.run_job` scores and gates the candidates against the training real rows
(the default config, or --config), and `synthgate.evaluate.conditions.evaluate` (the product's
own evaluation: TF-IDF + logistic regression, --eval-seeds seeds per split) trains on
real / real + all / real + accepted / real oversampled / real + random and scores the test set.
Two more `evaluate` calls give the oracle row (real + the planted good rows and near copies:
the gate that knows every row's kind) and real + accepted without its near copies. Where
even the oracle does not beat oversampling, the data added cannot move this evaluator,
whatever a gate keeps.
Per split seed, each metric is the mean over evaluate's seeds; the table shows mean ± std over
split seeds. Minority recall is the mean recall of the training minority labels, computed from
evaluate's per-class recall (no training here). The paired comparison is per split seed:
accepted - all, accepted - oversample and oracle - oversample, with wins out of seeds, and
accepted - (accepted without its near copies): what accepting near copies did downstream.

Sizes are capped (<= 2,000 candidates and test rows per split) so the default run (3 data sets
x 10 seeds) takes about 6 minutes on 2 cores. Printed as markdown; the figures of full runs are
in benchmarks/README.md (section utility.py). --keep DIR keeps each run directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import _paths  # noqa: F401  (tests/ on sys.path, for plant)
import numpy as np
import plant
import polars as pl

from synthgate.evaluate.conditions import evaluate
from synthgate.generate.rules import RulesGenerator, edit
from synthgate.io.rundir import load_run
from synthgate.job import run_job
from synthgate.text import normalize

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATASETS = ("sms_spam", "madewithml", "cola")
KINDS = ("good", "copy", "near_copy", "loop", "off_label", "empty", "artifact")
JUNK = KINDS[1:]
CONDITIONS = ("real", "all", "accepted", "oversample", "random")
TRAIN_FRACTION, MIN_PER_LABEL, MAX_TEST, MAX_GOOD = 0.10, 5, 2000, 1600


def load(name: str) -> pl.DataFrame:
    """(text, label) of one data set, empty and repeated (normalised) texts dropped."""
    data = SHARED / "data" / name
    if name == "sms_spam":
        frame = pl.read_csv(
            data / "SMSSpamCollection.tsv",
            separator="\t",
            has_header=False,
            quote_char=None,
            new_columns=["label", "text"],
        )
    elif name == "madewithml":
        parts = [pl.read_csv(data / f) for f in ("dataset.csv", "holdout.csv")]
        text = pl.concat_str(["title", "description"], separator=". ", ignore_nulls=True)
        frame = pl.concat([p.select(text=text, label=pl.col("tag")) for p in parts])
    elif name == "cola":
        frame = pl.read_csv(
            data / "in_domain_train.tsv",
            separator="\t",
            has_header=False,
            quote_char=None,
            new_columns=["source", "label", "orig", "text"],
        ).with_columns(
            label=pl.when(pl.col("label") == 1)
            .then(pl.lit("acceptable"))
            .otherwise(pl.lit("unacceptable"))
        )
    else:
        raise SystemExit(f"--datasets: unknown data set {name!r}; known: {', '.join(DATASETS)}")
    frame = frame.select(pl.col("text").cast(pl.String), pl.col("label").cast(pl.String))
    return (
        frame.with_columns(_key=normalize(frame["text"]))
        .filter(pl.col("_key") != "")
        .unique("_key", keep="first", maintain_order=True)
        .drop("_key")
    )


def split(frame: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(train, test, spare): 10% of each label (>= 5) to train; a stratified test sample of the
    rest; the rows in neither (none where the rest fits in the test set)."""
    train, rest = [], []
    for i, (_, group) in enumerate(sorted(frame.group_by("label"), key=lambda g: g[0])):
        group = group.sample(fraction=1.0, shuffle=True, seed=seed * 1000 + i)
        n = max(MIN_PER_LABEL, round(TRAIN_FRACTION * group.height))
        train.append(group[:n])
        rest.append(group[n:])
    rest_all = pl.concat(rest)
    share = min(1.0, MAX_TEST / rest_all.height)
    cut = [max(1, round(share * r.height)) for r in rest]
    test = pl.concat([r[:n] for r, n in zip(rest, cut, strict=True)])
    spare = pl.concat([r[n:] for r, n in zip(rest, cut, strict=True)])
    train_f = pl.concat(train).with_columns(id=pl.format("r{}", pl.int_range(pl.len())))
    test_f = test.with_columns(id=pl.format("t{}", pl.int_range(pl.len())))
    return train_f, test_f, spare


def one_char(text: str, rng: random.Random) -> str:
    """One letter replaced by another (a near copy that exact dedup misses)."""
    spots = [i for i, c in enumerate(text) if c.isalpha()] or [len(text)]
    i = rng.choice(spots)
    letter = rng.choice([c for c in "etaoinshrdlu" if text[i : i + 1].lower() != c])
    return text[:i] + letter + text[i + 1 :]


def candidates(train: pl.DataFrame, spare: pl.DataFrame, seed: int) -> pl.DataFrame:
    """EDA candidates of the minority labels plus 20% planted junk (module docstring)."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in train.select("text", "label").iter_rows():
        by_label[label].append(text)
    counts = {lab: len(rows) for lab, rows in by_label.items()}
    major = max(sorted(counts), key=lambda lab: counts[lab])
    minority = sorted(lab for lab in counts if lab != major)
    need = {lab: counts[major] - counts[lab] for lab in minority}
    total = sum(need.values())
    if total > MAX_GOOD:
        need = {lab: round(n * MAX_GOOD / total) for lab, n in need.items()}
    requests = pl.DataFrame(
        [(by_label[lab][k % counts[lab]], lab) for lab in minority for k in range(need[lab])],
        schema=["prompt", "label"],
        orient="row",
    )
    # 6 edits of each request; the first whose normalised text differs from its source is kept
    rules = RulesGenerator(num_return_sequences=6).fit(train)
    made = rules.generate(requests, seed)
    source = requests["prompt"].gather(made["request"])
    changed = normalize(made["text"]) != normalize(source)
    # per request, the first changed edit (arg_max of a Boolean), or the first if none changed
    first_changed = pl.col("changed").arg_max().over("request") == pl.int_range(pl.len()).over(
        "request"
    )
    rows: list[tuple[str, str, str, str]] = [  # kind, text, label, source
        ("good", text, lab, source)
        for text, lab, source in made.with_columns(
            label=requests["label"].gather(made["request"]), source=source, changed=changed
        )
        .filter(first_changed)
        .select("text", "label", "source")
        .iter_rows()
    ]
    n_junk = round(len(rows) / 4)
    unused = spare.filter(pl.col("label") == major)["text"].to_list()
    rng.shuffle(unused)
    for k in range(n_junk):
        kind, lab = JUNK[k % len(JUNK)], rng.choice(minority)
        source = rng.choice(by_label[lab])
        if kind == "copy":
            text = plant.exact_copy(source, rng)
        elif kind == "near_copy":
            text = one_char(source, rng)
        elif kind == "loop":
            text = plant.loop(source, rng)
        elif kind == "off_label":
            if unused:  # a real row of the largest label, in neither train nor test
                source = text = unused.pop()
            else:
                source = rng.choice(by_label[major])
                text = edit(source, rules.vocab_[major], np.random.default_rng([seed, k]))
        elif kind == "empty":
            text = plant.empty(rng) if rng.random() < 0.5 else source.split()[0]
        else:
            text = plant.artifact(source, rng)
        rows.append((kind, text, lab, source))
    rng.shuffle(rows)
    return pl.DataFrame(rows, schema=["kind", "text", "label", "source"], orient="row").select(
        pl.format("c{}", pl.int_range(pl.len())).alias("id"), pl.all()
    )


def one_split(
    name: str, frame: pl.DataFrame, seed: int, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    """Score, gate and evaluate one split seed of one data set."""
    train, test, spare = split(frame, seed)
    cands = candidates(train, spare, seed)
    cand_path, real_path = tmp / f"{name}-{seed}-cands.parquet", tmp / f"{name}-{seed}-real.parquet"
    cands.write_parquet(cand_path)
    train.write_parquet(real_path)
    out = (Path(args.keep) if args.keep else tmp) / f"{name}-seed{seed}"
    t0 = time.perf_counter()
    run_job(cand_path, real_path, out, args.config, force=True)
    score_s = time.perf_counter() - t0
    run = load_run(out)
    t0 = time.perf_counter()
    found = evaluate(run, train, test, seeds=args.eval_seeds, names=(str(real_path), "test"))
    eval_s = time.perf_counter() - t0
    counts = Counter(train["label"].to_list())
    major = max(sorted(counts), key=lambda lab: counts[lab])
    minority = [lab for lab in found.data["labels"] if lab != major]
    # Two more accepted sets: the ceiling of any gate (the planted good rows and near copies,
    # nothing else), and the gate's without its near copies (what accepting them did)
    masks = {
        "oracle": pl.col("kind").is_in(["good", "near_copy"]),
        "no_near_copy": pl.col("accepted") & (pl.col("kind") != "near_copy"),
    }
    found_for = {
        key: evaluate(
            replace(run, frame=run.frame.with_columns(accepted=mask)),
            train,
            test,
            seeds=args.eval_seeds,
            names=(str(real_path), "test"),
        )
        for key, mask in masks.items()
    }
    metrics: dict[str, dict[str, float]] = {}
    for cond in (*CONDITIONS, *masks):
        c = (
            found_for[cond].data["conditions"]["accepted"]
            if cond in masks
            else found.data["conditions"][cond]
        )
        recall = np.mean([c["recall"][lab]["mean"] for lab in minority])
        metrics[cond] = {
            "macro_f1": c["metrics"]["macro_f1"]["mean"],
            "micro_f1": c["metrics"]["micro_f1"]["mean"],
            "minority_recall": float(recall),
        }
    frame_out = run.frame.select("kind", "accepted", "reasons")
    reasons: dict[str, Counter] = defaultdict(Counter)
    for kind, why in frame_out.select("kind", "reasons").iter_rows():
        reasons[kind].update(r.split(":")[0] for r in why)
    return {
        "train": train.height,
        "test": test.height,
        "candidates": cands.height,
        "accepted": int(run.frame["accepted"].sum()),
        "kinds": {
            k: (int(n), int(a))
            for k, n, a in frame_out.group_by("kind")
            .agg(pl.len(), pl.col("accepted").sum())
            .iter_rows()
        },
        "reasons": reasons,
        "metrics": metrics,
        "score_s": score_s,
        "eval_s": eval_s,
    }


def pm(values: list[float]) -> str:
    arr = np.asarray(values)
    std = arr.std(ddof=1) if arr.size > 1 else 0.0
    return f"{arr.mean():.3f} ± {std:.3f}"


def report(name: str, splits: list[dict[str, Any]], seconds: float) -> None:
    """Print one data set's tables and verdict."""
    first = splits[0]
    print(
        f"\n### {name}: {len(splits)} seeds in {seconds:.0f} s "
        f"(score {sum(s['score_s'] for s in splits):.0f} s, evaluate "
        f"{sum(s['eval_s'] for s in splits):.0f} s); train {first['train']} real rows, test "
        f"{first['test']}, candidates {first['candidates']} per seed (seed 0)\n"
    )
    print("| kind | candidates (all seeds) | accepted | top rejecting rules |")
    print("|---|---|---|---|")
    for kind in KINDS:
        n = sum(s["kinds"].get(kind, (0, 0))[0] for s in splits)
        a = sum(s["kinds"].get(kind, (0, 0))[1] for s in splits)
        why = sum((s["reasons"].get(kind, Counter()) for s in splits), Counter())
        top = ", ".join(f"{r} {c}" for r, c in why.most_common(3))
        print(f"| {kind} | {n} | {a} ({a / n:.0%}) | {top} |" if n else f"| {kind} | 0 | - | |")
    print()
    print("| condition | macro F1 | micro F1 | minority recall |")
    print("|---|---|---|---|")
    for cond, title in ROWS.items():
        cells = [pm([s["metrics"][cond][m] for s in splits]) for m in METRIC_KEYS]
        print(f"| {title} | {' | '.join(cells)} |")
    print()
    print("| paired, per seed | macro F1 | micro F1 | minority recall |")
    print("|---|---|---|---|")
    verdict = {}
    pairs = (
        ("accepted", "all"),
        ("accepted", "oversample"),
        ("oracle", "oversample"),
        ("accepted", "no_near_copy"),
    )
    for cond, other in pairs:
        cells = []
        for m in METRIC_KEYS:
            diff = [s["metrics"][cond][m] - s["metrics"][other][m] for s in splits]
            wins = sum(d > 0 for d in diff)
            ties = sum(d == 0 for d in diff)
            verdict[(cond, other, m)] = (float(np.mean(diff)), wins, ties)
            tie = f", {ties} tied" if ties else ""
            cells.append(f"{' '.join(f'{d:+.3f}' for d in diff)} (wins {wins}/{len(diff)}{tie})")
        print(f"| {cond} − {PAIR_NAMES.get(other, other)} | {' | '.join(cells)} |")
    mean_all, wins_all, ties_all = verdict[("accepted", "all", "macro_f1")]
    mean_os, wins_os, _ = verdict[("accepted", "oversample", "macro_f1")]
    mean_or, wins_or, _ = verdict[("oracle", "oversample", "macro_f1")]
    reaches = mean_all >= 0 and wins_all + ties_all >= len(splits) / 2
    beats = mean_os > 0 and wins_os > len(splits) / 2
    print(
        f"\nverdict ({name}, macro F1): real + accepted "
        f"{'reaches' if reaches else 'does NOT reach'} real + all (mean {mean_all:+.3f}, "
        f"{wins_all}/{len(splits)} wins) and {'beats' if beats else 'does NOT beat'} "
        f"oversampling (mean {mean_os:+.3f}, {wins_os}/{len(splits)} wins); the oracle gate "
        f"against oversampling: mean {mean_or:+.3f}, {wins_or}/{len(splits)} wins"
    )


METRIC_KEYS = ("macro_f1", "micro_f1", "minority_recall")
ROWS = {
    "real": "real",
    "all": "real + all",
    "accepted": "real + accepted",
    "oversample": "real + oversample",
    "random": "real + random",
    "oracle": "real + oracle (good and near copies)",
    "no_near_copy": "real + accepted without near copies",
}
PAIR_NAMES = {"no_near_copy": "accepted without near copies"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="split seeds (default 10)")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--config", default=None, help="TOML config for scoring (default: none)")
    parser.add_argument("--eval-seeds", type=int, default=3, help="evaluate's seeds per split")
    parser.add_argument("--keep", default=None, help="keep the run directories under DIR")
    args = parser.parse_args()
    libs = ("synthgate", "polars", "numpy", "scikit-learn", "torch", "sentence-transformers")
    print(
        f"machine: {os.cpu_count()} cores, {platform.platform()}; Python "
        f"{platform.python_version()}; "
        + ", ".join(f"{lib} {metadata.version(lib)}" for lib in libs)
    )
    print(
        f"config: {args.config or 'default'}; split seeds {args.seeds}; evaluate seeds "
        f"{args.eval_seeds} per split"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            start = time.perf_counter()
            frame = load(name.strip())
            splits = [one_split(name, frame, s, args, Path(tmp)) for s in range(args.seeds)]
            report(name, splits, time.perf_counter() - start)


if __name__ == "__main__":
    main()
