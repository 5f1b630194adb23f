"""`tune --objective`: thresholds chosen by the downstream score of real + accepted candidates
on a validation split (never the test split), by steepest ascent over the numeric bounds.

Trained as `evaluate` trains condition `accepted`: every real training row and every accepted
candidate once each; the default classifier's C chosen once, by cross-validation on the train
split, before the search (so every config is scored by the same model). A seed varies only the
classifier's random_state: with the deterministic default one fit per config serves every seed."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from synthgate.config import gate_for, merge_config
from synthgate.errors import SynthgateError
from synthgate.evaluate.classifier import (
    Classifier,
    classifier_for,
    describe_c,
    deterministic,
    tfidf_logreg,
)
from synthgate.evaluate.conditions import fit_score
from synthgate.evaluate.inputs import Prepared, leakage, overlap_lines, prepare
from synthgate.io.rundir import Run
from synthgate.progress import Progress
from synthgate.tune.changes import accepted_mask, with_bound

OBJECTIVES = {"macro-f1": "macro_f1", "micro-f1": "micro_f1", "weighted-f1": "weighted_f1"}
POSITIONS = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)
"""Quantiles of a rule's column tried as its bound; 0 (for a min) and 1 (for a max) let every
row through, so switching a rule off is always among the choices."""
SIGNIFICANT = 4  # digits kept in a tried bound, rounded outward so the bound's rows stay in


def tune_objective(
    run: Run,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    *,
    metric: str = "macro-f1",
    seeds: int = 3,
    positions: Sequence[float] = POSITIONS,
    rounds: int = 4,
    text_col: str = "text",
    label_col: str = "label",
    id_col: str = "id",
    classifier: Classifier = tfidf_logreg,
    names: tuple[str, str] = ("train", "validation"),
    progress: Progress | None = None,
    allow_overlap: bool = False,
    freeze: Sequence[str] = (),
    unfreeze: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(suggested config, trace section): thresholds maximising `metric` of real + accepted
    on `validation`, starting from the run's config and moving only on a strict gain."""
    if metric not in OBJECTIVES:
        raise SynthgateError(f"--objective: unknown {metric!r}; available: {', '.join(OBJECTIVES)}")
    for flag, value in (("--seeds", seeds), ("--rounds", rounds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SynthgateError(f"{flag}: must be an int >= 1; got {value!r}")
    prep = prepare(
        run,
        train,
        validation,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        names=names,
        allow_overlap=allow_overlap,
    )
    fit, regularisation = classifier_for(prep, classifier)
    objective = Objective(run, prep, OBJECTIVES[metric], seeds, fit)
    held = set(freeze) | set(held_bounds(run, freeze, unfreeze))
    knobs = [
        (c, side, values(run.frame[c], side, positions))
        for c, side in bounds(run)
        if c not in held and f"{c}.{side}" not in held
    ]
    best, trace = ascend(objective, run.config, knobs, rounds, progress)
    start, best_score = trace[0][3], objective(best)[0]
    leaked = leakage(run, prep.held)["all"]["test_rows"]
    model = getattr(classifier, "__name__", "the classifier")
    seeds_note = (
        "one deterministic fit serves every seed"
        if objective.once
        else "the seed varies the classifier's random_state"
    )
    note = (
        f"Steepest ascent over {len(knobs)} bounds at quantiles {', '.join(map(str, positions))} "
        f"of their columns; each config scored by {metric} of {model} trained on "
        f"every real row + the accepted candidates ({seeds} seeds, mean; {seeds_note}) and "
        f"tested on {names[1]}. {describe_c(regularisation, names[0])} "
        f"{names[1]}: {start:.4f} with the run's config, {best_score:.4f} with the suggestion; "
        f"{objective.fits} classifier fits. No test split was read. "
        f"{leaked} {names[1]} rows are duplicated by candidates (they flatter any config that "
        "accepts those). " + " ".join(overlap_lines(prep.info["overlap"]))
    ).strip()
    extra = {
        "title": f"Thresholds by downstream validation {metric}",
        "note": note,
        "header": ["round", "bound", "value", f"validation {metric}", "accepted rows", ""],
        "rows": trace,
        "regularisation": regularisation,
    }
    return merge_config(best), extra


Knob = tuple[str, str, list[float | int]]  # column, "min" | "max", the bounds to try


def ascend(
    objective: Objective,
    config: dict[str, Any],
    knobs: list[Knob],
    rounds: int,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[list[Any]]]:
    """Steepest ascent: each round tries every bound of every knob from the current config and
    takes the single best move, only on a strict gain. (Coordinate ascent, knob after knob,
    was measured to lock in whichever knob came first: a first knob that rejected every
    candidate left the others nothing to change.) Returns the config and the trace rows."""
    best = copy.deepcopy(config)
    best_score, kept = objective(best)
    trace: list[list[Any]] = [[0, "(the run's config)", "", best_score, kept, "start"]]
    per_round = sum(len(tried) for *_, tried in knobs)
    for round_no in range(1, rounds + 1):
        results = []
        for column, side, tried in knobs:
            for value in (v for v in tried if _consistent(best, column, side, v)):
                results.append(
                    (column, side, value, *objective(with_bound(best, column, side, value)))
                )
                if progress:
                    progress("tune", (round_no - 1) * per_round + len(results), rounds * per_round)
        trace += [[round_no, f"{c}.{side}", v, sc, k, ""] for c, side, v, sc, k in results]
        if not results:
            break
        top = max(range(len(results)), key=lambda i: results[i][3])  # first best: knob order
        column, side, value, score, _ = results[top]
        if score <= best_score + 1e-12:
            break
        best, best_score = with_bound(best, column, side, value), score
        trace[len(trace) - len(results) + top][-1] = "chosen"
    return best, trace


def _consistent(config: dict[str, Any], column: str, side: str, value: float) -> bool:
    """Whether `value` keeps the rule's min <= max (a crossed pair rejects every row)."""
    rule = config["gate"]["rules"][column]
    other = rule.get("max" if side == "min" else "min")
    if other is None or isinstance(other, bool):
        return True
    return value <= other if side == "min" else value >= other


class Objective:
    """Mean validation score of real + accepted over seeds, cached by the accepted set."""

    def __init__(
        self, run: Run, prep: Prepared, metric: str, seeds: int, classifier: Classifier
    ) -> None:
        self.run, self.prep, self.metric = run, prep, metric
        self.seeds, self.classifier = seeds, classifier
        self.once = deterministic(classifier)
        self.cache: dict[bytes, float] = {}
        self.fits = 0

    def __call__(self, config: dict[str, Any]) -> tuple[float, int]:
        """(score, accepted rows of the run) under `config`."""
        mask = accepted_mask(self.run, config)
        usable = mask[self.prep.usable]
        key = np.packbits(usable).tobytes()
        if key not in self.cache:
            seeds = range(1 if self.once else self.seeds)
            runs = [
                fit_score(self.prep, "accepted", s, usable, self.classifier)[self.metric]
                for s in seeds
            ]
            self.fits += len(runs)
            self.cache[key] = float(np.mean(runs))
        return self.cache[key], int(mask.sum())


def held_bounds(run: Run, freeze: Sequence[str], unfreeze: Sequence[str]) -> list[str]:
    """Bounds the search may not move: hard rules' (less `unfreeze`), checked as tune checks
    them, and `freeze` names checked against the run's bounds."""
    from synthgate.tune.engine import build_problem
    from synthgate.tune.tuning import frozen, hard_knobs

    problem = build_problem(run.frame, run.config)
    frozen(problem, freeze)  # an unknown --freeze name is an error here too
    return hard_knobs(problem, run.config, unfreeze)


def bounds(run: Run) -> list[tuple[str, str]]:
    """(column, "min" | "max") of every enabled numeric bound on a numeric column of the run."""
    return [
        (rule.column, side)
        for rule in gate_for(run.config, run.frame).rules
        if run.frame[rule.column].dtype.is_numeric()
        for side, _ in rule.numeric_bounds()
    ]


def values(column: pl.Series, side: str, positions: Sequence[float]) -> list[float | int]:
    """The bounds tried for one knob: the column's quantiles, rounded outward, distinct."""
    known = column.drop_nulls().cast(pl.Float64).to_numpy()
    if known.size == 0:
        return []
    raw = np.quantile(known, np.clip(positions, 0.0, 1.0), method="inverted_cdf")
    whole = column.dtype.is_integer()
    out: list[float | int] = []
    for q in raw:
        v = outward(float(q), up=side == "max", whole=whole)
        if v not in out:
            out.append(v)
    return out


def outward(value: float, *, up: bool, whole: bool) -> float | int:
    """`value` to SIGNIFICANT digits, rounded down for a min and up for a max bound."""
    if whole:
        return int(math.ceil(value) if up else math.floor(value))
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - SIGNIFICANT + 1)
    units = round(value / scale, 6)  # 0.5 / 1e-4 is 4999.999...: not a step below
    step = math.ceil(units) if up else math.floor(units)
    return float(f"{step * scale:.{SIGNIFICANT}g}")
