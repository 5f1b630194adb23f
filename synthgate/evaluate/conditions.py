"""`synthgate evaluate`: does the gate's accepted set make a better classifier of real text?

Five training sets, each over `seeds` bootstrap resamples, scored on a real held-out set:
real only; real + all candidates; real + accepted; real + minority classes oversampled; real + a
random subset of all candidates as large as the accepted set (quality apart from quantity).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError
from synthgate.evaluate.inputs import Prepared, leakage, prepare
from synthgate.io.rundir import Run
from synthgate.progress import Progress

Classifier = Callable[[Sequence[str], Sequence[str], Sequence[str], int], Sequence[str]]
"""fit on (texts, labels), predict labels for the held-out texts; the int is the seed."""

CONDITIONS = {
    "real": "real only",
    "all": "real + all candidates",
    "accepted": "real + accepted candidates",
    "oversample": "real + minority classes oversampled to the majority count",
    "random": "real + random candidates, as many as accepted",
}
METRICS = ("micro_f1", "macro_f1", "weighted_f1")


def tfidf_logreg(
    texts: Sequence[str], labels: Sequence[str], test: Sequence[str], seed: int
) -> Sequence[str]:
    """TF-IDF of word 1-2 grams (sublinear tf) + logistic regression: the usual text baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(max_iter=1000, random_state=seed),
    )
    # One BLAS thread: on ~1k rows lbfgs ran 0.17 s with one thread and 2-3 s with the default
    # pool on a loaded 2-core machine (measured on madewithml, 1,064 rows x 13,600 features).
    with threadpool_limits(limits=1):
        return model.fit(list(texts), list(labels)).predict(list(test))


@dataclass
class Evaluation:
    """The result: `data` is JSON-able (what evaluation.json holds)."""

    data: dict[str, Any]


def evaluate(
    run: Run,
    train: pl.DataFrame,
    test: pl.DataFrame,
    *,
    text_col: str = "text",
    label_col: str = "label",
    id_col: str = "id",
    seeds: int = 5,
    classifier: Classifier = tfidf_logreg,
    names: tuple[str, str] = ("train", "test"),
    progress: Progress | None = None,
) -> Evaluation:
    """Train `classifier` on each condition over `seeds` bootstraps; score on `test`.
    `names` (the file paths) go into error messages; `text_col` may be `a,b` (joined by ". ")."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise SynthgateError(f"--seeds: must be an int >= 1; got {seeds!r}")
    prep = prepare(
        run, train, test, text_col=text_col, label_col=label_col, id_col=id_col, names=names
    )
    accepted = run.frame["accepted"].to_numpy()[prep.usable]
    conditions: dict[str, Any] = {}
    total, done = len(CONDITIONS) * seeds, 0
    for name, description in CONDITIONS.items():
        per_seed = []
        for seed in range(seeds):
            per_seed.append(fit_score(prep, name, seed, accepted, classifier))
            done += 1
            if progress:
                progress("evaluate", done, total)
        conditions[name] = {"description": description, **summarise(per_seed, prep.labels)}
    data = _data(run, prep, conditions, accepted, seeds, classifier, names)
    data["columns"] = {"text": text_col, "label": label_col, "id": id_col}
    return Evaluation(data)


def _data(
    run: Run,
    prep: Prepared,
    conditions: dict[str, Any],
    accepted: np.ndarray,
    seeds: int,
    classifier: Classifier,
    names: tuple[str, str],
) -> dict[str, Any]:
    info = prep.info
    return {
        "run": str(run.path) if run.path else None,
        "train": names[0],
        "test": names[1],
        "classifier": getattr(classifier, "__name__", type(classifier).__name__),
        "seeds": seeds,
        "labels": prep.labels,
        "rows": {
            "train": int(prep.train.label.size),
            "test": int(prep.held.label.size),
            "candidates": run.frame.height,
            "candidates_used": int(prep.cand_label.size),
            "accepted": int(run.frame["accepted"].sum()),
            "accepted_used": int(accepted.sum()),
        },
        "dropped_candidates": {
            "unlabelled": info["dropped_unlabelled"],
            "unknown_label": info["dropped_unknown_label"],
        },
        "unseen_test_labels": info["unseen_test_labels"],
        "leakage": leakage(run, prep.held),
        "conditions": conditions,
    }


def fit_score(
    prep: Prepared, condition: str, seed: int, accepted: np.ndarray, classifier: Classifier
) -> dict[str, Any]:
    """One condition, one seed: its training set, the classifier's scores on the held-out set."""
    texts, labels, extra = training_set(prep, condition, seed, accepted)
    predicted = np.asarray(
        classifier(texts.tolist(), labels.tolist(), prep.held.text.tolist(), seed)
    )
    return {
        "train_rows": int(labels.size),
        "candidate_rows": extra,
        **scores(prep.held.label, predicted, prep.labels),
    }


