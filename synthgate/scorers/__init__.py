"""The scorer registry: one dict, short names, the order scorers run in."""

from __future__ import annotations

from synthgate.scorers.base import Scorer
from synthgate.scorers.dedup import DedupScorer
from synthgate.scorers.discriminator import DiscriminatorScorer
from synthgate.scorers.label import LabelScorer
from synthgate.scorers.quality import QualityScorer
from synthgate.scorers.repetition import RepetitionScorer
from synthgate.scorers.similarity import SimilarityScorer

SCORERS: dict[str, type] = {
    "quality": QualityScorer,
    "repetition": RepetitionScorer,
    "dedup": DedupScorer,
    "similarity": SimilarityScorer,
    "label": LabelScorer,
    "discriminator": DiscriminatorScorer,
}

__all__ = [
    "SCORERS",
    "DedupScorer",
    "DiscriminatorScorer",
    "LabelScorer",
    "QualityScorer",
    "RepetitionScorer",
    "Scorer",
    "SimilarityScorer",
]
