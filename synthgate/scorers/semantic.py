"""The semantic level of dedup: nearest real row and nearest earlier candidate by cosine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthgate.embed import Embeddings
from synthgate.scorers.neighbours import nearest, nearest_earlier


@dataclass(frozen=True)
class SemanticMatches:
    """Per candidate row: cosine to the nearest real row and its id (null where the row has no
    vector), and the earlier candidate row it duplicates (-1 for none)."""

    real_cosine: pl.Series
    real_match: pl.Series
    parent: np.ndarray


def semantic_matches(
    candidates: pl.DataFrame, real: pl.DataFrame, embeddings: Embeddings, threshold: float
) -> SemanticMatches:
    """Compare candidates with the real set and with earlier candidates, chunk by chunk."""
    cand_vecs, found = embeddings.of(candidates["text"])
    real_vecs, real_found = embeddings.of(real["text"])
    real_ids = real["id"].filter(pl.Series(real_found))
    best, where = nearest(cand_vecs[found], real_vecs[real_found])
    cosine = np.full(len(found), np.nan)
    cosine[found] = np.clip(best, -1.0, 1.0)
    match = np.full(len(found), -1, dtype=np.int64)
    match[found] = where
    earlier_cos, earlier = nearest_earlier(cand_vecs[found])
    rows = np.flatnonzero(found)
    parent = np.full(len(found), -1, dtype=np.int64)
    linked = earlier_cos >= threshold
    parent[rows[linked]] = rows[earlier[linked]]
    has_match = found & (match >= 0)
    ids = (
        real_ids.gather(np.clip(match, 0, None))
        if real_ids.len()
        else pl.repeat(None, len(found), dtype=pl.String, eager=True)
    )
    return SemanticMatches(
        real_cosine=pl.Series(np.where(has_match, cosine, np.nan)).fill_nan(None),
        real_match=ids.set(pl.Series(~has_match), None),
        parent=parent,
    )