def training_set(
    prep: Prepared, condition: str, seed: int, accepted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """(texts, labels, candidate rows added). Each draw has its own generator, keyed by seed and
    condition, so the real bootstrap of a seed is the same in every condition (paired) and in
    every config objective tuning tries."""
    if condition not in CONDITIONS:
        raise SynthgateError(
            f"condition {condition!r}: unknown; available: {', '.join(CONDITIONS)}"
        )
    real = np.random.default_rng([seed, 0]).integers(
        0, prep.train.label.size, prep.train.label.size
    )
    text, label = prep.train.text[real], prep.train.label[real]
    rng = np.random.default_rng([seed, 1 + list(CONDITIONS).index(condition)])
    if condition == "real":
        return text, label, 0
    if condition == "oversample":
        extra = oversample(label, rng)
        return np.concatenate([text, text[extra]]), np.concatenate([label, label[extra]]), 0
    pool = np.arange(prep.cand_label.size)
    if condition == "accepted":
        pool = np.flatnonzero(accepted)
    elif condition == "random":
        pool = rng.choice(pool, size=int(accepted.sum()), replace=False)
    picked = rng.choice(pool, size=pool.size, replace=True) if pool.size else pool
    return (
        np.concatenate([text, prep.cand_text[picked]]),
        np.concatenate([label, prep.cand_label[picked]]),
        int(picked.size),
    )


def oversample(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of `labels` to add: random duplicates of each class up to the majority count."""
    classes, counts = np.unique(labels, return_counts=True)
    top = counts.max()
    extra = [
        rng.choice(np.flatnonzero(labels == c), size=top - n, replace=True)
        for c, n in zip(classes, counts, strict=True)
        if n < top
    ]
    return np.concatenate(extra) if extra else np.array([], dtype=int)


def scores(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Micro F1 (= accuracy, every class), macro and weighted F1 and recall per class over the
    held-out set's classes (a class only the train set has weighs nothing)."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    kwargs = {"labels": labels, "zero_division": 0}
    recall = recall_score(truth, predicted, average=None, **kwargs)
    return {
        "micro_f1": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", **kwargs)),
        "weighted_f1": float(f1_score(truth, predicted, average="weighted", **kwargs)),
        "recall": {lab: float(r) for lab, r in zip(labels, recall, strict=True)},
    }


def spread(values: Sequence[float]) -> dict[str, Any]:
    """mean, sample std (ddof 1; 0 for one seed) and the values themselves."""
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "per_seed": [float(v) for v in arr]}


def summarise(per_seed: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """Per-seed results folded into mean / std per metric and per class."""
    return {
        "train_rows": [r["train_rows"] for r in per_seed],
        "candidate_rows": [r["candidate_rows"] for r in per_seed],
        "metrics": {m: spread([r[m] for r in per_seed]) for m in METRICS},
        "recall": {lab: spread([r["recall"][lab] for r in per_seed]) for lab in labels},
    }


def write_evaluation(evaluation: Evaluation, out_dir: str | Path) -> Path:
    """Write evaluation.json and evaluation.html into `out_dir`, atomically."""
    from synthgate.evaluate.page import write_pages  # matplotlib loads only when a page is drawn

    return write_pages(evaluation.data, Path(out_dir))
