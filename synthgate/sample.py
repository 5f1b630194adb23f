"""A review sample of a run: stratified by label and outcome, rows near a threshold favoured.

The file it writes is the one a person fills in (`judgement`: good / bad, empty = not judged)
and hands back to `synthgate tune --labels`, which reads the columns `id` and `judgement`.
"""

from __future__ import annotations

import heapq
import json
from pathlib import Path

import numpy as np
import polars as pl

from synthgate.config import gate_for
from synthgate.errors import SynthgateError
from synthgate.gate import GATE_COLUMNS, rules_of
from synthgate.io.csvsafe import neutralise
from synthgate.io.files import write_text
from synthgate.io.rundir import Run
from synthgate.scorers import score_columns

NEAR_SCALE = 0.1
"""Quantile distance at which a row's weight falls by e: a row on its bound is e times as likely
to be drawn as one 10 percentile points away (a choice, not a measurement: near enough to
favour borderline rows, wide enough that every row keeps a chance)."""
UNKNOWN_DISTANCE = 0.5
"""Distance given to an accepted row with no value under any numeric rule (mid-range)."""
SEPARATOR = "; "
OWN_COLUMNS = ("id", "label", "text", "accepted", "reasons", "stratum", "judgement")
"""The sample's own columns; an input column of the same name is kept as `input_<name>`."""


def sample(run: Run, n: int, seed: int = 0) -> pl.DataFrame:
    """`n` rows of `run` for review: every label x outcome stratum covered where `n` allows,
    the rest proportional, rows near a threshold over-represented; deterministic for `seed`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SynthgateError(f"--n: must be an int >= 1; got {n!r}")
    frame = _review_frame(run)
    if n < frame.height:
        rows = _draw(frame, n, np.random.default_rng(seed))
        frame = frame.with_row_index("_row").filter(pl.col("_row").is_in(rows)).drop("_row")
    keep = ["id", *(["label"] if "label" in frame.columns else []), "text"]
    keep += [out for _, out in input_columns(run)] + ["accepted", "reasons", "stratum"]
    return (
        frame.sort("stratum", maintain_order=True).select(keep).with_columns(judgement=pl.lit(""))
    )


def write_sample(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a review sample as CSV (UTF-8, header, quoted where needed), atomically; nested
    values as JSON, and text cells a spreadsheet would run as a formula quoted (`FORMULA`)."""
    out = Path(path)
    if out.is_dir():
        raise SynthgateError(f"{out}: is a directory; give a .csv file name")
    write_text(out, neutralise(_flat(frame)).write_csv())
    return out


def input_columns(run: Run) -> list[tuple[str, str]]:
    """(column of scored.parquet, name in the review file) for every input column that is not
    already one of the sample's own: scores, reasons and accepted are not input."""
    roles = {run.id_col, run.text_col, run.label_col}
    produced = {*score_columns(run.frame), *GATE_COLUMNS}
    out = []
    for column in run.frame.columns:
        if column in roles or column in produced:
            continue
        name = column
        while name in OWN_COLUMNS:
            name = f"input_{name}"
        out.append((column, name))
    return out


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns CSV cannot hold (lists, structs, arrays, binary) as JSON text; categories as text."""
    cast = {}
    for column, dtype in frame.schema.items():
        if dtype.is_nested() or dtype == pl.Binary:
            values = [
                None if v is None else json.dumps(v, default=str) for v in frame[column].to_list()
            ]
            cast[column] = pl.Series(column, values, dtype=pl.String)
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            cast[column] = frame[column].cast(pl.String)
    return frame.with_columns(cast.values())


def _review_frame(run: Run) -> pl.DataFrame:
    """id, label, text, the other input columns, accepted, reasons (joined), stratum and the
    distance to a threshold."""
    frame = run.frame
    first_rule = rules_of(frame["reasons"].list.first())
    outcome = pl.when(pl.col("accepted")).then(pl.lit("accepted")).otherwise(first_rule)
    cols = [pl.col(run.id_col).cast(pl.String).alias("id")]
    if run.label_col:
        cols.append(pl.col(run.label_col).cast(pl.String).alias("label"))
    out = frame.select(
        *cols,
        pl.col(run.text_col).alias("text"),
        *(pl.col(column).alias(name) for column, name in input_columns(run)),
        pl.col("accepted"),
        pl.col("reasons").list.join(SEPARATOR).alias("reasons"),
        outcome.alias("_outcome"),
    )
    stratum = pl.col("_outcome")
    if run.label_col:
        stratum = pl.col("label").fill_null("(no label)") + pl.lit(" / ") + stratum
    out = out.with_columns(stratum=stratum).drop("_outcome")
    return out.with_columns(_distance=pl.Series(_distances(run)))


def _distances(run: Run) -> np.ndarray:
    """Per row, the distance in quantile units to the nearest bound of its deciding rule (of any
    numeric rule for accepted rows); NaN where no numeric bound applies (flags, copies)."""
    bounds = numeric_bounds(run)
    height = run.frame.height
    if not bounds:
        return np.full(height, np.nan)
    columns = list(bounds)
    table = np.column_stack([_quantile_positions(run.frame[c], bounds[c]) for c in columns])
    accepted = run.frame["accepted"].to_numpy()
    rule = rules_of(run.frame["reasons"].list.first())
    index = rule.replace_strict(
        columns, list(range(len(columns))), default=-1, return_dtype=pl.Int64
    )
    index = index.fill_null(-1).to_numpy()
    picked = np.where(index >= 0, table[np.arange(height), np.maximum(index, 0)], np.nan)
    with np.errstate(all="ignore"):
        known = ~np.isnan(table).all(axis=1)
        nearest = np.where(known, np.nanmin(np.where(known[:, None], table, 0.0), axis=1), np.nan)
    return np.where(accepted, np.nan_to_num(nearest, nan=UNKNOWN_DISTANCE), picked)


def numeric_bounds(run: Run) -> dict[str, list[float]]:
    """Column -> the numeric (not flag) bounds of the run's rules on numeric columns."""
    return {
        rule.column: [v for _, v in rule.numeric_bounds()]
        for rule in gate_for(run.config, run.frame).rules
        if rule.numeric_bounds() and run.frame[rule.column].dtype.is_numeric()
    }


