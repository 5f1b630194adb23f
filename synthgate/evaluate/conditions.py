"""`synthgate evaluate`: does the gate's accepted set make a better classifier of real text?

Five training sets, each trained `seeds` times and scored on a real held-out set: real only;
real + all candidates; real + accepted; real + minority classes oversampled; real + a random
subset of all candidates as large as the accepted set (quality apart from quantity).

Every condition trains on every real training row, once each (no resampling). `all` and
`accepted` add every candidate they name, once each. A seed varies only what is random: the
subset drawn for `random`, the duplicates drawn for `oversample`, and the `random_state` handed
to the classifier. The spread over seeds is the spread of those draws, nothing more: with the
default classifier (lbfgs, which ignores `random_state`) `real`, `all` and `accepted` are the
same fit for every seed, so they are fit once and their std is 0 by construction.

Regularisation of the default classifier: C from `C_GRID` by stratified k-fold cross-validation
on the real training rows only (k = min(5, the smallest class's rows); mean macro F1 over the
folds; the best mean, a tie going to the smaller C), chosen once per evaluation and used in every
condition, so the conditions differ only in their training rows. A class with fewer than two
rows allows no stratified split: C = 1 then, and the reason is recorded. A custom `classifier`
is used as given (it receives the seed; no C is chosen for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError
from synthgate.evaluate.classifier import Classifier, classifier_for, deterministic, tfidf_logreg
from synthgate.evaluate.inputs import Prepared, leakage, prepare
from synthgate.io.rundir import Run
from synthgate.progress import Progress

CONDITIONS = {
    "real": "real only",
    "all": "real + all candidates",
    "accepted": "real + accepted candidates",
    "oversample": "real + minority classes oversampled to the majority count",
    "random": "real + random candidates, as many as accepted",
}
SEED_VARIES = {
    "real": "the classifier's random_state only",
    "all": "the classifier's random_state only",
    "accepted": "the classifier's random_state only",
    "oversample": "the duplicates drawn, and the classifier's random_state",
    "random": "the candidate subset drawn, and the classifier's random_state",
}
"""What a seed changes in each condition (the real rows never change)."""
FIXED_ROWS = ("real", "all", "accepted")  # training rows the same for every seed
METRICS = ("micro_f1", "macro_f1", "weighted_f1")


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
    allow_overlap: bool = False,
) -> Evaluation:
    """Train on each condition `seeds` times; score on `test`. The default classifier's C is
    chosen by cross-validation on `train` (see the module docstring); a custom `classifier` is
    fit as given, with the seed. `names` (the file paths) go into error messages; `text_col` may
    be `a,b` (joined by ". ")."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise SynthgateError(f"--seeds: must be an int >= 1; got {seeds!r}")
    prep = prepare(
        run,
        train,
        test,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        names=names,
        allow_overlap=allow_overlap,
    )
    accepted = run.frame["accepted"].to_numpy()[prep.usable]
    fit, regularisation = classifier_for(prep, classifier)
    once = deterministic(fit)
    conditions: dict[str, Any] = {}
    total, done, fits = len(CONDITIONS) * seeds, 0, 0
    for name, description in CONDITIONS.items():
        per_seed: list[dict[str, Any]] = []
        for seed in range(seeds):
            if once and name in FIXED_ROWS and per_seed:
                per_seed.append(per_seed[0])  # same rows, same deterministic fit
            else:
                per_seed.append(fit_score(prep, name, seed, accepted, fit))
                fits += 1
            done += 1
            if progress:
                progress("evaluate", done, total)
        conditions[name] = {
            "description": description,
            "seed_varies": SEED_VARIES[name],
            **summarise(per_seed, prep.labels),
        }
    data = _data(run, prep, conditions, accepted, seeds, classifier, names)
    data["regularisation"] = regularisation
    data["deterministic_classifier"] = once
    data["same_rows_every_seed"] = list(FIXED_ROWS)
    data["verdict"] = verdict(conditions)
    data["fits"] = fits
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
        "overlap": info["overlap"],
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
    """(texts, labels, candidate rows added): every real training row once, in order, then the
    condition's additions. `all` and `accepted` add each of their candidates once; the draws of
    `oversample` and `random` have their own generator, keyed by seed and condition, so a seed
    gives the same draw in every config objective tuning tries."""
    if condition not in CONDITIONS:
        raise SynthgateError(
            f"condition {condition!r}: unknown; available: {', '.join(CONDITIONS)}"
        )
    text, label = prep.train.text, prep.train.label
    rng = np.random.default_rng([seed, 1 + list(CONDITIONS).index(condition)])
    if condition == "real":
        return text.copy(), label.copy(), 0
    if condition == "oversample":
        extra = oversample(label, rng)
        return np.concatenate([text, text[extra]]), np.concatenate([label, label[extra]]), 0
    picked = np.arange(prep.cand_label.size)
    if condition == "accepted":
        picked = np.flatnonzero(accepted)
    elif condition == "random":
        picked = np.sort(rng.choice(picked, size=int(accepted.sum()), replace=False))
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


def verdict(conditions: dict[str, Any]) -> dict[str, Any]:
    """Per metric: the winning condition, and accepted against each baseline. A comparison
    pairs the two conditions seed by seed: the mean difference, the wins, and the spread (std
    of the per-seed differences); `clear` says whether the mean difference exceeds that spread,
    null where the spread is 0 (one fit each: nothing to compare against)."""

    def compare(a: str, b: str, metric: str) -> dict[str, Any]:
        pa = np.asarray(conditions[a]["metrics"][metric]["per_seed"])
        pb = np.asarray(conditions[b]["metrics"][metric]["per_seed"])
        diffs = spread(pa - pb)
        return {
            "condition": a,
            "baseline": b,
            "difference": diffs["mean"],
            "spread": diffs["std"],
            "wins": int((pa > pb).sum()),
            "seeds": int(pa.size),
            "clear": None if diffs["std"] == 0 else abs(diffs["mean"]) > diffs["std"],
        }

    out: dict[str, Any] = {}
    for metric in METRICS:
        ranked = sorted(conditions, key=lambda c: -conditions[c]["metrics"][metric]["mean"])
        out[metric] = {
            "best": ranked[0],
            "over_next": compare(ranked[0], ranked[1], metric),
            "accepted_vs": [compare("accepted", b, metric) for b in ("all", "oversample", "real")],
        }
    return out


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
