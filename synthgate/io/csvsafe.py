"""CSV a spreadsheet can open safely: cells it would run as formulas are quoted, reversibly."""

from __future__ import annotations

import polars as pl

FORMULA = r"^'*[=+\-@\t\r]"
"""A cell a spreadsheet would run as a formula: one that starts with = + - @, a tab or a carriage
return (OWASP, CSV Injection). Such a cell is written with a leading `'`. Leading quotes are
allowed before the trigger so that the quoting can be undone exactly: `'=A1` is written
`''=A1` and reads back as `'=A1`, while `'abc` is left alone."""


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell matching `FORMULA` with a `'` in front (numbers cannot be formulas)."""
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA)).then("'" + pl.col(c)).otherwise(c).alias(c)
        for c in text
    )


def unneutralise(values: pl.Series) -> pl.Series:
    """The text cells `neutralise` wrote, as they were: one leading `'` off where it added one."""
    return values.str.replace(r"^'('*[=+\-@\t\r])", "$1")
