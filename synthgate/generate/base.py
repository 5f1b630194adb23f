"""What every generator is: a cheap constructor holding parameters, `fit` on the real rows,
`generate` from a frame of prompts to a frame of outputs."""

from __future__ import annotations

from typing import ClassVar, Protocol, Self, runtime_checkable

import polars as pl

from synthgate.progress import Progress, silent

OUTPUT_SCHEMA = {"request": pl.Int64, "text": pl.String, "truncated": pl.Boolean, "seed": pl.Int64}


@runtime_checkable
class Generator(Protocol):
    """Makes texts from prompts. `generate` gets the requests (label, prompt, source,
    source_id) and a seed, and returns OUTPUT_SCHEMA rows: which request each output answers,
    the text (prompt and special tokens stripped), whether it hit max_new_tokens without an end
    token, and the seed its batch was sampled with; `progress(step, done, total)` hears of each
    batch. `batch_sizes_` lists the batch sizes used
    (after any halving) so a batch can be regenerated alone. Models load on first use."""

    name: ClassVar[str]
    default_prompt: ClassVar[str]
    batch_sizes_: list[int]

    def fit(self, real: pl.DataFrame) -> Self: ...

    def generate(
        self, requests: pl.DataFrame, seed: int, progress: Progress = silent
    ) -> pl.DataFrame: ...


def outputs(
    request: list[int], text: list[str], truncated: list[bool], seed: list[int]
) -> pl.DataFrame:
    """Generator outputs as a frame of OUTPUT_SCHEMA, ordered by request."""
    frame = pl.DataFrame(
        {"request": request, "text": text, "truncated": truncated, "seed": seed},
        schema=OUTPUT_SCHEMA,
    )
    return frame.sort("request", maintain_order=True)
