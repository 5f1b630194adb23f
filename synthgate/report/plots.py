"""The audit page's plots: accepted vs rejected histograms per score column, co-rejection heat map.

Counts come from numpy over whole columns (no per-row Python), so a million rows cost milliseconds
per column; matplotlib only draws the few dozen bins."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.figure import Figure

from synthgate import html
from synthgate.gate import Rule, format_bound, numeric_column
from synthgate.io.rundir import Run
from synthgate.scorers import score_columns

ACCEPTED, REJECTED, LINE = "#2a9d8f", "#e76f51", "#264653"
PLOT_SIZE = (3.8, 2.6)  # inches: three histograms side by side in the page's 1200 px
MARGIN = (34, 8, 18, 16)  # pixels left, right, top, bottom of a histogram's plot area
BINS = 40
CLIP = (0.001, 0.999)
"""Plotted range on large columns: one outlier must not squash every other row into one bin;
the rows beyond it are drawn in the end bins and counted in the caption."""
CLIP_FROM = 1000  # below this many values every value is shown where it is
PAD_BINS = 2  # margin beyond the range: more than one bin, so an end bin never straddles a mark
SIDES = ("accepted", "rejected")
CELL = {"ha": "center", "va": "center", "fontsize": 7}
ANNOTATE_UP_TO = 12  # rules: beyond this the heat map's cells are too small for numbers
MAX_PAIRS = 40  # rows of the pair table: 24 rules make 276 pairs, most of them noise
LOG_FROM = 0.5  # a histogram whose fullest bin holds more than this share of rows is log-scaled
BAR_ROW, BAR_LABEL, BAR_WIDTH = 16, 230, 520  # pixels: one bar's height, label and bar widths


def bin_edges(values: np.ndarray, integer: bool, marks: list[float]) -> np.ndarray:
    """Bin edges over finite `values` and the thresholds `marks`: one bin per value for a small
    integer range; else BINS equal bins over the CLIP quantiles (when there are many values),
    padded so that the end bins, which take the rows beyond, lie beyond every threshold."""
    lo, hi = min([float(values.min()), *marks]), max([float(values.max()), *marks])
    if integer and hi - lo <= BINS:
        return np.arange(np.floor(lo) - 0.5, np.ceil(hi) + 1.0)
    if values.size >= CLIP_FROM:
        low, high = (float(q) for q in np.quantile(values, CLIP))
        lo, hi = min([low, *marks]), max([high, *marks])
    pad = max(hi - lo, 1e-9) * PAD_BINS / BINS
    return np.linspace(lo - pad, hi + pad, BINS + 1)


def stacked_counts(
    values: np.ndarray, accepted: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Accepted and rejected rows per bin; values beyond the edges land in the end bins."""
    clipped = np.clip(values, edges[0], edges[-1])
    return np.histogram(clipped[accepted], edges)[0], np.histogram(clipped[~accepted], edges)[0]


def histogram(
    name: str, values: np.ndarray, accepted: np.ndarray, rule: Rule | None, integer: bool
) -> str:
    """One column's accepted vs rejected histogram with its rule's thresholds as lines."""
    finite = np.isfinite(values)  # null arrives as NaN
    nulls = int(values.size - finite.sum())
    if not finite.any():
        return html.para(f"{name}: all {values.size:,} values are null; nothing to plot.", "note")
    v, acc = values[finite], accepted[finite]
    marks = rule.numeric_bounds() if rule else []
    edges = bin_edges(v, integer, [m for _, m in marks])
    a, r = stacked_counts(v, acc, edges)
    legend = [
        (ACCEPTED, f"accepted ({int(acc.sum()):,})"),
        (REJECTED, f"rejected ({int(r.sum()):,})"),
        *((LINE, f"{kind} {format_bound(mark)}") for kind, mark in marks),
    ]
    log = bool((a + r).max() > LOG_FROM * v.size)
    drawn = stacked_bars(name, edges, a, r, [m for _, m in marks], legend, log=log)
    outside = int(((v < edges[0]) | (v > edges[-1])).sum())
    notes = [f"{nulls:,} null not drawn"] if nulls else []
    notes += [f"{outside:,} beyond the plotted range drawn in the end bins"] if outside else []
    notes += ["counts on a log scale: most rows sit in one bin"] if log else []
    extra = f" ({'; '.join(notes)})" if notes else ""
    return html.inline_figure(drawn, f"{name}: accepted and rejected rows, stacked{extra}")


