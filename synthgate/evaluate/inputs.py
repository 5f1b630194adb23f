"""What `evaluate` and objective tuning train and test on, checked and put into arrays."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError
from synthgate.io.rundir import Run
from synthgate.text import normalize

NEAR_JACCARD = 0.6
"""A near copy for the overlap report: character 3-gram Jaccard at least this (the near-copy cut
`benchmarks/thresholds.py` measured on SMS: 89% of 2-word edits reach it, 6.6% of new real rows)."""

JOIN = ". "
"""Separator when the text is several columns (`title,description` -> "title. description")."""


@dataclass
class Labelled:
    """A real split as arrays: ids, texts and labels, row-aligned."""

    ids: np.ndarray
    text: np.ndarray
    label: np.ndarray


@dataclass
class Prepared:
    """Real train and held-out rows, and the run's candidates that can be training data."""

    train: Labelled
    held: Labelled
    cand_text: np.ndarray  # candidates with a label known to the train set, in run order
    cand_label: np.ndarray
    usable: np.ndarray  # per run row: is it among cand_* (bool)
    labels: list[str]  # classes scored: the held-out set's, sorted
    info: dict[str, Any] = field(default_factory=dict)


def text_of(frame: pl.DataFrame, text_col: str, where: str) -> pl.Series:
    """The text column, or several columns named `a,b` joined with ". " (nulls left out)."""
    names = [text_col] if text_col in frame.columns else [c.strip() for c in text_col.split(",")]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise SynthgateError(
            f"{where}: no text column {missing[0]!r}; columns found: {', '.join(frame.columns)}"
        )
    parts = [pl.col(c).cast(pl.String) for c in names]
    return frame.select(pl.concat_str(parts, separator=JOIN, ignore_nulls=True).fill_null(""))[:, 0]


def labelled(
    frame: pl.DataFrame, text_col: str, label_col: str, id_col: str, where: str
) -> Labelled:
    """A real split checked: rows, a text and a label column, no empty label (row named)."""
    if frame.height == 0:
        raise SynthgateError(f"{where}: no rows")
    text = text_of(frame, text_col, where)
    if label_col not in frame.columns:
        raise SynthgateError(
            f"{where}: no label column {label_col!r}; columns found: {', '.join(frame.columns)}"
        )
    label = frame[label_col].cast(pl.String)
    empty = (label.is_null() | (label.str.strip_chars() == "")).arg_true()
    if empty.len():
        raise SynthgateError(
            f"{where}: column {label_col!r} is empty at row {empty[0] + 1} "
            f"({empty.len()} rows without a label); every real row needs one"
        )
    ids = frame[id_col].cast(pl.String) if id_col in frame.columns else None
    if ids is None:
        ids = pl.Series([str(i) for i in range(frame.height)])
    return Labelled(ids.to_numpy(), text.to_numpy(), label.to_numpy())


def prepare(
    run: Run,
    train: pl.DataFrame,
    held: pl.DataFrame,
    *,
    text_col: str,
    label_col: str,
    id_col: str,
    names: tuple[str, str],
    allow_overlap: bool = False,
) -> Prepared:
    """Check every input and keep the candidates whose label the train set knows. A held-out
    split that repeats training rows is refused unless `allow_overlap`."""
    real = labelled(train, text_col, label_col, id_col, names[0])
    test = labelled(held, text_col, label_col, id_col, names[1])
    shared = overlap(real, test)
    if shared["exact_rows"] and not allow_overlap:
        raise SynthgateError(
            f"{names[1]}: {shared['exact_rows']:,} of {test.text.size:,} rows repeat a row of "
            f"{names[0]} (normalised text; first: row {shared['first_row']}, "
            f"{shared['first_text']!r}); held-out rows must be new: split again, or pass "
            "--allow-overlap"
        )
    known = set(real.label.tolist())
    if len(known) < 2:
        raise SynthgateError(
            f"{names[0]}: column {label_col!r} holds one class ({next(iter(known))!r}); "
            "a classifier needs at least two"
        )
    cand_text, cand_label = candidate_columns(run)
    usable = np.array([lab in known for lab in cand_label.tolist()], dtype=bool)
    info = {
        "dropped_unlabelled": int(sum(lab is None for lab in cand_label.tolist())),
        "dropped_unknown_label": dict(
            Counter(lab for lab in cand_label[~usable].tolist() if lab is not None)
        ),
        "unseen_test_labels": dict(Counter(x for x in test.label.tolist() if x not in known)),
        "overlap": {k: v for k, v in shared.items() if not k.startswith("first_")},
    }
    if not usable.any():
        found = ", ".join(sorted({str(x) for x in cand_label.tolist() if x is not None})[:5])
        raise SynthgateError(
            f"{names[0]}: no candidate label is a class of column {label_col!r} "
            f"(candidates carry: {found or 'no labels'}); nothing to evaluate"
        )
    return Prepared(
        train=real,
        held=test,
        cand_text=cand_text[usable],
        cand_label=cand_label[usable],
        usable=usable,
        labels=sorted(set(test.label.tolist())),
        info=info,
    )


