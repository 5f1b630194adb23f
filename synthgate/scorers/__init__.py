"""The scorer registry: one dict, short names, the order scorers run in, and which scorer
provides which column."""

from __future__ import annotations

import polars as pl

from synthgate.scorers.base import Scorer
from synthgate.scorers.cola import ColaScorer
from synthgate.scorers.dedup import DedupScorer
from synthgate.scorers.discriminator import DiscriminatorScorer
from synthgate.scorers.label import LabelScorer
from synthgate.scorers.quality import QualityScorer
from synthgate.scorers.repetition import RepetitionScorer
from synthgate.scorers.similarity import SimilarityScorer
from synthgate.scorers.stsb import StsbScorer

SCORERS: dict[str, type[Scorer]] = {
    "quality": QualityScorer,
    "repetition": RepetitionScorer,
    "dedup": DedupScorer,
    "similarity": SimilarityScorer,
    "label": LabelScorer,
    "discriminator": DiscriminatorScorer,
    "stsb": StsbScorer,
    "cola": ColaScorer,
}


def provided_by() -> dict[str, str]:
    """Scorer column -> the name of the scorer that provides it."""
    return {col: name for name, cls in SCORERS.items() for col in cls.columns}


def score_columns(frame: pl.DataFrame) -> list[str]:
    """Scorer output columns present in `frame`, in registry order."""
    return [c for s in SCORERS.values() for c in s.columns if c in frame.columns]


__all__ = [
    "SCORERS",
    "ColaScorer",
    "DedupScorer",
    "DiscriminatorScorer",
    "LabelScorer",
    "QualityScorer",
    "RepetitionScorer",
    "Scorer",
    "SimilarityScorer",
    "StsbScorer",
    "provided_by",
    "score_columns",
]
