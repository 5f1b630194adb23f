"""Label fidelity: does a classifier trained on the real rows read a candidate as its label?"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.embed import Embeddings
from synthgate.errors import ConfigError, check_params
from synthgate.scorers.base import Resources, lookup

SHOWN_LABELS = 10  # unknown labels named one by one; a free-text label column has many
MAX_FOLDS = 20  # more folds only repeat the fit on smaller held-out parts; bounds the time
FEATURES = ("both", "tfidf", "embeddings")
Matrix = Callable[[pl.Series], Any]  # texts -> feature matrix
Fitter = Callable[[pl.Series], Matrix]  # training texts -> Matrix fitted on them


@dataclass
class LabelScorer:
    """Probability of the candidate's intended label under a logistic regression trained on the
    real labelled rows, the label it predicts, and whether no real row has that label at all.

    Null without labels or text; null `label_p_intended` for a label the real set has too few
    rows of; `label_unknown` is computed even when the classifier is skipped (a label the real
    set lacks cannot be checked, and is usually a typo of one it has: the warning names the
    closest real label)."""

    # Defaults measured in benchmarks/label_features.py (SMS Spam, madewithml; README there).
    features: str = field(
        default="both", metadata={"help": "'both' (TF-IDF + embeddings), 'tfidf' or 'embeddings'"}
    )
    c: float = field(
        default=30.0, metadata={"help": "inverse L2 strength of the logistic regression (C)"}
    )
    balanced: bool = field(
        default=False, metadata={"help": "weight classes inversely to their real row counts"}
    )
    min_class_rows: int = field(
        default=2, metadata={"help": "real rows a label needs to be learnt; fewer: left empty"}
    )
    cv_folds: int = field(
        default=5,
        metadata={"help": "folds of the cross-fitted real rows: accuracy and floors (0: none)"},
    )
    # A label's floor is floor_max (the old fixed cut) where the real set shows that cut reads
    # the label: below it, the label's own real rows are at least floor_ratio times rarer than
    # other labels' real rows scored for it (out of fold; SMS and madewithml, three 80/20 splits:
    # 3.7 and up). Elsewhere the classifier cannot read the label (CoLA's grammaticality: 2.3 at
    # most) and the floor is the floor_quantile of the label's own rows' p, so few real rows are
    # lost:
    # a fixed 0.2 rejected 18% of held-out CoLA sentences, the quantile floor alone let 29% of
    # madewithml's off-label rows through (benchmarks/thresholds.py, benchmarks/README.md).
    floor_ratio: float = field(
        default=3.0,
        metadata={
            "help": "how many times rarer below floor_max a label's real rows must be than "
            "other labels' rows for floor_max to be its floor (0: always floor_max)"
        },
    )
    floor_quantile: float = field(
        default=0.01,
        metadata={"help": "else: quantile of its real rows' out-of-fold p that sets its floor"},
    )
    floor_max: float = field(
        default=0.2, metadata={"help": "highest floor: label_p_intended below it is suspect"}
    )
    seed: int = field(default=0, metadata={"help": "fold shuffling seed (the top-level seed)"})

    name: ClassVar[str] = "label"
    requires: ClassVar[tuple[str, ...]] = ("id", "text", "label")
    columns: ClassVar[dict[str, pl.DataType]] = {
        "label_p_intended": pl.Float64(),
        "label_p_margin": pl.Float64(),
        "label_predicted": pl.String(),
        "label_unknown": pl.Boolean(),
    }

    def __post_init__(self) -> None:
        if self.features not in FEATURES:
            raise ConfigError(
                f"scorers.label.features: unknown value {self.features!r}; "
                f"available: {', '.join(FEATURES)}"
            )
        folds_ok = self.cv_folds == 0 or 2 <= self.cv_folds <= MAX_FOLDS
        check_params(
            "scorers.label",
            self,
            {
                "c": (self.c > 0, "a number > 0"),
                "min_class_rows": (self.min_class_rows >= 1, "an int >= 1"),
                "cv_folds": (folds_ok, f"0 (off) or an int from 2 to {MAX_FOLDS}"),
                "floor_ratio": (self.floor_ratio >= 0, "a number >= 0"),
                "floor_quantile": (0.0 <= self.floor_quantile < 0.5, "in [0, 0.5)"),
                "floor_max": (0.0 <= self.floor_max <= 1.0, "in [0, 1]"),
            },
        )

    @property
    def needs(self) -> tuple[str, ...]:
        """Embeddings unless the features are TF-IDF only."""
        return () if self.features == "tfidf" else ("embeddings",)

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Train on the real labelled rows; keep each candidate's two columns by id."""
        self.summary_: dict[str, Any] = {"features": self.features, "skipped": None}
        self.summary_["warnings"] = []
        unknown = unknown_labels(candidates, real)
        self.summary_["warnings"] += _unknown_warnings(candidates, real, unknown)
        self.table_ = self._fit_classifier(candidates, real, resources).with_columns(unknown)
        return self

    def _fit_classifier(
        self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources
    ) -> pl.DataFrame:
        """Per candidate id: `label_p_intended` and `label_predicted` (null when skipped)."""
        table = pl.DataFrame({"id": candidates["id"]}).with_columns(
            pl.lit(None, pl.Float64).alias("label_p_intended"),
            pl.lit(None, pl.Float64).alias("label_p_margin"),
            pl.lit(None, pl.String).alias("label_predicted"),
        )
        train = _usable(real)
        labelled = "label" in candidates.columns and candidates["label"].is_not_null().any()
        counts = dict(train["label"].value_counts(sort=True).iter_rows())
        self.summary_["real_rows"] = counts
        classes = sorted(k for k, n in counts.items() if n >= self.min_class_rows)
        if not labelled or len(classes) < 2:  # the CLI shows `skipped` as a warning
            why = "the candidates have no labels" if not labelled else self._too_few(counts)
            self.summary_["skipped"] = f"label scorer skipped: {why}"
            return table
        embeddings = resources.get("embeddings", candidates, real) if self.needs else None
        featurize = self._featurizer(embeddings)
        train = train.filter(pl.col("label").is_in(classes))
        accuracy, proba = self._cross_fit(train, featurize, classes)
        floors, evidence = self._floors(train["label"].to_numpy(), proba, classes)
        self.summary_.update(
            classes=classes, cv_accuracy=accuracy, floors=floors, floor_evidence=evidence
        )
        return self._score_candidates(candidates, train, featurize)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's label columns by id."""
        return lookup(self.table_, batch, self.columns)

    def _too_few(self, counts: dict[str, int]) -> str:
        found = ", ".join(f"{k!r}: {n}" for k, n in counts.items()) or "none"
        return (
            f"the real set needs 2+ labels with {self.min_class_rows}+ rows each "
            f"(scorers.label.min_class_rows); real rows per label: {found}"
        )

    def _featurizer(self, embeddings: Embeddings | None) -> Fitter:
        """What fits the features on training texts (TF-IDF when embeddings are missing)."""
        kind = self.features
        if kind != "tfidf" and embeddings is None:
            self.summary_["warnings"].append("no embeddings given: TF-IDF features used instead")
            kind = "tfidf"
        self.summary_["features"] = kind
        return lambda texts: _fit_features(kind, texts, embeddings)

    def _classify(self, train: pl.DataFrame, texts: pl.Series, featurize: Fitter) -> np.ndarray:
        """Class probabilities (columns in sorted label order) of `texts`."""
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        if texts.len() == 0:
            return np.zeros((0, train["label"].n_unique()))
        # One BLAS thread: with two, OpenBLAS made SciPy's L-BFGS-B ~10x slower on madewithml
        # (3.1 s vs 0.34 s, measured here; scipy/scipy#26137 profiles the same).
        with threadpool_limits(1, user_api="blas"):
            make = featurize(train["text"])
            weight = "balanced" if self.balanced else None
            model = LogisticRegression(C=self.c, class_weight=weight, max_iter=1000)
            model.fit(make(train["text"]), train["label"].to_numpy())
            return model.predict_proba(make(texts))

    def _cross_fit(
        self, train: pl.DataFrame, featurize: Fitter, classes: list[str]
    ) -> tuple[float | None, np.ndarray | None]:
        """Stratified k-fold accuracy on the real rows and their out-of-fold class probabilities
        (columns in `classes` order; None, None when folds are off or too few)."""
        folds = min(self.cv_folds, *train["label"].value_counts()["count"].to_list())
        if folds < 2:
            return None, None
        from sklearn.model_selection import StratifiedKFold

        labels = train["label"].to_numpy()
        split = StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(labels, labels)
        proba = np.zeros((len(labels), len(classes)))
        for fit_rows, test_rows in split:  # every fold trains on every class (folds <= counts)
            proba[test_rows] = self._classify(train[fit_rows], train["text"][test_rows], featurize)
        hits = int((np.array(classes)[proba.argmax(axis=1)] == labels).sum())
        return round(hits / len(labels), 4), proba

    def _floors(
        self, labels: np.ndarray, proba: np.ndarray | None, classes: list[str]
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Per label: its floor, and the evidence for it (the shares of its own and of other
        labels' real rows whose out-of-fold p of it is below floor_max). The floor is floor_max
        where other rows fall below it at least floor_ratio times as often as its own, else
        min(floor_max, the floor_quantile of its own rows' p); floor_max without out-of-fold p."""
        if proba is None:
            return dict.fromkeys(classes, self.floor_max), {}
        floors, evidence = {}, {}
        for col, label in enumerate(classes):
            own, other = proba[labels == label, col], proba[labels != label, col]
            below = {
                "real_below": round(float((own < self.floor_max).mean()), 4),
                "other_below": round(float((other < self.floor_max).mean()), 4),
            }
            reads = below["other_below"] >= self.floor_ratio * below["real_below"]
            quantile = float(np.quantile(own, self.floor_quantile))
            floors[label] = round(self.floor_max if reads else min(self.floor_max, quantile), 4)
            evidence[label] = below
        return floors, evidence

    def _score_candidates(
        self, candidates: pl.DataFrame, train: pl.DataFrame, featurize: Fitter
    ) -> pl.DataFrame:
        """Per candidate id: p of the intended label (null for unknown labels) and the argmax."""
        classes, counts = self.summary_["classes"], self.summary_["real_rows"]
        rows = _usable(candidates.select("id", "text", "label"))
        proba = self._classify(train, rows["text"], featurize)
        index = {label: i for i, label in enumerate(classes)}
        col = np.array([index.get(label, -1) for label in rows["label"]], dtype=np.int64)
        p = np.where(col >= 0, proba[np.arange(len(col)), np.clip(col, 0, None)], np.nan)
        rare = rows.filter(col < 0)["label"].value_counts(sort=True)
        for label, n in rare.filter(pl.col("label").is_in(list(counts))).iter_rows():
            # labels no real row has are named once, by _unknown_warnings
            self.summary_["warnings"].append(
                f"label {label!r}: only {counts[label]} real row(s); label_p_intended left "
                f"empty for {_candidates(n)}"
            )
        self.summary_["scored"] = len(rows)
        floor = np.array([self.summary_["floors"].get(label, np.nan) for label in rows["label"]])
        scored = rows.select(
            "id",
            label_p_intended=pl.Series(p).fill_nan(None),
            label_p_margin=pl.Series(p - floor).fill_nan(None),
            label_predicted=pl.Series(classes, dtype=pl.String).gather(proba.argmax(axis=1)),
        )
        ids = candidates.select("id")
        return ids.join(scored, on="id", how="left", maintain_order="left")


def unknown_labels(candidates: pl.DataFrame, real: pl.DataFrame) -> pl.Series:
    """`label_unknown`: true where a candidate's label is one no real row has; null where the
    candidate has no label or no real row has any."""
    known = _real_labels(real)
    if "label" not in candidates.columns or not known:
        return pl.Series("label_unknown", [None] * candidates.height, dtype=pl.Boolean)
    label = candidates["label"]
    return (~label.is_in(known)).alias("label_unknown").set(label.is_null(), None)


def _real_labels(real: pl.DataFrame) -> list[str]:
    """The distinct non-null labels of the real rows, sorted."""
    if "label" not in real.columns:
        return []
    return sorted(real["label"].drop_nulls().unique().to_list())


def _unknown_warnings(
    candidates: pl.DataFrame, real: pl.DataFrame, unknown: pl.Series
) -> list[str]:
    """One line per unknown label (the most frequent first, at most SHOWN_LABELS): its count
    and the closest real label."""
    if not unknown.any():
        return []
    counts = candidates.filter(unknown)["label"].value_counts(sort=True, name="n")
    counts = counts.sort(["n", "label"], descending=[True, False])
    known = _real_labels(real)
    lines = []
    for label, n in counts.head(SHOWN_LABELS).iter_rows():
        near = closest_label(label, known)
        hint = f"did you mean {near!r}?" if near else f"real labels: {_listed(known)}"
        lines.append(
            f"label {label!r}: no real row has it; {_candidates(n)} flagged label_unknown ({hint})"
        )
    if counts.height > SHOWN_LABELS:
        rest = counts.slice(SHOWN_LABELS)
        lines.append(
            f"{rest.height} more labels no real row has, on {_candidates(rest['n'].sum())}"
        )
    return lines


def closest_label(label: str, known: list[str]) -> str | None:
    """The real label `label` most likely meant: the same up to case and surrounding spaces,
    else difflib's closest (ratio >= 0.6, its default cut-off), else None."""
    folded: dict[str, str] = {}
    for name in known:
        folded.setdefault(name.strip().casefold(), name)
    key = label.strip().casefold()
    if key in folded:
        return folded[key]
    match = difflib.get_close_matches(key, list(folded), n=1)
    return folded[match[0]] if match else None


def _listed(labels: list[str]) -> str:
    shown = ", ".join(repr(x) for x in labels[:SHOWN_LABELS])
    return shown + (f" and {len(labels) - SHOWN_LABELS} more" if len(labels) > SHOWN_LABELS else "")


def _candidates(n: int) -> str:
    return f"{n} candidate" + "s" * (n != 1)


def _usable(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows with a label and a non-blank text."""
    if "label" not in frame.columns:
        return pl.DataFrame(schema={"id": pl.String, "text": pl.String, "label": pl.String})
    return frame.filter(
        pl.col("label").is_not_null() & (pl.col("text").str.strip_chars().fill_null("") != "")
    )


def _fit_features(kind: str, texts: pl.Series, embeddings: Embeddings | None) -> Matrix:
    """Word 1-2-gram and character 2-5-gram TF-IDF and/or embeddings, fitted on `texts`."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizers = []
    if kind != "embeddings":  # sublinear tf: a word said three times is not three times the cue
        vectorizers = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
        ]
    fitted = []
    for vectorizer in vectorizers:  # ValueError: no word, or no n-gram in 2+ texts
        with suppress(ValueError):
            fitted.append(vectorizer.fit(texts.to_list()))

    def make(batch: pl.Series) -> Any:
        blocks = [v.transform(batch.to_list()) for v in fitted]
        if kind != "tfidf" and embeddings is not None:
            blocks.append(csr_matrix(embeddings.of(batch)[0]))
        return hstack(blocks or [csr_matrix((batch.len(), 1))]).tocsr()  # none: the prior

    return make
