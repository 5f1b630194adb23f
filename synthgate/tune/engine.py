"""The model-free core of `tune`: every numeric bound of an enabled rule as a knob over its column,
and how many rows the gate keeps (unique step included) as knobs move, computed with numpy
from per-row fail counts instead of calling Gate.apply once per candidate threshold."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import polars as pl

from synthgate.config import gate_for
from synthgate.gate import GATE_COLUMNS, Gate, Rule, decision_view

SIDES = ("min", "max")


@dataclass
class Knob:
    """One numeric bound. `w` is its column as the bound sees it: the value for a min, minus the
    value for a max, so a row fails iff `w < s` with s = min or s = -max. A null (which every
    bound lets through; `on_missing` is a separate check) is +inf; NaN is +inf for a min and -inf
    for a max, because polars orders NaN above every number (`NaN > max` holds, `NaN < min`
    does not). A position p (0..rows) is how many rows fail: those at `order[:p]`."""

    column: str
    side: str
    current: float | int
    integer: bool
    w: np.ndarray
    order: np.ndarray
    sorted_w: np.ndarray
    values: int  # non-null values: the denominator of quantile units
    lo: int  # rows that fail at any threshold (NaN under a max)
    hi: int  # rows that can fail (all but nulls, and NaN under a min)

    @property
    def name(self) -> str:
        """`column.min` or `column.max`."""
        return f"{self.column}.{self.side}"

    def position(self, threshold: float) -> int:
        """Rows this bound rejects at `threshold`."""
        s = threshold if self.side == "min" else -threshold
        return int(np.searchsorted(self.sorted_w, s, "left"))

    def s_at(self, position: int) -> float:
        """The w-threshold of a position (a position is always at a change of value)."""
        return float(self.sorted_w[position]) if position < self.sorted_w.size else math.inf

    def quantile(self, position: int) -> float:
        """Share of the column's values the bound rejects at `position`: the quantile unit."""
        return position / self.values

    def threshold(self, position: int) -> float | int:
        """A bound giving `position`: the config's own where it does, else the shortest decimal."""
        if position == self.position(self.current):
            return self.current
        below = float(self.sorted_w[position - 1]) if position > 0 else -math.inf
        s = shortest(below, self.s_at(position))
        t = s if self.side == "min" else -s
        t = t + 0.0  # no -0.0 in a config
        return int(t) if self.integer and t.is_integer() else t


@dataclass
class Problem:
    """A gated frame reduced to what keep-rates need: per row the failed checks that no knob
    controls, the knobs, and the unit each row belongs to (its duplicate cluster, or itself)."""

    rows: int
    knobs: list[Knob]
    fixed: dict[str, np.ndarray]  # reason -> rows failing that check (flags, missing, ...)
    unit: np.ndarray
    units: int
    rank: np.ndarray  # keeper preference in a cluster: lowest rank is kept (Gate._unique's order)
    unique: bool

    def current(self) -> list[int]:
        """Every knob's position under the config."""
        return [k.position(k.current) for k in self.knobs]

    def fails(self, positions: Sequence[int], skip: int = -1) -> np.ndarray:
        """Checks failed per row at `positions`, leaving out knob `skip`."""
        out = np.zeros(self.rows, np.int16)
        for mask in self.fixed.values():
            out += mask
        for i, (knob, p) in enumerate(zip(self.knobs, positions, strict=True)):
            if i != skip:
                out += knob.w < knob.s_at(p)
        return out

    def kept(self, passing: np.ndarray) -> int:
        """Rows the unique step keeps of `passing`: every unit with a passing row keeps one."""
        if not self.unique:
            return int(np.count_nonzero(passing))
        return int(np.count_nonzero(np.bincount(self.unit[passing], minlength=self.units)))

    def keep_rate(self, positions: Sequence[int]) -> float:
        """Share of rows the gate accepts with every knob at `positions`."""
        return self.kept(self.fails(positions) == 0) / self.rows

    def with_positions(self, config: dict[str, Any], positions: Sequence[int]) -> dict[str, Any]:
        """A copy of `config` with every moved knob's bound replaced."""
        out = {**config, "gate": {**config["gate"], "rules": dict(config["gate"]["rules"])}}
        rules = out["gate"]["rules"]
        for knob, p in zip(self.knobs, positions, strict=True):
            if p != knob.position(knob.current):
                rules[knob.column] = {**rules[knob.column], knob.side: knob.threshold(p)}
        return out


