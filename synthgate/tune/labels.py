"""Human judgements for `tune --labels`: the judged file read and checked, and precision, recall
and F1 of the gate on the judged rows with bootstrap intervals, for any knob positions."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError
from synthgate.io.csvsafe import unneutralise
from synthgate.io.files import read_table
from synthgate.io.rundir import Run
from synthgate.tune.engine import Problem

RESAMPLES = 1000
"""Bootstrap resamples: the usual minimum for 95% percentile intervals (Efron & Tibshirani 1993,
An Introduction to the Bootstrap, ch. 13)."""
JUDGEMENTS = {"good": True, "bad": False, "": None}
SHOWN = 3  # unknown ids named in the error


def read_judgements(path: str | Path, run: Run) -> pl.DataFrame:
    """`id` (String) and `good` (Boolean; null where the row was left unjudged) of a judged
    sample (`synthgate sample`'s file: extra columns are ignored). Every problem is one
    SynthgateError naming the file, the row (1 = first data row) and the value."""
    frame = read_table(path)
    for column in ("id", "judgement"):
        if column not in frame.columns:
            raise SynthgateError(f"{path}: no {column!r} column; found: {', '.join(frame.columns)}")
    try:
        ids = frame["id"].cast(pl.String)
        if Path(path).suffix.lower() == ".csv":  # `sample` writes CSV, `'` before `=A1`
            ids = unneutralise(ids)
        raw = frame["judgement"].cast(pl.String)
    except Exception as exc:  # a nested JSON value cannot be read as text
        raise SynthgateError(f"{path}: id and judgement must be plain values ({exc})") from exc
    said = raw.str.strip_chars().str.to_lowercase().fill_null("")
    bad = ~said.is_in(list(JUDGEMENTS))
    if bad.any():
        row = int(bad.arg_max())  # type: ignore[arg-type]
        raise SynthgateError(
            f"{path}: row {row + 1}: judgement {raw[row]!r} is not good, bad or empty"
        )
    _check_ids(path, ids, run)
    good = said.replace_strict(JUDGEMENTS, return_dtype=pl.Boolean)
    if good.null_count() == frame.height:
        raise SynthgateError(
            f"{path}: no judged rows: judgement is empty on all {frame.height} rows "
            "(write good or bad)"
        )
    return pl.DataFrame({"id": ids, "good": good})


def _check_ids(path: str | Path, ids: pl.Series, run: Run) -> None:
    """Empty, duplicate and unknown ids, each named with its row."""
    if ids.null_count() or (ids.str.strip_chars() == "").any():
        row = int((ids.is_null() | (ids.str.strip_chars() == "")).arg_max())  # type: ignore[arg-type]
        raise SynthgateError(f"{path}: row {row + 1}: empty id")
    dup = ids.is_duplicated()
    if dup.any():
        row = int(dup.arg_max())  # type: ignore[arg-type]
        again = int((ids == ids[row]).arg_true()[1])
        raise SynthgateError(
            f"{path}: row {again + 1}: id {ids[row]!r} appears again (first at row {row + 1})"
        )
    unknown = (~ids.is_in(run.frame[run.id_col].cast(pl.String).implode())).arg_true()
    if unknown.len():
        named = ", ".join(f"row {i + 1}: {ids[i]!r}" for i in unknown[:SHOWN])
        more = f" and {unknown.len() - SHOWN} more" if unknown.len() > SHOWN else ""
        where = f" {run.path}" if run.path else ""
        raise SynthgateError(f"{path}: {_ids(unknown.len())} not in the run{where} ({named}{more})")


class Judged:
    """The judged rows of a run, and every row of their clusters: whether a judged row is kept
    depends on which member of its cluster the unique step keeps."""

    def __init__(
        self,
        problem: Problem,
        ids: pl.Series,
        judgements: pl.DataFrame,
        *,
        seed: int,
        resamples: int = RESAMPLES,
    ) -> None:
        rows, good = _rows(ids, judgements)
        self.problem, self.good = problem, good
        self.not_judged = judgements.height - good.size
        mine = np.isin(problem.unit, problem.unit[rows])
        near = np.flatnonzero(mine)
        self.near = near[np.lexsort((problem.rank[near], problem.unit[near]))]
        self.unit = problem.unit[self.near]
        where = np.full(problem.rows, -1)
        where[self.near] = np.arange(self.near.size)
        self.at = where[rows]
        self.w = [k.w[self.near] for k in problem.knobs]
        self.fixed = sum(
            (m[self.near].astype(np.int16) for m in problem.fixed.values()),
            np.zeros(self.near.size, np.int16),
        )
        draws = np.random.default_rng(seed).integers(0, good.size, size=(resamples, good.size))
        offsets = (np.arange(resamples)[:, None] * good.size + draws).ravel()
        counts = np.bincount(offsets, minlength=resamples * good.size)
        self.weights = counts.reshape(resamples, good.size).astype(np.float64)

    def fails(self, positions: list[int], skip: int = -1) -> np.ndarray:
        """Checks failed per row of `near`, knob `skip` left out."""
        out = self.fixed.copy()
        for i, (knob, p) in enumerate(zip(self.problem.knobs, positions, strict=True)):
            if i != skip:
                out += self.w[i] < knob.s_at(p)
        return out

    def kept(self, passing: np.ndarray) -> np.ndarray:
        """Which judged rows the gate keeps when `passing` rows of `near` pass every rule."""
        index = np.flatnonzero(passing)
        unit = self.unit[index]
        first = index[np.r_[True, unit[1:] != unit[:-1]]] if index.size else index
        keep = np.zeros(self.near.size, bool)
        keep[first] = True
        return keep[self.at]

    def kept_at(self, positions: list[int]) -> np.ndarray:
        """Which judged rows the gate keeps with every knob at `positions`."""
        return self.kept(self.fails(positions) == 0)

    def metrics(self, kept: np.ndarray) -> list[dict[str, Any]]:
        """Per column of `kept` (judged rows x configs): precision, recall, F1, each with its
        bootstrap 95% percentile interval over resamples of the judged rows."""
        k = kept.astype(np.float64)
        hit = k * self.good[:, None]
        point = _rates(hit.sum(0)[None], k.sum(0)[None], np.array([self.good.sum()]))
        boot = _rates(self.weights @ hit, self.weights @ k, self.weights @ self.good)
        with warnings.catch_warnings():  # a metric undefined in every resample has no interval
            warnings.simplefilter("ignore", RuntimeWarning)
            bands = {name: np.nanpercentile(v, [2.5, 97.5], axis=0) for name, v in boot.items()}
        out = []
        for c in range(kept.shape[1]):
            row: dict[str, Any] = {
                "accepted_judged": int(k[:, c].sum()),
                "accepted_good": int(hit[:, c].sum()),
            }
            for name, values in point.items():
                ci = [_num(bands[name][0, c]), _num(bands[name][1, c])]
                row[name] = {"value": _num(values[0, c]), "ci": ci}
            out.append(row)
        return out

    def summary(self) -> dict[str, Any]:
        """Counts of the judgements."""
        good = int(self.good.sum())
        return {
            "judged": int(self.good.size),
            "good": good,
            "bad": int(self.good.size) - good,
            "not_judged": self.not_judged,
            "resamples": self.weights.shape[0],
        }


def _rows(ids: pl.Series, judgements: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Run row numbers and good/bad of the judged rows; unknown ids are a SynthgateError."""
    for column in ("id", "good"):
        if column not in judgements.columns:
            raise SynthgateError(f"judgements: no {column!r} column (see read_judgements)")
    judged = judgements.filter(pl.col("good").is_not_null())
    if judged.height == 0:
        raise SynthgateError("judgements: no judged rows")
    index = pl.DataFrame({"id": ids.cast(pl.String)}).with_row_index("_row")
    found = judged.select(pl.col("id").cast(pl.String), "good").join(
        index, on="id", how="left", maintain_order="left"
    )
    missing = found.filter(pl.col("_row").is_null())["id"]
    if missing.len():
        raise SynthgateError(
            f"judgements: {_ids(missing.len())} not in the run: {', '.join(missing[:SHOWN])}"
        )
    return found["_row"].to_numpy().astype(np.int64), found["good"].to_numpy().astype(bool)


def _ids(count: int) -> str:
    return f"{count} id" if count == 1 else f"{count} ids"


def _rates(hit: np.ndarray, kept: np.ndarray, good: np.ndarray) -> dict[str, np.ndarray]:
    """precision, recall, F1 from counts (rows: resamples); NaN where undefined."""
    good = np.broadcast_to(good[:, None], hit.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "precision": np.where(kept > 0, hit / kept, np.nan),
            "recall": np.where(good > 0, hit / good, np.nan),
            "f1": np.where(kept + good > 0, 2 * hit / (kept + good), np.nan),  # = 2PR/(P+R)
        }


def _num(value: float) -> float | None:
    """A JSON number, or None for NaN."""
    return None if np.isnan(value) else float(value)
