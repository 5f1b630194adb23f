"""report.json: what the gate did, counted from the scored frame alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from synthgate.gate import Gate, rules_of

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def build_report(
    frame: pl.DataFrame,
    gate: Gate,
    score_columns: list[str],
    label_col: str | None = None,
    inactive_rules: list[str] | None = None,
    scorers: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Counts per reason and rule, rows rejected by one rule only, rows rejected by each pair
    of rules, skips, per-label acceptance, quantiles of every numeric score column."""
    reasons = (
        frame.select(pl.int_range(pl.len()).alias("row"), pl.col("reasons").alias("reason"))
        .explode("reason")
        .drop_nulls("reason")
    )
    reasons = reasons.with_columns(rule=rules_of(reasons["reason"]))
    rows_per_rule = reasons  # the gate writes at most one reason per rule per row
    only = rows_per_rule.filter(pl.len().over("row") == 1)
    accepted = int(frame["accepted"].sum())
    return {
        "rows": frame.height,
        "accepted": accepted,
        "rejected": frame.height - accepted,
        "rejected_by_reason": _counts(reasons, "reason"),
        "rejected_by_rule": _counts(rows_per_rule, "rule"),
        "rejected_only_by_rule": _counts(only, "rule"),
        "co_rejection": _co_rejection(rows_per_rule),
        "skipped_by_rule": {
            r.column: int(frame[r.column].null_count())
            for r in gate.rules
            if r.on_missing == "skip"
        },
        "inactive_rules": list(inactive_rules or []),
        "acceptance_by_label": _by_label(frame, label_col),
        "scorers": dict(scorers or {}),
        "score_quantiles": {c: _quantiles(frame[c]) for c in score_columns if _numeric(frame[c])},
    }


def _counts(frame: pl.DataFrame, key: str) -> dict[str, int]:
    if frame.height == 0:
        return {}
    counted = frame.group_by(key).len().sort(["len", key], descending=[True, False])
    if key == "reason":  # one entry for all duplicate_of:<id> reasons
        counted = (
            counted.with_columns(
                pl.when(pl.col(key).str.starts_with("duplicate_of:"))
                .then(pl.lit("duplicate_of"))
                .otherwise(pl.col(key))
                .alias(key)
            )
            .group_by(key, maintain_order=True)
            .agg(pl.col("len").sum())
            .sort(["len", key], descending=[True, False])
        )
    return dict(zip(counted[key].to_list(), counted["len"].to_list(), strict=True))


def _co_rejection(rows_per_rule: pl.DataFrame) -> dict[str, dict[str, int]]:
    """rule -> other rule -> rows both rejected; the diagonal is the rule's own count.
    An indicator matrix product (rows x rules): a self-join on row costs 20x more."""
    if rows_per_rule.height == 0:
        return {}
    rules = sorted(rows_per_rule["rule"].unique().to_list())
    codes = rows_per_rule["rule"].replace_strict(
        rules, list(range(len(rules))), return_dtype=pl.Int64
    )
    rows = rows_per_rule["row"].to_numpy()
    ones = np.ones(len(rows), dtype=np.int64)
    matrix = sparse.csr_matrix((ones, (rows, codes.to_numpy())), shape=(rows.max() + 1, len(rules)))
    both = (matrix.T @ matrix).toarray()
    return {
        rule: {other: int(both[i, j]) for j, other in enumerate(rules) if both[i, j]}
        for i, rule in enumerate(rules)
    }


def _by_label(frame: pl.DataFrame, label_col: str | None) -> dict[str, dict[str, Any]]:
    if not label_col or label_col not in frame.columns:
        return {}
    grouped = (
        frame.group_by(pl.col(label_col).cast(pl.String).fill_null("(none)").alias("label"))
        .agg(rows=pl.len(), accepted=pl.col("accepted").sum())
        .sort("label")
    )
    return {
        row["label"]: {
            "rows": row["rows"],
            "accepted": row["accepted"],
            "rate": row["accepted"] / row["rows"],
        }
        for row in grouped.iter_rows(named=True)
    }


def _numeric(series: pl.Series) -> bool:
    return series.dtype.is_numeric() or series.dtype == pl.Boolean


def _quantiles(series: pl.Series) -> dict[str, float | int | None]:
    values = series.cast(pl.Float64).drop_nulls().to_numpy()
    out: dict[str, float | int | None] = {"count": len(values), "null": series.null_count()}
    names = [f"p{round(q * 100):02d}" for q in QUANTILES]
    if len(values) == 0:
        return out | {"min": None, "max": None, **dict.fromkeys(names)}
    # numpy's default "linear" is polars' "linear": one sort for all seven, not seven passes
    found = np.quantile(values, QUANTILES)
    out |= {"min": float(values.min()), "max": float(values.max())}
    return out | {name: float(v) for name, v in zip(names, found, strict=True)}