def build_problem(frame: pl.DataFrame, config: dict[str, Any]) -> Problem:
    """The Problem of `config`'s gate over a scored frame, with the columns as regate sees them."""
    base = frame.drop([c for c in GATE_COLUMNS if c in frame.columns])
    gate = gate_for(config, base)
    data = decision_view(base, gate)
    knobs: list[Knob] = []
    fixed: dict[str, np.ndarray] = {}
    for rule in gate.rules:
        found = _knobs(data[rule.column], rule)
        knobs += found
        rest = replace(rule, **{k.side: None for k in found})  # what no knob controls
        for cond, reason in rest.failures():
            fixed[reason] = data.select(cond.fill_null(False)).to_series().to_numpy()
    unit, units = _units(data, gate)
    return Problem(
        data.height, knobs, fixed, unit, units, _rank(data, gate), gate.unique is not None
    )


def _knobs(series: pl.Series, rule: Rule) -> list[Knob]:
    """The knobs of a rule's numeric bounds; none for a flag, a non-numeric column, or a column
    with no finite value."""
    sides = [s for s in SIDES if not isinstance(getattr(rule, s), bool | None)]
    if not sides or not series.dtype.is_numeric():
        return []
    x = series.cast(pl.Float64).to_numpy()
    if not np.isfinite(x).any():
        return []
    null = series.is_null().to_numpy()  # NaN is null here already (gate.numeric_column)
    values = series.len() - series.null_count()
    out = []
    for side in sides:
        w = x.copy() if side == "min" else -x
        w[null] = np.inf
        order = np.argsort(w)  # ties are always crossed together: their order does not matter
        ordered = w[order]
        lo = int(np.searchsorted(ordered, -np.inf, "right"))
        hi = int(np.searchsorted(ordered, np.inf, "left"))
        bound = getattr(rule, side)
        integer = series.dtype.is_integer()
        out.append(Knob(rule.column, side, bound, integer, w, order, ordered, values, lo, hi))
    return out


def _units(data: pl.DataFrame, gate: Gate) -> tuple[np.ndarray, int]:
    """Per row its cluster's code; a row with no cluster (or no unique step) is a unit alone."""
    if gate.unique is None:
        return np.arange(data.height), data.height
    codes = data.select(pl.col(gate.unique.column).rank("dense")).to_series()
    clusters = int(codes.max() or 0)
    nulls = codes.is_null().to_numpy()
    unit = codes.fill_null(0).cast(pl.Int64).to_numpy() - 1
    unit[nulls] = clusters + np.arange(int(nulls.sum()))
    return unit, clusters + int(nulls.sum())


def _rank(data: pl.DataFrame, gate: Gate) -> np.ndarray:
    """Keeper preference: input order, or Gate._unique's sort by `prefer` (nulls last)."""
    if gate.unique is None or not gate.unique.prefer:
        return np.arange(data.height)
    order = (
        data.select(gate.unique.prefer)
        .with_row_index("_row")
        .sort(
            [gate.unique.prefer, "_row"],
            descending=[gate.unique.prefer_highest, False],
            nulls_last=True,
        )["_row"]
        .to_numpy()
    )
    rank = np.empty(data.height, np.int64)
    rank[order] = np.arange(data.height)
    return rank


def shortest(below: float, upto: float) -> float:
    """The number with the fewest significant digits in (below, upto]: a bound people can read
    that decides every row exactly as any other value between the two neighbouring values."""
    if math.isinf(below):
        below = upto - max(1.0, abs(upto))
    if math.isinf(upto):
        upto = below + max(1.0, abs(below))
    exp = math.floor(math.log10(max(abs(below), abs(upto))))
    for digits in range(-1, 18):
        step = Decimal(1).scaleb(exp - digits)
        candidate = float((Decimal(upto) / step).to_integral_value(ROUND_FLOOR) * step)
        if below < candidate <= upto:
            return candidate
    return upto


def cumcount(keys: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its key (0 for the first)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    start = np.r_[True, ranked[1:] != ranked[:-1]] if keys.size else np.zeros(0, bool)
    index = np.arange(keys.size)
    out = np.empty(keys.size, np.int64)
    out[order] = index - np.maximum.accumulate(np.where(start, index, 0))
    return out
