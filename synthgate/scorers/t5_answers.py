"""What the `stsb` and `cola` scorers share: each distinct prompt answered once by the run's T5."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from synthgate.progress import Progress
from synthgate.t5 import T5, Answers, Task

Answerer = Callable[[list[str]], Answers]
"""distinct prompts -> their Answers (a T5's, or a classifier's)."""


def t5_answerer(t5: T5 | None, task: Task, progress: Progress) -> Answerer | None:
    """The run's T5 answering `task`, or None where there is no T5."""
    return None if t5 is None else (lambda prompts: t5.answer(task, prompts, progress))


def answer_table(
    ids: pl.Series, prompts: pl.Series, task: Task, answerer: Answerer | None
) -> pl.DataFrame:
    """Per id: `<task>_<score>`, `<task>_truncated`, `<task>_unparsable`; null where the prompt
    is null (the score does not apply) or nothing answers."""
    score = {"stsb": "stsb_score", "cola": "cola_p_acceptable"}[task.name]
    distinct = prompts.drop_nulls().unique(maintain_order=True)
    if answerer is None:
        distinct = distinct.head(0)
    answers = answerer(distinct.to_list()) if answerer and distinct.len() else None
    table = pl.DataFrame(
        {
            "prompt": distinct,
            score: pl.Series(_values(answers, "value", np.float64)).fill_nan(None),
            f"{task.name}_truncated": _values(answers, "truncated", bool),
            f"{task.name}_unparsable": _values(answers, "unparsable", bool),
        },
        schema_overrides={"prompt": pl.String},
    )
    frame = pl.DataFrame({"id": ids, "prompt": prompts})
    return frame.join(table, on="prompt", how="left", maintain_order="left").drop("prompt")


def _values(answers: Any, field: str, dtype: Any) -> np.ndarray:
    return np.zeros(0, dtype=dtype) if answers is None else getattr(answers, field)


def present(column: pl.Expr) -> pl.Expr:
    """Whether a text cell holds something to score (not null, not blank)."""
    return column.is_not_null() & (column.str.strip_chars() != "")


def summary(table: pl.DataFrame, task: Task, model: str | None, mode: str) -> dict[str, Any]:
    """What report.json says of the pass: model, mode and counts."""
    if model is None:
        return {}
    flags = {k: int(table[f"{task.name}_{k}"].sum() or 0) for k in ("truncated", "unparsable")}
    scored = int(table[f"{task.name}_truncated"].is_not_null().sum())
    return {"model": model, "mode": mode, "rows_scored": scored, **flags}
