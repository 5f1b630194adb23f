"""Where the label scorer's features, class weighting and default threshold come from.

A classifier trained on real labelled rows scores held-out real rows twice: with their true
label (a threshold on `label_p_intended` should keep them) and with every wrong label (off-label
candidates it should catch). Measured on SMS Spam (80/20 split, `plant.holdout`) and madewithml
(dataset.csv -> holdout.csv; title + ". " + description; 4 imbalanced tags):

    python benchmarks/label_features.py

Reads ../shared/data (or $SYNTHGATE_SHARED/data); embeds ~6,100 texts once (2-3 min on 2
busy CPU cores; 3-4 min in all). Results: benchmarks/README.md.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import _paths  # noqa: F401  (tests/ on sys.path, for plant)
import numpy as np
import plant
import polars as pl

from synthgate.embed import Embedder, Embeddings
from synthgate.scorers.base import Resources
from synthgate.scorers.label import LabelScorer

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SEED = 0
THRESHOLDS = (0.1, 0.2, 0.3, 0.5)
CONFIGS = [  # (features, c, balanced)
    *[(f, 30.0, b) for f in ("embeddings", "tfidf", "both") for b in (False, True)],
    *[("both", c, False) for c in (1.0, 10.0, 100.0)],
]


def sms() -> tuple[pl.DataFrame, pl.DataFrame]:
    path = SHARED / "data/sms_spam/SMSSpamCollection.tsv"
    rows = [line.rstrip("\n").split("\t", 1) for line in path.open(encoding="utf-8")]
    frame = pl.DataFrame({"label": [r[0] for r in rows], "text": [r[1] for r in rows]})
    return plant.holdout(frame, 0.2, seed=SEED)


def madewithml() -> tuple[pl.DataFrame, pl.DataFrame]:
    def read(name: str) -> pl.DataFrame:
        frame = pl.read_csv(SHARED / "data/madewithml" / name)
        return frame.select(label="tag", text=pl.col("title") + ". " + pl.col("description"))

    return read("dataset.csv"), read("holdout.csv")


def candidates(held: pl.DataFrame, labels: list[str]) -> pl.DataFrame:
    """Each held-out row once with its true label and once with every wrong label."""
    rows = held.with_columns(true=pl.col("label"), kind=pl.lit("true"))
    wrong = [
        held.filter(pl.col("label") != label).with_columns(
            true=pl.col("label"), label=pl.lit(label), kind=pl.lit("off")
        )
        for label in labels
    ]
    out = pl.concat([rows, *wrong])
    return out.with_columns(id=pl.format("c{}", pl.int_range(pl.len())))


def macro_f1(true: pl.Series, pred: pl.Series) -> float:
    """Mean over the true labels of the F1 of predicting that label."""
    scores = []
    for label in true.unique():
        tp = int(((true == label) & (pred == label)).sum())
        fp, fn = int(((true != label) & (pred == label)).sum()), int((true == label).sum()) - tp
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def measure(real: pl.DataFrame, cand: pl.DataFrame, emb: Embeddings, config: tuple) -> dict:
    features, c, balanced = config
    scorer = LabelScorer(features=features, c=c, balanced=balanced, cv_folds=0)
    real = real.with_columns(id=pl.format("r{}", pl.int_range(pl.len())))
    start = time.perf_counter()
    out = cand.hstack(scorer.fit(cand, real, Resources(emb)).score(cand))
    seconds = time.perf_counter() - start
    true, off = out.filter(kind="true"), out.filter(kind="off")
    p_true, p_off = true["label_p_intended"], off["label_p_intended"]
    return {
        "acc": float((true["label_predicted"] == true["label"]).mean()),
        "f1": macro_f1(true["label"], true["label_predicted"]),
        "logloss": float(-np.log(np.clip(p_true.to_numpy(), 1e-15, 1)).mean()),
        "true_q": [p_true.quantile(q) for q in (0.01, 0.03, 0.05)],
        "off_q": [p_off.quantile(q) for q in (0.5, 0.95)],
        "cuts": [((p_true < t).mean(), (p_off < t).mean()) for t in THRESHOLDS],
        "by_label": off.group_by("label").agg(
            n=pl.len(), caught=(pl.col("label_p_intended") < 0.2).mean()
        ),
        "seconds": seconds,
    }


def main() -> None:
    embedder = Embedder()
    head = " | ".join(f"<{t}: rejected / caught" for t in THRESHOLDS)
    print(
        "| data | features | C | balanced | accuracy | macro-F1 | log loss | true p1/p3/p5 "
        f"| off p50/p95 | {head} | fit+score s |"
    )
    print("|" + "---|" * (10 + len(THRESHOLDS)))
    details = []
    for name, (real, held) in (("SMS Spam", sms()), ("madewithml", madewithml())):
        start = time.perf_counter()
        emb = Embeddings.build([real["text"], held["text"]], embedder)
        embed_s = time.perf_counter() - start
        cand = candidates(held, sorted(real["label"].unique()))
        n_true, n_off = int((cand["kind"] == "true").sum()), int((cand["kind"] == "off").sum())
        details.append(f"{name}: {real.height} real, {n_true} true-label and {n_off} off-label")
        details[-1] += f" candidates; embedding {emb.texts.len()} texts took {embed_s:.0f} s"
        for config in CONFIGS:
            m = measure(real, cand, emb, config)
            cuts = " | ".join(f"{r:.1%} / {k:.1%}" for r, k in m["cuts"])
            true_q = "/".join(f"{q:.3f}" for q in m["true_q"])
            off_q = "/".join(f"{q:.3f}" for q in m["off_q"])
            print(
                f"| {name} | {config[0]} | {config[1]:g} | {config[2]} | {m['acc']:.3f} "
                f"| {m['f1']:.3f} | {m['logloss']:.3f} | {true_q} | {off_q} | {cuts} "
                f"| {m['seconds']:.1f} |"
            )
            if config[0] == "both":
                caught = ", ".join(
                    f"as {r['label']} {r['caught']:.1%} of {r['n']}"
                    for r in m["by_label"].sort("label").iter_rows(named=True)
                )
                details.append(f"{name}, {config}, off-label caught at < 0.2: {caught}")
    print("\n" + "\n".join(f"- {line}" for line in details))


if __name__ == "__main__":
    main()