def overlap(train: Labelled, held: Labelled) -> dict[str, Any]:
    """Held-out rows that repeat a training row (normalised text, as dedup normalises) and that
    are near copies of one (MinHash character 3-gram Jaccard >= NEAR_JACCARD, exact included)."""
    from synthgate.scorers.base import Resources
    from synthgate.scorers.dedup import DedupScorer

    def frame(split: Labelled) -> pl.DataFrame:
        return pl.DataFrame({"id": [str(i) for i in range(split.text.size)], "text": split.text})

    held_frame = frame(held)
    found = DedupScorer(semantic=False).fit(held_frame, frame(train), Resources()).score(held_frame)
    exact = found["dedup_real_exact"].fill_null(False)
    near = found["dedup_real_jaccard"].fill_null(0.0) >= NEAR_JACCARD
    first = int(exact.arg_true()[0]) if exact.any() else None
    return {
        "exact_rows": int(exact.sum()),
        "near_rows": int((near | exact).sum()),
        "rows": int(held.text.size),
        "near_jaccard": NEAR_JACCARD,
        "first_row": None if first is None else first + 1,
        "first_text": None if first is None else str(held.text[first])[:80],
    }


def overlap_lines(shared: dict[str, Any] | None) -> list[str]:
    """What the held-out split shares with the train split (exact rows were let through by
    --allow-overlap; near copies are only reported)."""
    if not shared:
        return []
    out = []
    if shared["exact_rows"]:
        out.append(
            f"{shared['exact_rows']} test rows repeat a training row (--allow-overlap): "
            "every condition is flattered by them."
        )
    if shared["near_rows"]:
        out.append(
            f"{shared['near_rows']} of {shared['rows']} test rows "
            f"({shared['near_rows'] / max(shared['rows'], 1):.1%}) are near copies of a training "
            f"row (character 3-gram Jaccard >= {shared['near_jaccard']}, exact included)."
        )
    return out


def candidate_columns(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The run's candidate texts and labels (labels as strings; null stays None)."""
    if run.label_col is None:
        where = run.path or "the run"
        raise SynthgateError(
            f"{where}: the candidates have no label column, so they cannot be training data; "
            "score them with --label-col to evaluate"
        )
    text = run.frame[run.text_col].cast(pl.String).fill_null("")
    return text.to_numpy(), run.frame[run.label_col].cast(pl.String).to_numpy()


def leakage(run: Run, held: Labelled) -> dict[str, Any]:
    """Held-out rows whose normalised text (as dedup normalises) equals a candidate's."""
    keys = normalize(pl.Series(held.text, dtype=pl.String))
    cand = normalize(run.frame[run.text_col].cast(pl.String))
    accepted = run.frame["accepted"]
    out: dict[str, Any] = {}
    for name, pool in (("all", cand), ("accepted", cand.filter(accepted))):
        pool = pool.filter(pool != "")
        hit = keys.is_in(pool.implode()) & (keys != "")
        out[name] = {
            "test_rows": int(hit.sum()),
            "test_ids": held.ids[hit.to_numpy()].tolist(),
            "candidate_rows": int(pool.is_in(keys.filter(hit).implode()).sum()),
        }
    return out
