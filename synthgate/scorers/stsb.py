"""Semantic similarity of a candidate to its source as the multi-task T5 checkpoints rate it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import polars as pl

from synthgate.scorers.base import Resources, lookup
from synthgate.scorers.t5_answers import answer_table, present, summary, t5_answerer
from synthgate.t5 import STSB, STSB_PROMPT


@dataclass
class StsbScorer:
    """STS-B similarity of candidate and source, 0 to 5, from the run's T5 (`[t5]`).

    In `score` mode the probability-weighted mean of the 26 answers "0.0" … "5.0" (their
    teacher-forced likelihoods renormalised over them); in `generate` mode the greedy answer
    read as a number (unparsable: null and `stsb_unparsable`). Null without a source."""

    name: ClassVar[str] = "stsb"
    requires: ClassVar[tuple[str, ...]] = ("id", "text", "source")
    needs: ClassVar[tuple[str, ...]] = ("t5",)
    enabled_by_default: ClassVar[bool] = False  # needs a T5 checkpoint on disk
    columns: ClassVar[dict[str, pl.DataType]] = {
        "stsb_score": pl.Float64(),
        "stsb_truncated": pl.Boolean(),
        "stsb_unparsable": pl.Boolean(),
    }

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Answer every distinct (source, candidate) pair once."""
        t5 = resources.get("t5", candidates, real)
        prompts = pl.Series("prompt", [None] * candidates.height, dtype=pl.String)
        if "source" in candidates.columns:
            prompts = candidates.select(
                pl.when(present(pl.col("text")) & present(pl.col("source")))
                .then(pl.format(STSB_PROMPT, "source", "text"))
                .alias("prompt")
            )["prompt"]
        answerer = t5_answerer(t5, STSB, resources.progress)
        self.table_ = answer_table(candidates["id"], prompts, STSB, answerer)
        self.summary_: dict[str, Any] = summary(
            self.table_, STSB, t5 and t5.model, t5.mode if t5 else ""
        )
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's answer by id."""
        return lookup(self.table_, batch, self.columns)
