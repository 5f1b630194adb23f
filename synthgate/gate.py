"""The Gate: the only place that decides. Pure, model-free, records every failing rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from synthgate.errors import SynthgateError

OnMissing = Literal["skip", "reject"]
_REASON = r"^(?:not:)?(.+?)(?:[<>].*|:missing)?$"
GATE_COLUMNS = ("reasons", "accepted")
"""The columns only the gate writes."""


def format_bound(value: float | bool) -> str:
    """How a threshold is written in a reason: 0.3, -3.5, 10."""
    return f"{value:g}"


@dataclass(frozen=True)
class Rule:
    """Keep a row only if `min <= column <= max`. For a Boolean flag, `max = false` rejects
    rows where the flag is true (reason: the column name)."""

    column: str
    min: float | bool | None = None
    max: float | bool | None = None
    on_missing: OnMissing = "skip"

    def numeric_bounds(self) -> list[tuple[str, float]]:
        """("min" | "max", value) of each numeric bound; a flag's Boolean bound is not one."""
        pairs = (("min", self.min), ("max", self.max))
        return [(k, float(v)) for k, v in pairs if v is not None and not isinstance(v, bool)]

    def failures(self) -> list[tuple[pl.Expr, str]]:
        """(condition, reason) pairs; each condition is true where the row fails."""
        col = pl.col(self.column)
        out: list[tuple[pl.Expr, str]] = []
        if isinstance(self.max, bool):
            out.append((col.cast(pl.Boolean) & pl.lit(not self.max), self.column))
        elif self.max is not None:
            out.append((col > self.max, f"{self.column}>{format_bound(self.max)}"))
        if isinstance(self.min, bool):
            out.append((~col.cast(pl.Boolean) & pl.lit(self.min), f"not:{self.column}"))
        elif self.min is not None:
            out.append((col < self.min, f"{self.column}<{format_bound(self.min)}"))
        if self.on_missing == "reject":
            out.append((col.is_null(), f"{self.column}:missing"))
        return out


@dataclass(frozen=True)
class Unique:
    """Among rows of one cluster that pass every rule, keep one: the first in input order, or
    the highest (or lowest) value of `prefer`."""

    column: str = "dedup_cluster"
    prefer: str = ""
    prefer_highest: bool = True


@dataclass(frozen=True)
class Gate:
    """Rules, then the unique step; adds `reasons: list[str]` and `accepted: bool`."""

    rules: tuple[Rule, ...]
    unique: Unique | None = None

    def apply(self, frame: pl.DataFrame, id_col: str = "id") -> pl.DataFrame:
        """Return `frame` with `reasons` and `accepted` added, rows in the same order."""
        out = frame.with_columns(reasons=self._reasons(frame))
        if self.unique is not None and self.unique.column in frame.columns:
            out = self._unique(out, id_col)
        return out.with_columns(accepted=pl.col("reasons").list.len() == 0)

    def _reasons(self, frame: pl.DataFrame) -> pl.Series:
        """Every failing rule per row, in rule order. Built long (one row per failure) and
        grouped: most rows fail nothing, and a list per rule per row cost 60x more."""
        empty = pl.lit([], pl.List(pl.String))
        checks = [(cond, reason) for rule in self.rules for cond, reason in rule.failures()]
        if not checks:
            return pl.Series("reasons", [[]] * frame.height, pl.List(pl.String))
        rows = frame.lazy().with_row_index("_row")
        long = pl.concat(
            rows.filter(cond.fill_null(False)).select(
                "_row", _k=pl.lit(k, pl.UInt32), reasons=pl.lit(reason, pl.String)
            )
            for k, (cond, reason) in enumerate(checks)
        )
        per_row = long.sort("_row", "_k").group_by("_row", maintain_order=True).agg("reasons")
        joined = rows.select("_row").join(per_row, on="_row", how="left", maintain_order="left")
        return joined.select(pl.col("reasons").fill_null(empty)).collect()["reasons"]

    def _unique(self, frame: pl.DataFrame, id_col: str) -> pl.DataFrame:
        assert self.unique is not None
        cluster = pl.col(self.unique.column)
        passing = frame.with_row_index("_row").filter(
            (pl.col("reasons").list.len() == 0) & cluster.is_not_null()
        )
        if self.unique.prefer:
            order = [pl.col(self.unique.prefer), pl.col("_row")]
            passing = passing.sort(
                order, descending=[self.unique.prefer_highest, False], nulls_last=True
            )
        keeper = passing.group_by(self.unique.column, maintain_order=True).agg(
            _keeper=pl.col(id_col).cast(pl.String).first()
        )
        joined = frame.join(keeper, on=self.unique.column, how="left", maintain_order="left")
        loser = (pl.col("reasons").list.len() == 0) & (
            pl.col(id_col).cast(pl.String) != pl.col("_keeper")
        ).fill_null(False)
        dup = pl.concat_list(pl.lit("duplicate_of:") + pl.col("_keeper"))
        return joined.with_columns(
            reasons=pl.when(loser).then(dup).otherwise(pl.col("reasons"))
        ).drop("_keeper")


