"""What every scorer is: a small object that adds declared columns and never decides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self, runtime_checkable

import polars as pl

from synthgate.resources import Resources


@runtime_checkable
class Scorer(Protocol):
    """Adds columns `<name>_<metric>` to a batch of candidates; the Gate decides, not the scorer.

    `fit` sees the whole candidate set, the real set and the shared resources once, and keeps
    what it learns in attributes ending in `_` (`summary_`: what report.json says of the fit);
    `score` then needs nothing but the batch, so batches can run anywhere and in any split.
    `requires` names the candidate columns it reads (the pipeline hands it only those that
    exist); `needs` names the shared resources `fit` asks for.
    """

    name: str
    requires: tuple[str, ...]
    columns: Mapping[str, pl.DataType]
    summary_: dict[str, Any]

    @property
    def needs(self) -> tuple[str, ...]: ...

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self: ...

    def score(self, batch: pl.DataFrame) -> pl.DataFrame: ...


def reads(frame: pl.DataFrame, scorer: Scorer) -> pl.DataFrame:
    """The columns of `frame` that `scorer` declares it reads."""
    return frame.select(c for c in scorer.requires if c in frame.columns)


def lookup(
    table: pl.DataFrame, batch: pl.DataFrame, columns: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The rows of a fitted per-id `table` for the ids of `batch`, in batch order."""
    joined = batch.select("id").join(table, on="id", how="left", maintain_order="left")
    return joined.select(list(columns)).cast(dict(columns))
