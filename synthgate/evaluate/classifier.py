"""The default classifier of `evaluate` and `tune --objective`, and how its C is chosen.

TF-IDF word 1-2 grams + logistic regression (lbfgs). C comes from `C_GRID` by stratified k-fold
cross-validation on the real training rows only (k = min(5, the smallest class's rows); mean
macro F1 over the folds; the best mean, a tie going to the smaller C), once per evaluation, and
is used for every condition. Fewer than 2 rows in a class: C = 1, the reason recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from synthgate.evaluate.inputs import Prepared

Classifier = Callable[[Sequence[str], Sequence[str], Sequence[str], int], Sequence[str]]
"""fit on (texts, labels), predict labels for the held-out texts; the int is the seed."""

C_GRID = (0.1, 1.0, 10.0, 100.0)
"""Inverse regularisation strengths tried by cross-validation for the default classifier."""
MAX_FOLDS = 5
FALLBACK_C = 1.0  # scikit-learn's default, used when no stratified split is possible
CV_SEED = 0  # the fold split is fixed, so the chosen C does not depend on --seeds


def tfidf_logreg(
    texts: Sequence[str],
    labels: Sequence[str],
    test: Sequence[str],
    seed: int,
    *,
    C: float = FALLBACK_C,
) -> Sequence[str]:
    """TF-IDF of word 1-2 grams (sublinear tf) + logistic regression: the usual text baseline.
    lbfgs ignores `seed` (it is deterministic); it is passed on as `random_state` anyway."""
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    model = make_pipeline(_vectoriser(), _logreg(C, seed))
    # One BLAS thread: on ~1k rows lbfgs ran 0.17 s with one thread and 2-3 s with the default
    # pool on a loaded 2-core machine (measured on madewithml, 1,064 rows x 13,600 features).
    with threadpool_limits(limits=1):
        return model.fit(list(texts), list(labels)).predict(list(test))


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)


def _logreg(C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000, random_state=seed)


def choose_c(
    texts: np.ndarray, labels: np.ndarray, grid: Sequence[float] = C_GRID
) -> dict[str, Any]:
    """C for `tfidf_logreg` by stratified k-fold CV on (texts, labels), the real training rows:
    {"rule", "grid", "folds", "cv_macro_f1" (C -> mean over folds), "C", "fallback"}."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    rule = (
        f"C from {', '.join(f'{c:g}' for c in grid)} by stratified k-fold cross-validation on "
        f"the real training rows only (k = min({MAX_FOLDS}, rows of the smallest class)), "
        "highest mean macro F1, a tie to the smaller C; the same C in every condition"
    )
    out: dict[str, Any] = {"rule": rule, "grid": [float(c) for c in grid], "folds": 0}
    classes, counts = np.unique(labels, return_counts=True)
    folds = int(min(MAX_FOLDS, counts.min()))
    if folds < 2:
        small = ", ".join(f"{c} ({n})" for c, n in zip(classes, counts, strict=True) if n < 2)
        return out | {
            "cv_macro_f1": {},
            "C": FALLBACK_C,
            "fallback": f"a class has fewer than 2 training rows ({small}): no stratified "
            f"split is possible, so C = {FALLBACK_C:g} (scikit-learn's default)",
        }
    split = StratifiedKFold(folds, shuffle=True, random_state=CV_SEED).split(texts, labels)
    per_fold: dict[str, list[float]] = {f"{c:g}": [] for c in grid}
    with threadpool_limits(limits=1):
        for fit, held in split:
            # the vectoriser is fit on the fold's training rows (as tfidf_logreg fits it), once
            # for every C: the same features tfidf_logreg would build, four times cheaper
            vectoriser = _vectoriser().fit(list(texts[fit]))
            x_fit, x_held = (
                vectoriser.transform(list(texts[fit])),
                vectoriser.transform(list(texts[held])),
            )
            for c in grid:
                predicted = _logreg(c, CV_SEED).fit(x_fit, labels[fit]).predict(x_held)
                per_fold[f"{c:g}"].append(
                    float(
                        f1_score(
                            labels[held],
                            predicted,
                            labels=classes,
                            average="macro",
                            zero_division=0,
                        )
                    )
                )
    cv = {c: float(np.mean(v)) for c, v in per_fold.items()}
    best = max(grid, key=lambda c: (round(cv[f"{c:g}"], 12), -c))
    return out | {
        "folds": folds,
        "cv_macro_f1": cv,
        "cv_macro_f1_per_fold": per_fold,
        "C": float(best),
        "fallback": None,
    }


def classifier_for(prep: Prepared, classifier: Classifier) -> tuple[Classifier, dict[str, Any]]:
    """(the classifier to fit, the regularisation record): the default gets C by `choose_c` on
    the real training rows; any other classifier is used as given."""
    if classifier is not tfidf_logreg:
        name = getattr(classifier, "__name__", type(classifier).__name__)
        return classifier, {"rule": f"{name}'s own (a custom classifier)", "C": None}
    info = choose_c(prep.train.text, prep.train.label)
    chosen = partial(tfidf_logreg, C=info["C"])
    chosen.deterministic = True  # type: ignore[attr-defined]  (lbfgs ignores the seed)
    return chosen, info


def describe_c(regularisation: dict[str, Any], train: str) -> str:
    """One sentence: which C was used and why (for the pages)."""
    if regularisation.get("C") is None:
        return f"Regularisation: {regularisation['rule']}; no C is chosen for it."
    if regularisation.get("fallback"):
        return f"Regularisation: {regularisation['fallback']}."
    scores = ", ".join(f"C = {c}: {v:.4f}" for c, v in regularisation["cv_macro_f1"].items())
    return (
        f"Regularisation: C = {regularisation['C']:g}, chosen by {regularisation['folds']}-fold "
        f"stratified cross-validation on the real rows of {train} only (never the held-out "
        f"rows), highest mean macro F1 ({scores}); the same C in every condition."
    )


def deterministic(classifier: Classifier) -> bool:
    """Does the classifier give the same predictions for every seed (so one fit serves all)?"""
    return bool(getattr(classifier, "deterministic", False))
