"""The semantic level of dedup: nearest real row and nearest earlier candidate by cosine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthgate.vectors import Neighbours


@dataclass(frozen=True)
class SemanticMatches:
    """Per candidate row: cosine to the nearest real row and its id (null where the row has no
    vector), and the earlier candidate row it duplicates (-1 for none)."""

    real_cosine: pl.Series
    real_match: pl.Series
    parent: np.ndarray


def semantic_matches(
    real: pl.DataFrame, neighbours: Neighbours, threshold: float
) -> SemanticMatches:
    """Nearest real row by cosine, and the earlier candidate each one duplicates."""
    has_match = neighbours.real_row >= 0
    ids = (
        real["id"].gather(np.clip(neighbours.real_row, 0, None))
        if real.height
        else pl.repeat(None, len(has_match), dtype=pl.String, eager=True)
    )
    linked = neighbours.earlier_cos >= threshold  # NaN (no vector) is never linked
    return SemanticMatches(
        real_cosine=pl.Series(np.where(has_match, neighbours.real_cos, np.nan)).fill_nan(None),
        real_match=ids.set(pl.Series(~has_match), None),
        parent=np.where(linked, neighbours.earlier_row, -1),
    )
