"""Discriminator: a cross-fitted classifier of real versus candidate text, grouped by source."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.embed import Embeddings
from synthgate.errors import ConfigError
from synthgate.scorers.base import Resources, lookup
from synthgate.text import normalize
from synthgate.vectors import Neighbours, candidate_neighbours, components, nearest_earlier

FEATURES = ("embeddings", "tfidf", "both")
# Character 2-4-grams across word boundaries (so word order shows), hashed into 2**18 buckets:
# same AUC as 2**20 at a quarter of the time, and char_wb missed shuffled words (0.54 vs 0.70).
NGRAMS, HASH_BITS = (2, 4), 18


MAX_FOLDS = 20  # as the label scorer: more folds only repeat the fit on smaller parts


@dataclass
class DiscriminatorScorer:
    """Out-of-fold P(candidate) from logistic regression on real vs candidate text.

    A classifier two-sample test (Lopez-Paz & Oquab 2017): a dataset ROC-AUC of 0.5 means the
    candidates cannot be told from real text. Folds are grouped so a candidate, its source and
    their near-duplicates are never split: else a copy is judged by a model that saw its twin
    labelled real, and the score inverts (benchmarks/discriminator_features.py).
    """

    # Embeddings (benchmarks/discriminator_features.py, SMS): within 0.03 AUC of the best set on
    # every case, the fastest, and the least inverted by a near-duplicate the groups miss (plain
    # k-fold on word swaps: 0.27, against 0.10 for 'both' and 0.05 for 'tfidf').
    features: str = field(
        default="embeddings",
        metadata={"help": "classifier input: 'embeddings', 'tfidf' (character n-grams) or 'both'"},
    )
    folds: int = field(default=5, metadata={"help": f"cross-fitting folds (2 to {MAX_FOLDS})"})
    # 0.9: 95% of adjacent-word swaps of SMS keep cosine >= 0.907 to their source; 0.7 and 0.8
    # gave the same AUC (measured on SMS).
    group_cosine: float = field(
        default=0.9, metadata={"help": "embedding cosine that puts two rows in one fold group"}
    )
    seed: int = field(default=0, metadata={"help": "fold seed (set from the top-level seed)"})

    name: ClassVar[str] = "discriminator"
    requires: ClassVar[tuple[str, ...]] = ("id", "text", "source")
    columns: ClassVar[dict[str, pl.DataType]] = {"discriminator_p_synthetic": pl.Float64()}

    def __post_init__(self) -> None:
        checks = {
            "features": (self.features in FEATURES, f"one of {', '.join(FEATURES)}"),
            "folds": (
                isinstance(self.folds, int) and 2 <= self.folds <= MAX_FOLDS,
                f"an int from 2 to {MAX_FOLDS}",
            ),
            "group_cosine": (0.0 < self.group_cosine <= 1.0, "in (0, 1]"),
        }
        for key, (ok, valid) in checks.items():
            if not ok:
                raise ConfigError(
                    f"scorers.discriminator.{key}: must be {valid}; got {getattr(self, key)!r}"
                )

    @property
    def needs(self) -> tuple[str, ...]:
        """Embeddings: they link near-duplicates into fold groups (and may be the features)."""
        return ("embeddings", "neighbours")

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Cross-fit the classifier; keep each candidate's out-of-fold p and a summary."""
        emb = resources.get("embeddings", candidates, real)
        keep = self._usable(candidates["text"], emb)
        cand = candidates.filter(keep)
        real_text = real["text"].cast(pl.String).filter(self._usable(real["text"], emb))
        y = np.r_[np.zeros(real_text.len(), int), np.ones(cand.height, int)]
        oof, why = None, self._too_few(y, emb)
        if why is None:
            real_keep = self._usable(real["text"], emb).to_numpy()
            shared = resources.get("neighbours", candidates, real)  # dedup's search too
            subset = shared.subset(keep.to_numpy(), real_keep) if shared else None
            groups = fold_groups(cand, real_text, emb, self.group_cosine, subset)
            why = _need(len(np.unique(groups)), self.folds, "groups of linked rows")
        if why is None:
            texts = pl.concat([real_text, cand["text"].cast(pl.String)])
            vectors = emb.of(texts)[0] if emb is not None and self.features != "tfidf" else None
            grams = texts.to_list() if self.features != "embeddings" else None
            oof = out_of_fold(grams, vectors, y, groups, self.folds, self.seed)
            why = "a training fold would hold one class only" if oof is None else None
        p = np.full(candidates.height, np.nan)
        if oof is not None:
            p[keep.to_numpy()] = oof[y == 1]
        skipped = {"skipped": f"discriminator: {why}; scores left empty"}
        self.summary_: dict[str, Any] = skipped if why else self._summary(y, oof, groups)
        p_col = pl.Series("discriminator_p_synthetic", p).fill_nan(None)
        self.table_ = pl.DataFrame({"id": candidates["id"], "discriminator_p_synthetic": p_col})
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's out-of-fold p_synthetic by id."""
        return lookup(self.table_, batch, self.columns)

    def _usable(self, texts: pl.Series, emb: Embeddings | None) -> pl.Series:
        """Rows with text (and a vector, when the features use embeddings)."""
        if emb is not None and self.features != "tfidf":
            return pl.Series(emb.rows(texts) >= 0)
        return texts.cast(pl.String).str.strip_chars().fill_null("") != ""

    def _too_few(self, y: np.ndarray, emb: Embeddings | None) -> str | None:
        """Why the folds cannot be made, or None."""
        if emb is None and self.features != "tfidf":
            return f"features = '{self.features}' but no embeddings were made"
        k = self.folds
        return _need(int((y == 0).sum()), k, "real rows") or _need(int(y.sum()), k, "candidates")

    def _summary(self, y: np.ndarray, p: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
        """Out-of-fold ROC-AUC and balanced accuracy (0.5: indistinguishable at any class ratio)."""
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


def _need(count: int, folds: int, what: str) -> str | None:
    """A reason when `count` is below one per fold."""
    return (
        f"{count} {what} with text, need at least {folds} (one per fold)" if count < folds else None
    )


def fold_groups(
    cand: pl.DataFrame,
    real_text: pl.Series,
    emb: Embeddings | None,
    cosine: float,
    neighbours: Neighbours | None = None,
) -> np.ndarray:
    """A group per row (real rows, then candidates): equal normalised texts, a candidate and its
    source, and embeddings reaching `cosine` (nearest real row, earlier candidate, earlier real
    row) are linked, and each connected component is one group. `neighbours`: the candidates'
    searches already made for these rows."""
    n_real, cand_rows = real_text.len(), np.arange(cand.height) + real_text.len()
    keys = normalize(pl.concat([real_text, cand["text"].cast(pl.String)]))
    nodes = pl.DataFrame({"key": keys, "node": np.arange(len(keys))})
    first = nodes.filter(pl.col("key") != "").group_by("key").agg(pl.col("node").min())
    left, right = [nodes["node"].to_numpy()], [_first(keys, first)]
    if "source" in cand.columns:
        left.append(cand_rows)
        right.append(_first(normalize(cand["source"].cast(pl.String)), first))
    if emb is not None:
        nb = neighbours or candidate_neighbours(cand["text"], real_text, emb)
        earlier = np.where(nb.earlier_row >= 0, nb.earlier_row + n_real, -1)
        for lhs, (best, where) in (
            (cand_rows, (nb.real_cos, nb.real_row)),
            (cand_rows, (nb.earlier_cos, earlier)),
            (np.arange(n_real), nearest_earlier(emb.of(real_text)[0])),
        ):
            left.append(lhs[best >= cosine])
            right.append(where[best >= cosine])
    lhs, rhs = np.concatenate(left), np.concatenate(right)
    return components(len(keys), lhs[rhs >= 0], rhs[rhs >= 0])


def _first(keys: pl.Series, first: pl.DataFrame) -> np.ndarray:
    """The first row holding each key; -1 where none does."""
    joined = pl.DataFrame({"key": keys}).join(first, on="key", how="left", maintain_order="left")
    return joined["node"].fill_null(-1).to_numpy()


def out_of_fold(
    texts: list[str] | None,
    vectors: np.ndarray | None,
    y: np.ndarray,
    groups: np.ndarray,
    folds: int,
    seed: int,
) -> np.ndarray | None:
    """Each row's P(candidate) from a model fitted on the other folds (texts: TF-IDF features,
    vectors: embeddings); None if a training fold would hold one class only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" noise
        splits = list(cv.split(np.zeros(len(y)), y, groups))
    if any(len(np.unique(y[train])) < 2 for train, _ in splits):
        return None
    grams = None if texts is None else _hashed(texts)
    p = np.full(len(y), np.nan)
    for train, test in splits:
        x_train, x_test = _features(grams, vectors, train, test)
        model = LogisticRegression(class_weight="balanced", solver="liblinear", random_state=seed)
        p[test] = model.fit(x_train, y[train]).predict_proba(x_test)[:, 1]
    return p


def _hashed(texts: list[str]) -> Any:
    """Character n-gram counts, hashed: no vocabulary, so nothing is learnt from test rows."""
    from sklearn.feature_extraction.text import HashingVectorizer

    hashing = HashingVectorizer(analyzer="char", ngram_range=NGRAMS, n_features=2**HASH_BITS)
    return hashing.set_params(alternate_sign=False, norm=None).transform(texts)


def _features(grams: Any, vectors: Any, train: np.ndarray, test: np.ndarray) -> tuple[Any, Any]:
    """Train and test matrices: TF-IDF (IDF from the training rows), embeddings, or both."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer

    if grams is None:
        return vectors[train], vectors[test]
    idf = TfidfTransformer(sublinear_tf=True).fit(grams[train])
    x_train, x_test = idf.transform(grams[train]), idf.transform(grams[test])
    if vectors is not None:  # both: TF-IDF rows and embeddings are unit length, equal weight
        x_train = sparse.hstack([x_train, vectors[train]]).tocsr()
        x_test = sparse.hstack([x_test, vectors[test]]).tocsr()
    return x_train, x_test