def _quantile_positions(values: pl.Series, bounds: list[float]) -> np.ndarray:
    """|F(value) - F(bound)| to the nearest bound within the values' range, F the column's
    mid-rank empirical CDF; NaN for a null value or when no bound is within the range."""
    x = values.cast(pl.Float64).to_numpy()
    known = np.sort(x[~np.isnan(x)])
    if known.size == 0:
        return np.full(x.size, np.nan)

    def cdf(v: np.ndarray) -> np.ndarray:
        below = np.searchsorted(known, v, side="left")
        upto = np.searchsorted(known, v, side="right")
        return (below + upto) / (2.0 * known.size)

    # A bound outside the values decides nothing: no row is near it (a max of 1.5 on a cosine).
    inside = [b for b in bounds if known[0] <= b <= known[-1]]
    if not inside:
        return np.full(x.size, np.nan)
    # the mid-rank CDF of every value at once: (average rank - 0.5) / n equals cdf(x), and one
    # sort is 10x faster than a million binary searches in random order
    ranks = values.cast(pl.Float64).fill_nan(None).rank("average").to_numpy()
    at = (ranks - 0.5) / known.size
    dist = np.min([np.abs(at - cdf(np.array([b]))[0]) for b in inside], axis=0)
    return np.where(np.isnan(x), np.nan, dist)


def _draw(frame: pl.DataFrame, n: int, rng: np.random.Generator) -> list[int]:
    """Row numbers: `allocate` per stratum, weighted by nearness within each stratum."""
    strata = frame["stratum"].to_list()
    members: dict[str, list[int]] = {}
    for i, name in enumerate(strata):
        members.setdefault(name, []).append(i)
    sizes = {name: len(rows) for name, rows in sorted(members.items())}
    quota = allocate(sizes, n)
    distance = frame["_distance"].to_numpy()
    chosen: list[int] = []
    for name in sizes:
        rows = np.array(members[name])
        d = distance[rows]
        d = np.where(np.isnan(d), 0.0, d)  # a stratum with no bound: every row weighs the same
        weight = np.exp(-d / NEAR_SCALE)
        # Weighted sampling without replacement (Efraimidis & Spirakis 2006): the k largest
        # u^(1/w), computed as log(u) / w.
        keys = np.log(rng.random(rows.size)) / weight
        chosen += rows[np.argsort(-keys, kind="stable")[: quota[name]]].tolist()
    return sorted(chosen)


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Rows per stratum: one each (largest strata first when `n` is smaller than their number),
    the rest by largest shortfall against the proportional share, never above a stratum's size."""
    total = sum(sizes.values())
    order = sorted(sizes, key=lambda s: (-sizes[s], s))
    out = {s: 0 for s in sizes}
    for s in order[: min(n, len(order))]:
        out[s] = 1 if sizes[s] else 0
    left = min(n, total) - sum(out.values())
    heap = [(-(sizes[s] * n / total - out[s]), s) for s in order if out[s] < sizes[s]]
    heapq.heapify(heap)
    while left > 0 and heap:
        _, s = heapq.heappop(heap)
        out[s] += 1
        left -= 1
        if out[s] < sizes[s]:
            heapq.heappush(heap, (-(sizes[s] * n / total - out[s]), s))
    return out
