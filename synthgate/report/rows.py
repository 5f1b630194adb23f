"""The audit page's rows: examples of each rule's rejections and rows either side of a threshold."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from synthgate import html
from synthgate.gate import Rule, format_bound, rules_of
from synthgate.io.rundir import Run
from synthgate.report.plots import GOPHER_NAME, family

EXAMPLES = 5  # rows shown per rule: enough to see what it catches, short enough to scan
NEAR = 3  # rows shown on each side of each threshold
TEXT_CHARS = 240  # longer texts are cut (the full text is in scored.parquet)


def short(text: object, limit: int = TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[:limit] + "…"


MAX_GROUPS = 12  # groups of examples shown; the rest are counted


def example_groups(run: Run) -> list[tuple[str, int, list[int]]]:
    """(group, rows in it, up to EXAMPLES row numbers) per distinct set of rejecting rules, the
    Gopher repetition rules counted as one family and every duplicate_of:<id> as `unique`:
    each rejected row is in exactly one group. Largest group first; rows in input order."""
    per_row = _row_families(run)
    if per_row is None:
        return []
    grouped = (
        per_row.with_columns(pl.col("group").list.join(" + "))
        .group_by("group")
        .agg(n=pl.len(), rows=pl.col("_row").sort().head(EXAMPLES))
        .sort(["n", "group"], descending=[True, False])
    )
    return [(g, n, rows) for g, n, rows in grouped.iter_rows()]


def family_rejections(run: Run) -> list[tuple[str, int, int]]:
    """(rule or family, rows it rejected, rows it alone rejected), most rows first: the
    Gopher repetition rules are one family (a loop fails most of them at once)."""
    per_row = _row_families(run)
    if per_row is None:
        return []
    counted = (
        per_row.with_columns(alone=pl.col("group").list.len() == 1)
        .explode("group")
        .group_by("group")
        .agg(by=pl.len(), only=pl.col("alone").sum())
        .sort(["by", "group"], descending=[True, False])
    )
    return [(g, int(b), int(o)) for g, b, o in counted.iter_rows()]


def _row_families(run: Run) -> pl.DataFrame | None:
    """Per rejected row (`_row`): the sorted list of rule families that rejected it."""
    reasons = (
        run.frame.select(pl.int_range(pl.len()).alias("_row"), pl.col("reasons"))
        .filter(pl.col("reasons").list.len() > 0)
        .explode("reasons")
    )
    if reasons.height == 0:
        return None
    rules = rules_of(reasons["reasons"])
    families = {r: family(r) for r in rules.unique().drop_nulls()}
    return (
        reasons.with_columns(group=rules.replace_strict(families, default="?"))
        .group_by("_row")
        .agg(pl.col("group").unique().sort())
    )


def examples(run: Run, unique_column: str | None) -> list[str]:
    """Up to EXAMPLES rejected rows per group of rejecting rules, each row once."""
    found = example_groups(run)
    if not found:
        return [html.para("No row was rejected.", "note")]
    intro = (
        f"Rejected rows grouped by the set of rules that rejected them, largest group first: "
        f"each row appears once, with all its reasons; up to {EXAMPLES} rows per group, text cut "
        f"at {TEXT_CHARS} characters. {GOPHER_NAME} count as one family."
    )
    out = [html.para(intro)]
    for group, n, rows in found[:MAX_GROUPS]:
        value_col = unique_column if group == "unique" else group
        out.append(f"<h3>{html.esc(group)}</h3>")
        out.append(html.para(f"{n:,} rows", "note"))
        out.append(rows_table(run, rows, value_col))
    if len(found) > MAX_GROUPS:
        rest = sum(n for _, n, _ in found[MAX_GROUPS:])
        more = f"{len(found) - MAX_GROUPS} smaller groups ({rest:,} rows) are not shown."
        out.append(html.para(more, "note"))
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
        cells += [compact_reasons(row["reasons"] or []), short(row[run.text_col])]
        body.append(cells)
    return html.table(header, body, text_cols=(len(header) - 1,))


def compact_reasons(reasons: list[str]) -> str:
    """A row's reasons, the Gopher repetition rules folded into one entry."""
    rules = rules_of(pl.Series(reasons, dtype=pl.String)).to_list() if reasons else []
    gopher = [r for r, rule in zip(reasons, rules, strict=True) if family(rule) == GOPHER_NAME]
    rest = [r for r in reasons if r not in gopher]
    if len(gopher) > 1:
        rest.append(f"{GOPHER_NAME}: {len(gopher)} rules")
    else:
        rest += gopher
    return "; ".join(rest)


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


def near_for(run: Run, rules: tuple[Rule, ...]) -> Callable[[str, pl.Series], list[str]]:
    """For `distributions`: a column's rows closest to each of its bounds, on both sides."""
    by_column = {r.column: r for r in rules}

    def beside(column: str, values: pl.Series) -> list[str]:
        return [
            part
            for kind, bound in by_column[column].numeric_bounds()
            for part in near_block(run, column, values, kind, bound)
        ]

    return beside


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
