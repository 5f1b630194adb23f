"""Discriminator: a cross-fitted classifier of real versus candidate text, grouped by source."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
from scipy import sparse

from synthgate.embed import Embeddings
from synthgate.errors import ConfigError
from synthgate.scorers.base import Resources, lookup
from synthgate.scorers.minhash import components
from synthgate.scorers.neighbours import nearest, nearest_earlier
from synthgate.text import normalize

FEATURES = ("tfidf", "embeddings", "both")
# Character 2-4-grams within word boundaries, hashed (no vocabulary to fit), IDF fitted per fold.
NGRAMS = (2, 4)
HASH_BITS = 20


@dataclass
class DiscriminatorScorer:
    """Out-of-fold P(candidate) from logistic regression on real vs candidate text.

    A classifier two-sample test (Lopez-Paz & Oquab 2017): a dataset ROC-AUC of 0.5 means the
    candidates cannot be told from real text. Folds are grouped so a candidate, its source and
    their near-duplicates are never split: else a copy is judged by a model that saw its twin
    labelled real, and the score inverts (benchmarks/discriminator_features.py).
    """

    features: str = field(
        default="tfidf",
        metadata={"help": "classifier input: 'tfidf' (character n-grams), 'embeddings' or 'both'"},
    )
    folds: int = field(default=5, metadata={"help": "cross-fitting folds (k >= 2)"})
    group_cosine: float = field(
        default=0.9,
        metadata={"help": "embedding cosine that puts two rows in the same fold group"},
    )
    seed: int = field(
        default=0, metadata={"help": "fold shuffling seed (set from the top-level seed)"}
    )

    name: ClassVar[str] = "discriminator"
    requires: ClassVar[tuple[str, ...]] = ("id", "text")
    columns: ClassVar[dict[str, pl.DataType]] = {"discriminator_p_synthetic": pl.Float64()}

    def __post_init__(self) -> None:
        checks = {
            "features": (self.features in FEATURES, f"one of {', '.join(FEATURES)}"),
            "folds": (isinstance(self.folds, int) and self.folds >= 2, "an int >= 2"),
            "group_cosine": (0.0 < self.group_cosine <= 1.0, "in (0, 1]"),
        }
        for key, (ok, valid) in checks.items():
            if not ok:
                raise ConfigError(
                    f"scorers.discriminator.{key}: must be {valid}; got {getattr(self, key)!r}"
                )

    @property
    def needs(self) -> tuple[str, ...]:
        """Embeddings: they link near-duplicates into fold groups (and may be features)."""
        return ("embeddings",)

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Cross-fit the classifier; keep each candidate's out-of-fold p and a summary."""
        cand_ok = _has_text(candidates["text"])
        cand = candidates.filter(cand_ok)
        real_text = real["text"].filter(_has_text(real["text"]))
        y = np.r_[np.zeros(real_text.len(), int), np.ones(cand.height, int)]
        texts = pl.concat([real_text.cast(pl.String), cand["text"].cast(pl.String)])
        p_all = np.full(candidates.height, np.nan)
        emb = resources.embeddings
        groups = fold_groups(cand, real_text, emb, self.group_cosine)
        self.summary_: dict[str, Any] = {"skipped": self._why_not(y, groups, emb)}
        if self.summary_["skipped"] is None:
            vectors = emb.of(texts)[0] if emb is not None and self.features != "tfidf" else None
            grams = texts.to_list() if self.features != "embeddings" else None
            p = out_of_fold(grams, vectors, y, groups, self.folds, self.seed)
            if p is None:
                self.summary_ = {"skipped": _message("a training fold holds one class only")}
            else:
                p_all[cand_ok.to_numpy()] = p[y == 1]
                self.summary_ = self._summary(y, p, groups)
        p_col = pl.Series("discriminator_p_synthetic", p_all).fill_nan(None)
        self.table_ = pl.DataFrame({"id": candidates["id"], "discriminator_p_synthetic": p_col})
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's out-of-fold p_synthetic by id."""
        return lookup(self.table_, batch, self.columns)

    def _why_not(self, y: np.ndarray, groups: np.ndarray, emb: Embeddings | None) -> str | None:
        """Why the folds cannot be made (a sentence for report.json), or None."""
        k = self.folds
        if emb is None and self.features != "tfidf":
            return _message(f"features = '{self.features}' but no embeddings were made")
        for what, count in (("real", int((y == 0).sum())), ("candidate", int(y.sum()))):
            if count < k:
                return _message(f"{count} {what} rows with text, need at least {k} (one per fold)")
        n_groups = len(np.unique(groups))
        if n_groups < k:
            return _message(f"{n_groups} groups of linked rows, need at least {k} (one per fold)")
        return None

    def _summary(self, y: np.ndarray, p: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
        """Dataset-level out-of-fold ROC-AUC and balanced accuracy: 0.5 is indistinguishable."""
        from sklearn.metrics import balanced_accuracy_score, roc_auc_score

        return {
            "roc_auc": round(float(roc_auc_score(y, p)), 4),
            "accuracy": round(float(balanced_accuracy_score(y, p > 0.5)), 4),
            "folds": self.folds,
            "features": self.features,
            "candidates": int(y.sum()),
            "real": int((y == 0).sum()),
            "groups": len(np.unique(groups)),
        }


def _has_text(texts: pl.Series) -> pl.Series:
    return texts.cast(pl.String).str.strip_chars().fill_null("") != ""


def _message(why: str) -> str:
    return f"discriminator: {why}; scores left empty"


def fold_groups(
    cand: pl.DataFrame, real_text: pl.Series, emb: Embeddings | None, cosine: float
) -> np.ndarray:
    """A group label per row (real rows, then candidates) linking equal normalised texts, a
    candidate to its source, and rows whose embeddings reach `cosine` (nearest real row,
    nearest earlier candidate, nearest earlier real row)."""
    n_real = real_text.len()
    keys = normalize(pl.concat([real_text.cast(pl.String), cand["text"].cast(pl.String)]))
    nodes = pl.DataFrame({"key": keys, "node": np.arange(len(keys))})
    first = nodes.filter(pl.col("key") != "").group_by("key").agg(pl.col("node").min())
    left, right = [nodes["node"].to_numpy()], [_find(keys, first)]
    if "source" in cand.columns:
        left.append(np.arange(cand.height) + n_real)
        right.append(_find(normalize(cand["source"].cast(pl.String)), first))
    if emb is not None:
        real_vecs, _ = emb.of(real_text)
        cand_vecs, _ = emb.of(cand["text"])
        for lhs, (best, where) in (
            (np.arange(cand.height) + n_real, nearest(cand_vecs, real_vecs)),
            (np.arange(cand.height) + n_real, _shift(nearest_earlier(cand_vecs), n_real)),
            (np.arange(n_real), nearest_earlier(real_vecs)),
        ):
            keep = best >= cosine
            left.append(lhs[keep])
            right.append(where[keep])
    lhs, rhs = np.concatenate(left), np.concatenate(right)
    linked = rhs >= 0
    return components(len(keys), lhs[linked], rhs[linked])


def _find(keys: pl.Series, first: pl.DataFrame) -> np.ndarray:
    """The first row with each key; -1 where there is none."""
    frame = pl.DataFrame({"key": keys})
    return (
        frame.join(first, on="key", how="left", maintain_order="left")["node"]
        .fill_null(-1)
        .to_numpy()
    )


def _shift(match: tuple[np.ndarray, np.ndarray], by: int) -> tuple[np.ndarray, np.ndarray]:
    best, where = match
    return best, np.where(where >= 0, where + by, -1)


def out_of_fold(
    texts: list[str] | None,
    vectors: np.ndarray | None,
    y: np.ndarray,
    groups: np.ndarray,
    folds: int,
    seed: int,
) -> np.ndarray | None:
    """Each row's P(candidate) from a model fitted on the other folds; None if a training
    fold would hold one class only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" noise
        splits = list(cv.split(np.zeros(len(y)), y, groups))
    if any(len(np.unique(y[train])) < 2 for train, _ in splits):
        return None
    grams = _hashed(texts) if texts is not None else None
    p = np.full(len(y), np.nan)
    for train, test in splits:
        x_train, x_test = _features(grams, vectors, train, test)
        model = LogisticRegression(class_weight="balanced", max_iter=1000)
        p[test] = model.fit(x_train, y[train]).predict_proba(x_test)[:, 1]
    return p


def _hashed(texts: list[str]) -> sparse.csr_matrix:
    """Character n-gram counts, hashed: stateless, so nothing is learnt from test rows."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=2**HASH_BITS,
        alternate_sign=False, norm=None,
    )  # fmt: skip
    return vec.transform(texts)


def _features(
    grams: sparse.csr_matrix | None, vectors: np.ndarray | None, train: np.ndarray, test: np.ndarray
) -> tuple[Any, Any]:
    """Train and test matrices: TF-IDF (IDF from the training rows), embeddings, or both."""
    from sklearn.feature_extraction.text import TfidfTransformer

    parts_train, parts_test = [], []
    if grams is not None:
        idf = TfidfTransformer(sublinear_tf=True).fit(grams[train])
        parts_train.append(idf.transform(grams[train]))
        parts_test.append(idf.transform(grams[test]))
    if vectors is not None:
        parts_train.append(sparse.csr_matrix(vectors[train]))
        parts_test.append(sparse.csr_matrix(vectors[test]))
    if len(parts_train) == 1 and vectors is not None:
        return vectors[train], vectors[test]
    return sparse.hstack(parts_train).tocsr(), sparse.hstack(parts_test).tocsr()
