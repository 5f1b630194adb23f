"""The generated rows: a job's generator and prompt builder, and every row they made, with its
provenance columns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from synthgate.generate import make_generator
from synthgate.generate.base import Generator
from synthgate.generate.prompts import PromptBuilder, Template
from synthgate.progress import Progress

GENERATED_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "text": pl.String(),
    "label": pl.String(),
    "source": pl.String(),
    "source_id": pl.String(),
    "generator": pl.String(),
    "model": pl.String(),
    "prompt": pl.String(),
    "seed": pl.Int64(),
    "round": pl.Int64(),
    "truncated": pl.Boolean(),
}
"""Every generated row's columns, in order."""


PER_LABEL = "{label}"  # in `generate.model`: a model per label (finetune --per-label: DIR/<label>)


@dataclass
class Generation:
    """One job's generator (one per label when `model` holds `{label}`) and prompt builder,
    and what they have made so far."""

    table: dict[str, Any]
    generator: Generator
    builder: PromptBuilder
    frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GENERATED_SCHEMA))
    rounds: list[dict[str, Any]] = field(default_factory=list)
    batches: list[Any] = field(default_factory=list)  # batch sizes used, per round
    real: pl.DataFrame | None = None  # what per-label generators are fitted on
    per_label_: dict[str, Generator] = field(default_factory=dict)

    def add(self, plan: dict[str, int], round_no: int, progress: Progress) -> pl.DataFrame:
        """Generate `plan[label]` rows per label as round `round_no`; return and keep them."""
        nrs = self.table["num_return_sequences"]
        requests = pl.concat(
            [self.builder.build(label, math.ceil(n / nrs)) for label, n in plan.items()]
        )
        seed = self.table["seed"] + 1_000_003 * round_no  # each round draws afresh, reproducibly
        step = f"generate round {round_no}"
        if PER_LABEL not in self.table["model"]:
            out, sizes = self._run(self.generator, requests, seed, step, progress)
            self.batches.append(sizes)
            rows = _rows(requests, out, self.generator, self.table["model"], round_no)
        else:  # each label's prompts go to its own model, labels in plan order
            parts, sizes = [], {}
            for label in plan:
                model = self.table["model"].replace(PER_LABEL, label)
                part = requests.filter(pl.col("label") == label)
                out, sizes[label] = self._run(
                    self._of(label, model), part, seed, f"{step} {label}", progress
                )
                parts.append(_rows(part, out, self._of(label, model), model, round_no))
            self.batches.append(sizes)
            rows = pl.concat(parts)
        rows = _trim(rows, plan, self.frame.height)
        self.frame = pl.concat([self.frame, rows])
        return rows

    def _run(
        self, generator: Generator, requests: pl.DataFrame, seed: int, step: str, progress: Progress
    ) -> tuple[pl.DataFrame, list[int]]:
        """One generator's outputs for `requests`, and the batch sizes it used."""
        progress(step, 0, requests.height)
        used = len(generator.batch_sizes_)
        out = generator.generate(requests, seed, lambda _, done, total: progress(step, done, total))
        progress(step, requests.height, requests.height)
        return out, generator.batch_sizes_[used:]

    def _of(self, label: str, model: str) -> Generator:
        """The label's own generator, made and fitted on first use (its model loads later)."""
        if label not in self.per_label_:
            made = make_generator({**self.table, "model": model})
            self.per_label_[label] = made.fit(self.real)
        return self.per_label_[label]

    def record(self) -> dict[str, Any]:
        """What run.json keeps of the generation: settings and rounds (with the batch sizes
        each used, in order, per label with a per-label model: prompts sorted longest first,
        each batch seeded with the round's seed plus its first prompt's position, so any batch
        can be regenerated alone)."""
        return {
            "generator": self.table["generator"],
            "model": self.table["model"],
            "prompt": self.builder.template.text,
            "seed": self.table["seed"],
            "rounds": self.rounds,
        }


def start(real: pl.DataFrame, config: dict[str, Any]) -> Generation:
    """The job's generator (fitted, its model not yet loaded) and prompt builder over `real`
    (canonical: id, text, label)."""
    table = config["generate"]
    generator = make_generator(table)
    template = Template(table["prompt"] or generator.default_prompt)
    builder = PromptBuilder(template, table["seed"]).fit(real)
    return Generation(table, generator.fit(real), builder, real=real)


def _rows(
    requests: pl.DataFrame, out: pl.DataFrame, generator: Generator, model: str, round_no: int
) -> pl.DataFrame:
    """Generator outputs joined back to their requests, with provenance (ids set by _trim)."""
    joined = out.join(
        requests.with_row_index("request").with_columns(pl.col("request").cast(pl.Int64)),
        on="request",
        how="left",
        maintain_order="left",
    )
    return joined.select(
        id=pl.lit("", pl.String),
        text="text",
        label="label",
        source="source",
        source_id="source_id",
        generator=pl.lit(generator.name),
        model=pl.lit(model or None, pl.String),
        prompt="prompt",
        seed="seed",
        round=pl.lit(round_no, pl.Int64),
        truncated="truncated",
    ).cast(GENERATED_SCHEMA)


def _trim(rows: pl.DataFrame, plan: dict[str, int], first: int) -> pl.DataFrame:
    """At most `plan[label]` rows per label (num_return_sequences may overshoot), ids numbered
    on from `first`."""
    kept = rows.filter(
        pl.int_range(pl.len()).over("label")
        < pl.col("label").replace_strict(plan, return_dtype=pl.Int64)
    )
    return kept.with_columns(id=(pl.int_range(pl.len()) + first).cast(pl.String))
