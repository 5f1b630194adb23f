"""Similarity of a candidate to the text it was derived from (its `source`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.scorers.base import Resources, lookup


@dataclass
class SimilarityScorer:
    """Cosine of the candidate's and its source's embeddings: low is drift, high is a copy."""

    name: ClassVar[str] = "similarity"
    requires: ClassVar[tuple[str, ...]] = ("id", "text", "source")
    needs: ClassVar[tuple[str, ...]] = ("embeddings",)
    columns: ClassVar[dict[str, pl.DataType]] = {"similarity_cosine": pl.Float64()}

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Cosines for every row with a text and a source; null where either is missing."""
        self.summary_: dict[str, Any] = {}  # nothing for report.json
        cosine = np.full(candidates.height, np.nan)
        embeddings = resources.get("embeddings", candidates, real)
        if "source" in candidates.columns and embeddings is not None:
            text, has_text = embeddings.of(candidates["text"])
            source, has_source = embeddings.of(candidates["source"])
            both = has_text & has_source
            cosine[both] = np.clip(np.einsum("ij,ij->i", text[both], source[both]), -1.0, 1.0)
        self.table_ = pl.DataFrame(
            {"id": candidates["id"], "similarity_cosine": pl.Series(cosine).fill_nan(None)}
        )
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's cosine by id."""
        return lookup(self.table_, batch, self.columns)
