"""What every scorer is: a small object that adds declared columns and never decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Protocol, Self, runtime_checkable

import polars as pl


@runtime_checkable
class Scorer(Protocol):
    """Adds columns `<name>_<metric>` to a batch of candidates; the Gate decides, not the scorer.

    `fit` sees the whole candidate set and the real set once and keeps what it learns in
    attributes ending in `_`; `score` then needs nothing but the batch, so batches can run
    anywhere and in any split.
    """

    name: str
    requires: tuple[str, ...]
    columns: Mapping[str, pl.DataType]

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame) -> Self: ...

    def score(self, batch: pl.DataFrame) -> pl.DataFrame: ...


def params(scorer: object) -> dict[str, Any]:
    """A dataclass scorer's parameters as a dict (what `config.toml` records)."""
    return {f.name: getattr(scorer, f.name) for f in fields(scorer)}  # type: ignore[arg-type]


def empty_columns(columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A zero-row frame with the declared schema."""
    return pl.DataFrame(schema=dict(columns))