def stacked_bars(
    title: str,
    edges: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    marks: list[float],
    legend: list[tuple[str, str]],
    log: bool = False,
) -> str:
    """A stacked histogram as SVG markup, drawn by hand: a few dozen rectangles and labels cost
    microseconds, where a matplotlib figure costs a tenth of a second (22 on one page). `log`
    draws counts on a log(1 + n) axis, so a tail of a few rows beside one full bin shows."""
    left, right, top, bottom = MARGIN
    width, height = round(PLOT_SIZE[0] * 96), round(PLOT_SIZE[1] * 96)
    plot_w, plot_h = width - left - right, height - top - bottom
    x0, x1 = float(edges[0]), float(edges[-1])
    peak = float(max((lower + upper).max(), 1))
    if log:
        y_ticks = [0.0, *(10.0**k for k in range(int(np.floor(np.log10(peak))) + 1))]
        y_top = peak
    else:
        y_ticks = nice_ticks(0.0, peak)
        y_top = y_ticks[-1]

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        share = np.log1p(y) / np.log1p(y_top) if log else y / y_top
        return top + plot_h - float(share) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="7">',
        f'<text x="{width / 2:.1f}" y="12" font-size="9" text-anchor="middle">'
        f"{html.esc(title)}</text>",
    ]
    for base, counts, colour in ((np.zeros_like(lower), lower, ACCEPTED), (lower, upper, REJECTED)):
        for i in np.flatnonzero(counts):
            y_lo, y_hi = sy(float(base[i])), sy(float(base[i] + counts[i]))
            out.append(
                f'<rect x="{sx(edges[i]):.1f}" y="{y_hi:.1f}" '
                f'width="{sx(edges[i + 1]) - sx(edges[i]):.1f}" height="{y_lo - y_hi:.1f}" '
                f'fill="{colour}"/>'
            )
    axis = f'stroke="{LINE}" stroke-width="0.8"'
    out.append(f'<path d="M{left},{top}V{top + plot_h}H{left + plot_w}" fill="none" {axis}/>')
    for y in y_ticks:
        out.append(
            f'<text x="{left - 3}" y="{sy(y) + 2.5:.1f}" text-anchor="end">{_tick(y)}</text>'
        )
    for x in nice_ticks(x0, x1):
        if x0 <= x <= x1:
            out.append(
                f'<text x="{sx(x):.1f}" y="{top + plot_h + 10}" text-anchor="middle">'
                f"{_tick(x)}</text>"
            )
    out.append(
        f'<text transform="translate(9 {top + plot_h / 2:.1f}) rotate(-90)" font-size="8" '
        f'text-anchor="middle">{"rows (log scale)" if log else "rows"}</text>'
    )
    for mark in marks:
        out.append(
            f'<path d="M{sx(mark):.1f},{top}V{top + plot_h}" stroke="{LINE}" '
            'stroke-width="1.2" stroke-dasharray="4 2"/>'
        )
    box_w = 12 + 4.2 * max(len(label) for _, label in legend)
    box_x = left + plot_w - box_w - 2
    out.append(
        f'<rect x="{box_x:.1f}" y="{top + 2}" width="{box_w:.1f}" height="{10 * len(legend) + 4}" '
        'fill="white" fill-opacity="0.9"/>'
    )
    for k, (colour, label) in enumerate(legend):
        y = top + 6 + 10 * k
        swatch = (
            f'<rect x="{box_x + 3:.1f}" y="{y}" width="7" height="6" fill="{colour}"/>'
            if k < 2
            else f'<path d="M{box_x + 2:.1f},{y + 3}h9" stroke="{colour}" stroke-dasharray="3 1"/>'
        )
        out.append(f'{swatch}<text x="{box_x + 13:.1f}" y="{y + 5.5}">{html.esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]
    with at most `most` + 1 ticks; the last is at or above `hi`."""
    span = max(hi - lo, 1e-12)
    power = 10.0 ** np.floor(np.log10(span / most))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if span / (power * m) <= most)
    first = np.floor(lo / step) * step
    count = int(np.ceil((hi - first) / step - 1e-9)) + 1
    return [float(round(first + i * step, 12)) for i in range(count)]


def _tick(value: float) -> str:
    return html.esc(f"{value:.4g}")


def distributions(
    run: Run, rules: tuple[Rule, ...], beside: Callable[[str, pl.Series], list[str]] | None = None
) -> list[str]:
    """Per rule column its histogram, followed by `beside(column, values)` (the rows either side
    of its thresholds); flags as counts; then the other numeric score columns' histograms."""
    frame = run.frame
    accepted = frame["accepted"].fill_null(False).to_numpy()
    by_column = {r.column: r for r in rules}
    ruled = [c for c in by_column if c in frame.columns]
    others = [c for c in score_columns(run.frame) if c not in by_column and _numeric(frame[c])]
    out: list[str] = []
    flags = [c for c in ruled if frame[c].dtype == pl.Boolean]
    for column in (c for c in ruled if c not in flags):
        out.append(f"<h3 id='rule-{html.esc(column)}'>{html.esc(column)}</h3>")
        out.append(_plot(frame, column, accepted, by_column[column]))
        if beside is not None:
            out += beside(column, rule_values(frame, column))
    if flags:
        out += ["<h3>Flag columns a rule uses</h3>", flag_table(frame, flags)]
    if others:
        other_flags = [c for c in others if frame[c].dtype == pl.Boolean]
        plots = [_plot(frame, c, accepted, None) for c in others if c not in other_flags]
        out.append("<h3>Other score columns</h3>")
        if plots:
            out.append("<div class='grid'>" + "\n".join(map(_cell, plots)) + "</div>")
        if other_flags:
            out.append(flag_table(frame, other_flags))
    return out or [html.para("This run has no numeric score columns.", "note")]


def _cell(plot: str) -> str:
    """One grid cell as wide as its plot, so a long caption wraps instead of widening it."""
    return f"<div style='max-width: {round(PLOT_SIZE[0] * 96)}px'>{plot}</div>"


def _plot(frame: pl.DataFrame, column: str, accepted: np.ndarray, rule: Rule | None) -> str:
    integer = frame[column].dtype.is_integer()
    values = rule_values(frame, column).to_numpy()
    return histogram(column, values, accepted, rule, integer)


def rule_values(frame: pl.DataFrame, column: str) -> pl.Series:
    """`column` as Float64 (null where missing): a user's column may be text read from CSV,
    and a column built from nothing but None has no numeric dtype at all."""
    if frame[column].dtype == pl.Null:
        return pl.Series(column, [None] * frame.height, pl.Float64)
    return numeric_column(frame, column).cast(pl.Float64)


def _numeric(series: pl.Series) -> bool:
    return series.dtype.is_numeric() or series.dtype == pl.Boolean


def flag_table(frame: pl.DataFrame, flags: list[str]) -> str:
    """Boolean flag columns: accepted and rejected rows where the flag is true, false or null."""
    acc = pl.col("accepted").fill_null(False)
    exprs = []
    for c in flags:
        col = pl.col(c)
        for name, cond in (("t", col), ("f", ~col), ("n", col.is_null())):
            cond = cond.fill_null(False)
            exprs += [
                (cond & acc).sum().alias(f"{c}|{name}a"),
                (cond & ~acc).sum().alias(f"{c}|{name}r"),
            ]
    counts = frame.select(exprs).row(0, named=True)
    header = ["flag"] + [f"{v}: {s}" for v in ("true", "false", "null") for s in SIDES]
    rows = [
        [c, *(int(counts[f"{c}|{k}"]) for k in ("ta", "tr", "fa", "fr", "na", "nr"))] for c in flags
    ]
    return html.table(header, rows)


def share_bars(bars: list[tuple[str, int, int]]) -> str:
    """(name, accepted, rows) as horizontal bars: accepted from the left, rejected after."""
    width, height = BAR_LABEL + BAR_WIDTH + 200, BAR_ROW * len(bars) + 4
    out = [_svg_head(width, height)]
    for i, (name, acc, rows) in enumerate(bars):
        y, share = 2 + BAR_ROW * i, acc / rows if rows else 0.0
        out.append(_label(name, y))
        out.append(_rect(BAR_LABEL, y, BAR_WIDTH * share, ACCEPTED))
        out.append(_rect(BAR_LABEL + BAR_WIDTH * share, y, BAR_WIDTH * (1 - share), REJECTED))
        out.append(_value(f"{acc:,} of {rows:,} ({100 * share:.1f}%)", y))
    return "".join([*out, "</svg>"])


def count_bars(found: list[tuple[str, int, int]], rows: int) -> str:
    """(rule, rejected by, rejected only by) as horizontal bars on a shared scale."""
    top = max(max(v for _, v, _ in found), 1)
    width, height = BAR_LABEL + BAR_WIDTH + 200, BAR_ROW * len(found) + 4
    out = [_svg_head(width, height)]
    for i, (name, by, only) in enumerate(found):
        y = 2 + BAR_ROW * i
        out.append(_label(name, y))
        out.append(_rect(BAR_LABEL, y, BAR_WIDTH * by / top, "#f4a582"))
        out.append(_rect(BAR_LABEL, y, BAR_WIDTH * only / top, REJECTED))
        share = f"{100 * by / rows:.1f}%" if rows else ""
        out.append(_value(f"{by:,} ({share}), alone {only:,}", y))
    return "".join([*out, "</svg>"])


def _svg_head(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
    )


def _label(name: str, y: int) -> str:
    shown = name if len(name) <= 34 else name[:33] + "…"
    return (
        f'<text x="{BAR_LABEL - 6}" y="{y + BAR_ROW - 5}" text-anchor="end">'
        f"{html.esc(shown)}</text>"
    )


def _rect(x: float, y: int, w: float, colour: str) -> str:
    size = f'width="{max(w, 0):.1f}" height="{BAR_ROW - 3}"'
    return f'<rect x="{x:.1f}" y="{y}" {size} fill="{colour}"/>'


def _value(text: str, y: int) -> str:
    return f'<text x="{BAR_LABEL + BAR_WIDTH + 6}" y="{y + BAR_ROW - 5}">{html.esc(text)}</text>'


GOPHER = re.compile(
    r"repetition_(top_\d+gram_frac|dup_\d+gram_frac|dup_line_frac|dup_line_char_frac)"
)
"""The Gopher repetition rules: one loop fails most of them at once, so they are one family."""
GOPHER_NAME = "repetition n-gram rules (Gopher)"


def family(rule: str) -> str:
    """The family a rule belongs to: GOPHER_NAME for the Gopher repetition rules, else itself."""
    return GOPHER_NAME if GOPHER.fullmatch(rule) else rule


def same_family(a: str, b: str) -> bool:
    return family(a) == family(b)


def co_rejection(report: dict[str, Any]) -> list[str]:
    """Heat map and table of rows rejected by each pair of rules (diagonal: the rule's own)."""
    co = report.get("co_rejection") or {}
    if not co:
        return [html.para("No row was rejected, so no two rules rejected the same row.", "note")]
    rules = sorted(co, key=lambda rule: (-co[rule].get(rule, 0), rule))
    counts = np.array([[co[a].get(b, 0) for b in rules] for a in rules], dtype=np.int64)
    intro = html.para(
        "Each cell counts the rows rejected by both the row's rule and the column's rule; the "
        "diagonal is the rule's own count. Colour: the share of the row rule's rejections that "
        "the column rule also rejected (1 = every row it rejects, the other rejects too). The "
        "table below lists the pairs of rules from different families that share a rejected "
        f"row ({GOPHER_NAME}, which one loop fails together, are one family)."
    )
    return [
        intro,
        html.svg(_heat_map(rules, counts), "co-rejection between rules"),
        pairs(rules, counts),
    ]


def pairs(rules: list[str], counts: np.ndarray) -> str:
    """The MAX_PAIRS pairs of rules that rejected the most rows together: a long table stays
    narrow where a matrix of two dozen rule names would not."""
    n = len(rules)
    both = [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if counts[i, j] and not same_family(rules[i], rules[j])
    ]
    body = [
        [rules[i], rules[j], int(counts[i, j]), *_shares(counts, i, j)]
        for i, j in sorted(both, key=lambda p: (-counts[p], p))
    ]
    if not body:
        return html.para("No two rules of different families rejected the same row.", "note")
    header = ["rule", "other rule", "rows rejected by both", "share of rule's", "share of other's"]
    table = html.table(header, body[:MAX_PAIRS])
    if len(body) <= MAX_PAIRS:
        return table
    more = f"{len(body) - MAX_PAIRS:,} more pairs share fewer rows (all are in report.json)."
    return table + "\n" + html.para(more, "note")


def _shares(counts: np.ndarray, i: int, j: int) -> list[str]:
    """Rows rejected by both as a share of rule i's and of rule j's rejections."""
    return [f"{100 * counts[i, j] / counts[k, k]:.1f}%" for k in (i, j)]


def _heat_map(rules: list[str], counts: np.ndarray) -> Figure:
    n = len(rules)
    share = counts / np.maximum(np.diag(counts), 1)[:, None]
    size = min(3.0 + 0.38 * n, 11.0)
    fig = html.figure(size + 1.0, size)
    ax = fig.add_subplot()
    blues = colormaps["Blues"].resampled(10)  # ten steps: a small vector colour bar
    mesh = ax.pcolormesh(share, cmap=blues, vmin=0.0, vmax=1.0)  # vectors, no embedded image
    ticks = np.arange(n) + 0.5
    ax.set_xticks(ticks, rules, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(ticks, rules, fontsize=7)
    ax.invert_yaxis()
    if n <= ANNOTATE_UP_TO:
        for i in range(n):
            for j in range(n):
                colour = "white" if share[i, j] > 0.6 else "black"
                ax.text(j + 0.5, i + 0.5, f"{counts[i, j]:,}", **CELL, color=colour)
    bar = fig.colorbar(mesh, ax=ax, shrink=0.6, label="share of the row rule's rejections")
    bar.solids.set_rasterized(False)  # a bar of 50+ steps would become an embedded PNG
    return fig
