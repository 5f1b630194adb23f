"""Label metrics along every sweep, and `--target-precision`: thresholds on the sweep grid whose
precision on the judged rows reaches the target with the highest recall.

Search: coordinate ascent from the config. Each round tries, for one knob at a time, every grid
position with the other knobs where they stand, and moves the knob to the best one. Best means:
a configuration reaching the target beats one that does not; among those reaching it, higher
recall, then higher precision, then less change in quantile units; among those not reaching it,
higher precision, then higher recall, then less change. Rounds repeat until nothing moves. It
can miss an optimum that needs two knobs moved at once; the grid is the sweep's."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgate.errors import SynthgateError
from synthgate.tune.engine import Problem
from synthgate.tune.labels import Judged
from synthgate.tune.sweep import grid
from synthgate.tune.target import changes

ROUNDS = 20  # coordinate-ascent rounds at most; on hand and random frames it settles in 2-4


def sweep_labels(judged: Judged, sweeps: list[dict[str, Any]]) -> None:
    """Add `labels` (precision, recall, F1 with intervals) to every sweep point, in place."""
    problem = judged.problem
    current = problem.current()
    for i, (knob, sweep) in enumerate(zip(problem.knobs, sweeps, strict=True)):
        others = judged.fails(current, skip=i) == 0
        columns = [judged.kept(others & (judged.w[i] >= knob.s_at(p))) for p in grid(knob)]
        for point, found in zip(sweep["points"], judged.metrics(np.stack(columns, 1)), strict=True):
            point["labels"] = found


def reach_precision(
    problem: Problem, judged: Judged, target: float
) -> tuple[list[int], dict[str, Any]]:
    """Knob positions reaching `target` precision on the judged rows with the highest recall the
    search finds; a target it cannot reach is a SynthgateError naming the best precision."""
    if not isinstance(target, int | float) or not 0.0 <= target <= 1.0:
        raise SynthgateError(f"--target-precision: must be between 0 and 1; got {target!r}")
    start = problem.current()
    grids = [grid(k) for k in problem.knobs]
    pos = list(start)
    best = _key(judged, judged.kept_at(pos), target, _cost(problem, start, pos))
    for _ in range(ROUNDS):
        moved = False
        for i, knob in enumerate(problem.knobs):
            others = judged.fails(pos, skip=i) == 0
            for p in grids[i]:
                tried = [*pos[:i], p, *pos[i + 1 :]]
                kept = judged.kept(others & (judged.w[i] >= knob.s_at(p)))
                key = _key(judged, kept, target, _cost(problem, start, tried))
                if key > best:
                    best, pos, moved = key, tried, True
        if not moved:
            break
    found = judged.metrics(judged.kept_at(pos)[:, None])[0]
    if not best[0]:
        said = {k: _said(found[k]["value"]) for k in ("precision", "recall")}
        raise SynthgateError(
            f"--target-precision {target:g}: no thresholds on the sweep grid reach it; the best "
            f"precision found on the {judged.good.size} judged rows is {said['precision']} "
            f"(recall {said['recall']})"
        )
    kept = problem.kept(problem.fails(pos) == 0)
    data = {"target": target, "labels": found, "accepted": kept, "acceptance": kept / problem.rows}
    data["changes"] = changes(problem, pos)
    data["total_change"] = sum(c["change"] for c in data["changes"])
    return pos, data


def _said(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4g}"


def _key(judged: Judged, kept: np.ndarray, target: float, cost: float) -> tuple:
    """How good a configuration is for the search (larger is better)."""
    hit = int((kept & judged.good).sum())
    accepted, good = int(kept.sum()), int(judged.good.sum())
    precision = hit / accepted if accepted else -1.0
    recall = hit / good if good else 0.0
    if precision >= target - 1e-12:
        return (True, recall, precision, -cost)
    return (False, precision, recall, -cost)


def _cost(problem: Problem, start: list[int], pos: list[int]) -> float:
    """Change from the config in quantile units, summed over knobs."""
    return sum(abs(p - p0) / k.values for k, p, p0 in zip(problem.knobs, pos, start, strict=True))
