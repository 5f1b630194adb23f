"""The audit page's rows: examples of each rule's rejections and rows either side of a threshold."""

from __future__ import annotations

import polars as pl

from synthgate import html
from synthgate.gate import Rule, format_bound, rules_of
from synthgate.io.rundir import Run
from synthgate.report.plots import rule_values

EXAMPLES = 5  # rows shown per rule: enough to see what it catches, short enough to scan
NEAR = 3  # rows shown on each side of each threshold
TEXT_CHARS = 240  # longer texts are cut (the full text is in scored.parquet)


def short(text: object, limit: int = TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[:limit] + "…"


def example_rows(run: Run) -> dict[str, list[dict[str, list[int]]]]:
    """Rule -> reason -> up to EXAMPLES row numbers it rejected: rows this reason alone rejected
    first, then input order. Both sides of a two-sided rule get their own examples."""
    reasons = (
        run.frame.select(
            pl.int_range(pl.len()).alias("_row"),
            pl.col("reasons"),
            _shared=pl.col("reasons").list.len() > 1,
        )
        .filter(pl.col("reasons").list.len() > 0)
        .explode("reasons")
    )
    # Examples per reason, with every duplicate_of:<id> one reason.
    reasons = reasons.with_columns(
        rule=rules_of(reasons["reasons"]),
        reasons=pl.when(pl.col("reasons").str.starts_with("duplicate_of:"))
        .then(pl.lit("duplicate_of"))
        .otherwise("reasons"),
    )
    picked = (
        reasons.sort("reasons", "_shared", "_row")
        .group_by("reasons", maintain_order=True)
        .head(EXAMPLES)
        .sort("_row")
    )
    out: dict[str, dict[str, list[int]]] = {}
    for reason, row, name in picked.select("reasons", "_row", "rule").iter_rows():
        out.setdefault(name, {}).setdefault(reason, []).append(row)
    return out


def examples(run: Run, unique_column: str | None) -> list[str]:
    """Up to EXAMPLES rejected rows per reason, most frequent rule first."""
    found = example_rows(run)
    if not found:
        return [html.para("No row was rejected.", "note")]
    order = list(run.report.get("rejected_by_rule") or {})
    order += [r for r in found if r not in order]
    intro = (
        f"Up to {EXAMPLES} rejected rows per reason (both sides of a two-sided rule), rows "
        f"rejected by that reason alone first; text is cut at {TEXT_CHARS} characters and every "
        "reason of each row is listed."
    )
    out = [html.para(intro)]
    for rule in (r for r in order if r in found):
        value_col = unique_column if rule == "unique" else rule
        out.append(f"<h3>{html.esc(rule)}</h3>")
        for reason, rows in sorted(found[rule].items()):
            if len(found[rule]) > 1:
                out.append(html.para(reason))
            out.append(rows_table(run, rows, value_col))
    return out


def rows_table(
    run: Run,
    rows: list[int],
    value_col: str | None,
    lead: list[list] | None = None,
    lead_header: tuple[str, ...] = (),
) -> str:
    """A table of `rows` of the run: [lead cells], id, label, value, accepted, reasons, text."""
    value_col = value_col if value_col in run.frame.columns else None
    label = run.label_col
    names = [run.id_col, *([label] if label else []), *([value_col] if value_col else [])]
    names = list(dict.fromkeys(names))
    sub = run.frame.select(*names, "accepted", "reasons", run.text_col)[rows]
    header = [*lead_header, *names, "accepted", "reasons", "text"]
    body = []
    for i, row in enumerate(sub.iter_rows(named=True)):
        cells = [*(lead[i] if lead else []), *(row[n] for n in names), row["accepted"]]
        cells += ["; ".join(row["reasons"] or []), short(row[run.text_col])]
        body.append(cells)
    return html.table(header, body, text_cols=(len(header) - 1,))


def near_rows(values: pl.Series, kind: str, bound: float) -> list[tuple[int, float, bool]]:
    """(row, value, passes) of the NEAR closest rows on each side of one bound, by value."""
    frame = pl.DataFrame({"_row": pl.int_range(values.len(), eager=True), "v": values})
    frame = frame.drop_nulls("v").filter(pl.col("v").is_not_nan())
    passes = pl.col("v") >= bound if kind == "min" else pl.col("v") <= bound
    found = []
    for side, ok in ((passes, True), (~passes, False)):
        part = frame.filter(side).with_columns(d=(pl.col("v") - bound).abs())
        found.append(part.bottom_k(NEAR, by=["d", "_row"]).with_columns(ok=pl.lit(ok)))
    both = pl.concat(found).sort("v", "_row")
    return [(row, v, ok) for row, v, ok in both.select("_row", "v", "ok").iter_rows()]


NEAR_NOTE = (
    f"For each threshold, the up to {NEAR} rows closest to it on the side that passes it and the "
    f"up to {NEAR} closest on the side that fails it, sorted by value. A row on the passing side "
    "may still be rejected by another rule."
)


def near_thresholds(run: Run, rules: tuple[Rule, ...]) -> list[str]:
    """For every numeric bound: the rows closest to it on the kept and on the rejected side."""
    out = [html.para(NEAR_NOTE)]
    for rule in rules:
        if rule.column not in run.frame.columns:
            continue
        values = rule_values(run.frame, rule.column)
        for kind, bound in rule.numeric_bounds():
            out += near_block(run, rule.column, values, kind, bound)
    return out if len(out) > 1 else [html.para("No rule has a numeric threshold.", "note")]


def near_block(run: Run, column: str, values: pl.Series, kind: str, bound: float) -> list[str]:
    """A heading and the table of rows either side of one bound."""
    ident = html.esc(f"near-{column}-{kind}")
    head = f"<h3 id='{ident}'>{html.esc(f'{column} {kind} {format_bound(bound)}')}</h3>"
    found = near_rows(values, kind, bound)
    if not found:
        return [head, html.para("No row has a value for this column.", "note")]
    ok_op, bad_op = (">=", "<") if kind == "min" else ("<=", ">")
    sides = {True: f"passes ({ok_op} {format_bound(bound)})"}
    sides[False] = f"fails ({bad_op} {format_bound(bound)})"
    lead = [[sides[ok], f"{v:.6g}"] for _, v, ok in found]
    rows = [row for row, _, _ in found]
    return [head, rows_table(run, rows, None, lead, ("side", column))]