def rule_expr(reason: pl.Expr) -> pl.Expr:
    """The rule a reason came from: `quality_length_z<-3.5` -> quality_length_z,
    `duplicate_of:17` -> unique."""
    return (
        pl.when(reason.str.starts_with("duplicate_of:"))
        .then(pl.lit("unique"))
        .otherwise(reason.str.extract(_REASON, 1))
    )


def rules_of(reasons: pl.Series) -> pl.Series:
    """rule_expr over a Series, parsed once per distinct reason (millions of rows repeat a few
    dozen reasons; `duplicate_of:<id>` is told apart by its prefix, not parsed)."""
    distinct = pl.DataFrame({"reason": reasons.unique()}).filter(
        ~pl.col("reason").str.starts_with("duplicate_of:")
    )
    mapping = distinct.with_columns(rule=rule_expr(pl.col("reason")))
    lookup = dict(zip(mapping["reason"], mapping["rule"], strict=True))
    return pl.select(
        pl.when(reasons.str.starts_with("duplicate_of:"))
        .then(pl.lit("unique"))
        .otherwise(reasons.replace_strict(lookup, default=None, return_dtype=pl.String))
        .alias("rule")
    ).to_series()


def gate_frame(frame: pl.DataFrame, gate: Gate, id_col: str = "id") -> pl.DataFrame:
    """`frame` with `gate`'s `reasons` and `accepted` (any earlier ones replaced): how score,
    regate, tune and evaluate all decide over a frame of scores. Rule columns are read as
    numbers for the decision; the frame's own values are kept as they are."""
    base = frame.drop([c for c in GATE_COLUMNS if c in frame.columns])
    decided = gate.apply(decision_view(base, gate), id_col=id_col)
    return base.with_columns(decided.select(GATE_COLUMNS))


def decision_view(frame: pl.DataFrame, gate: Gate) -> pl.DataFrame:
    """`frame` with every rule's column as numbers (what the rules compare)."""
    return frame.with_columns(numeric_column(frame, c) for c in {r.column for r in gate.rules})


def numeric_column(frame: pl.DataFrame, column: str) -> pl.Series:
    """A rule's column as numbers: user columns read from CSV arrive as text. NaN is a value
    that does not exist (null), so the rule's `on_missing` decides it, as for any null."""
    series = frame[column]
    if series.dtype.is_float():
        return series.fill_nan(None)
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        return series
    if series.dtype != pl.String:
        raise SynthgateError(
            f"gate.rules.{column}: column {column!r} is {series.dtype}, not numeric"
        )
    parsed = series.str.strip_chars().cast(pl.Float64, strict=False)
    bad = parsed.is_null() & series.is_not_null() & (series.str.strip_chars() != "")
    if bad.any():
        row = int(bad.arg_max())  # type: ignore[arg-type]
        raise SynthgateError(
            f"candidates: column {column!r} row {row + 1}: {series[row]!r} is not a number "
            f"(gate.rules.{column} needs numbers)"
        )
    return parsed.fill_nan(None)
