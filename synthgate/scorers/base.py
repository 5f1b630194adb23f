"""What every scorer is: a small object that adds declared columns and never decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, Self, runtime_checkable

import polars as pl

from synthgate.embed import Embeddings
from synthgate.scorers.neighbours import Neighbours, candidate_neighbours


@dataclass(frozen=True)
class Resources:
    """What the pipeline makes once per run and every scorer may share: the embeddings of
    every distinct text (when some scorer needs them), and what is derived from them once.
    Later: the shared T5 model."""

    embeddings: Embeddings | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def neighbours(self, candidates: pl.DataFrame, real: pl.DataFrame) -> Neighbours | None:
        """Each candidate's nearest real row and nearest earlier candidate, searched once per
        pair of frames however many scorers ask (dedup's semantic level, the discriminator)."""
        if self.embeddings is None:
            return None
        key = (id(candidates), id(real))
        if key not in self._cache:  # the frames are kept too, so their ids stay theirs
            found = candidate_neighbours(candidates["text"], real["text"], self.embeddings)
            self._cache[key] = (candidates, real, found)
        return self._cache[key][2]


@runtime_checkable
class Scorer(Protocol):
    """Adds columns `<name>_<metric>` to a batch of candidates; the Gate decides, not the scorer.

    `fit` sees the whole candidate set, the real set and the shared resources once, and keeps
    what it learns in attributes ending in `_`; `score` then needs nothing but the batch, so
    batches can run anywhere and in any split. `needs` names the resources `fit` uses.
    """

    name: str
    requires: tuple[str, ...]
    columns: Mapping[str, pl.DataType]

    @property
    def needs(self) -> tuple[str, ...]: ...

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self: ...

    def score(self, batch: pl.DataFrame) -> pl.DataFrame: ...


def lookup(
    table: pl.DataFrame, batch: pl.DataFrame, columns: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The rows of a fitted per-id `table` for the ids of `batch`, in batch order."""
    joined = batch.select("id").join(table, on="id", how="left", maintain_order="left")
    return joined.select(list(columns)).cast(dict(columns))
