"""Length, alphabetic share, leftover artifacts and label echoes: cheap signs of a broken sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.errors import ConfigError
from synthgate.scorers.base import Resources

# Special tokens that generation pipelines leave behind: GPT-2 `<|endoftext|>` and other
# `<|...|>` markers, T5/BART `</s>` `<pad>` `<unk>` `<extra_id_N>`, BERT `[SEP]` `[CLS]` ...
DEFAULT_ARTIFACTS = [
    r"<\|[^|<>\s]{1,40}\|>",
    r"</?s>",
    r"<pad>",
    r"<unk>",
    r"<mask>",
    r"<extra_id_\d+>",
    r"\[(?:SEP|CLS|PAD|UNK|MASK)\]",
    # a separator line such as ==== or ---- between concatenated samples
    r"(?m)^[ \t]*(?:={4,}|-{4,}|_{4,}|\*{4,}|#{4,}|~{4,})[ \t]*$",
    # U+FFFD (invalid UTF-8 replaced on read) and C0 control characters other than \t \n \r
    r"[\x{FFFD}\x00-\x08\x0B\x0C\x0E-\x1F\x7F]",
]

# Modified z-score of Iglewicz & Hoaglin (1993): 0.6745 (x - median) / MAD, with MAD floored
# so that a real set of one length still gives finite scores.
_MAD_TO_SIGMA = 0.6745
_MIN_MAD = 0.01
# Lengths are measured per label (a class of short texts is not an outlier of the whole real
# set) where the label has this many real rows; its MAD is floored at the whole set's (per-label
# median, max(label MAD, overall MAD): on SMS, madewithml, CoLA and the demo, held-out real rows
# fail no more often than against the whole set, and 10%-splits' small classes fail less).
MIN_LABEL_ROWS = 5


@dataclass
class QualityScorer:
    """Word and character counts, alphabetic share, length against the real rows of the same
    label (modified z-score of log length), artifacts, label echoes."""

    artifact_patterns: list[str] = field(
        default_factory=lambda: list(DEFAULT_ARTIFACTS),
        metadata={"help": "regexes (Rust syntax) counted into quality_artifacts"},
    )

    name: ClassVar[str] = "quality"
    requires: ClassVar[tuple[str, ...]] = ("text", "label")
    needs: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[dict[str, pl.DataType]] = {
        "quality_invalid": pl.Boolean(),
        "quality_words": pl.Int64(),
        "quality_chars": pl.Int64(),
        "quality_alpha_frac": pl.Float64(),
        "quality_length_z": pl.Float64(),
        "quality_artifacts": pl.Int64(),
        "quality_label_echo": pl.Boolean(),
    }

    def __post_init__(self) -> None:
        for i, pattern in enumerate(self.artifact_patterns):
            try:
                pl.Series([""]).str.contains(pattern)
            except Exception as exc:
                raise ConfigError(
                    f"scorers.quality.artifact_patterns[{i}]: must be a regular expression; "
                    f"got {pattern!r}"
                ) from exc

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Learn the real set's log-length median and MAD, and the label names to detect."""
        self.summary_: dict[str, Any] = {}  # nothing for report.json
        logs = np.log1p(real["text"].fill_null("").str.len_chars().cast(pl.Float64).to_numpy())
        self.log_len_median_ = float(np.median(logs)) if len(logs) else 0.0
        mad = float(np.median(np.abs(logs - self.log_len_median_))) if len(logs) else 0.0
        self.log_len_mad_ = max(mad, _MIN_MAD)
        self.label_length_ = _label_lengths(real, logs, self.log_len_mad_)
        labels: set[str] = set()
        for frame in (real, candidates):
            if "label" in frame.columns:
                labels.update(v for v in frame["label"].drop_nulls().unique() if v.strip())
        self.labels_ = sorted(labels)
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Add the quality_* columns."""
        text = pl.col("text").fill_null("")
        non_space = text.str.count_matches(r"\S")
        chars = text.str.len_chars()
        log_len = (chars.cast(pl.Float64) + 1.0).log()
        artifacts = (
            pl.sum_horizontal(
                [text.str.count_matches(p).cast(pl.Int64) for p in self.artifact_patterns]
            )
            if self.artifact_patterns
            else pl.lit(0, pl.Int64)
        )
        return batch.select(
            quality_invalid=(non_space == 0),
            quality_words=text.str.count_matches(r"\S+").cast(pl.Int64),
            quality_chars=chars.cast(pl.Int64),
            quality_alpha_frac=pl.when(non_space > 0)
            .then(text.str.count_matches(r"\p{Alphabetic}") / non_space)
            .cast(pl.Float64),
            quality_length_z=(
                _MAD_TO_SIGMA * (log_len - self._of_label(batch, 0)) / self._of_label(batch, 1)
            ).cast(pl.Float64),
            quality_artifacts=artifacts.cast(pl.Int64),
            quality_label_echo=self._label_echo(text),
        )

    def _of_label(self, batch: pl.DataFrame, which: int) -> pl.Expr:
        """The median (0) or MAD (1) of log length a row is measured by: its label's, where
        the real set has enough rows of it, else the whole real set's."""
        overall = (self.log_len_median_, self.log_len_mad_)[which]
        if not self.label_length_ or "label" not in batch.columns:
            return pl.lit(overall)
        mapping = {label: stats[which] for label, stats in self.label_length_.items()}
        return pl.col("label").replace_strict(mapping, default=overall, return_dtype=pl.Float64)

    def _label_echo(self, text: pl.Expr) -> pl.Expr:
        # "spam: win a prize" or "label: spam | ..." - the prompt's label leaked into the sample.
        if not self.labels_:
            return pl.lit(None, pl.Boolean)
        names = "|".join(pl.escape_regex(label.strip()) for label in self.labels_)
        return text.str.contains(rf"(?i)^\s*(?:label\s*[:=]\s*)?(?:{names})\s*[:|=]")


def _label_lengths(
    real: pl.DataFrame, logs: np.ndarray, overall_mad: float
) -> dict[str, tuple[float, float]]:
    """(median, MAD) of log length per real label with at least MIN_LABEL_ROWS rows; the MAD
    never below the whole set's, so a tight class does not turn its own rows into outliers."""
    if "label" not in real.columns or not len(logs):
        return {}
    frame = pl.DataFrame({"label": real["label"].cast(pl.String), "log": logs})
    stats = (
        frame.drop_nulls("label")
        .with_columns(dev=(pl.col("log") - pl.col("log").median().over("label")).abs())
        .group_by("label")
        .agg(pl.len(), pl.col("log").median(), pl.col("dev").median())
        .filter(pl.col("len") >= MIN_LABEL_ROWS)
    )
    return {
        row["label"]: (row["log"], max(row["dev"], overall_mad))
        for row in stats.iter_rows(named=True)
    }
