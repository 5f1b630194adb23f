"""`--target-acceptance`: thresholds that reach an overall acceptance with the least change from
the config, change measured in quantile units (the share of a column's values that cross its bound).

Greedy: repeatedly move the knob whose next STEP gains (or, tightening, loses) the most accepted
rows per quantile unit, until the target is reached; the last move stops at the first position
that reaches it, and a move that would overshoot the target is taken only when no other helps.
A knob whose step changes nothing (its rejected rows also fail another rule, or are copies of a
kept row) is extended to its first position that changes something; when no single knob changes
anything, every knob takes one step together. Each move costs only the rows it crosses: per row
the number of failed checks and per cluster its passing rows are kept up to date, so a million
rows take seconds, not a Gate.apply per try."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthgate.errors import SynthgateError
from synthgate.tune.engine import Problem, cumcount

STEP = 0.01
"""Quantile units per greedy step: the resolution at which knobs compete (finer finds cheaper
mixes, in more steps); a move across a whole column takes 100 steps."""
OVERSHOOT = 0.001
"""Acceptance a finishing move may overshoot the target by before any other move is preferred:
ties (an integer column's value shared by thousands of rows) cross at once, and a suggestion
should land on the target, not a tie's width past it."""


@dataclass
class Move:
    """One knob to a new position, and what it does to the kept rows."""

    knob: int
    to: int
    change: int  # rows of acceptance gained (loosening) or lost (tightening)
    cost: float  # quantile units


class Search:
    """Knob positions, failed checks per row and passing rows per unit, updated move by move."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.pos = problem.current()
        self.fails = problem.fails(self.pos)
        self.count = np.bincount(problem.unit[self.fails == 0], minlength=problem.units)
        self.kept = int(np.count_nonzero(self.count))

    def crossed(self, i: int, to: int) -> np.ndarray:
        """Rows whose pass on knob i flips moving it to `to`, nearest the old bound first."""
        knob, p = self.problem.knobs[i], self.pos[i]
        return knob.order[to:p][::-1] if to < p else knob.order[p:to]

    def curve(self, i: int, to: int) -> np.ndarray:
        """Cumulative change in kept rows (as a positive number) row by row along a move."""
        rows = self.crossed(i, to)
        unit = self.problem.unit[rows]
        if to < self.pos[i]:  # a row gained is the first freed member of an empty unit
            free = np.flatnonzero((self.fails[rows] == 1) & (self.count[unit] == 0))
            step = np.zeros(rows.size, np.int64)
            step[free[cumcount(unit[free]) == 0]] = 1
        else:  # a unit is lost when its last passing member fails
            live = np.flatnonzero(self.fails[rows] == 0)
            step = np.zeros(rows.size, np.int64)
            step[live[cumcount(unit[live]) + 1 == self.count[unit[live]]]] = 1
        return np.cumsum(step)

    def snap(self, i: int, rows_crossed: int, loosen: bool) -> int:
        """The position after crossing that many rows, widened to every tie of the last one."""
        knob, p = self.problem.knobs[i], self.pos[i]
        if loosen:
            return int(np.searchsorted(knob.sorted_w, knob.sorted_w[p - rows_crossed], "left"))
        return int(np.searchsorted(knob.sorted_w, knob.sorted_w[p + rows_crossed - 1], "right"))

    def stepped(self, i: int, loosen: bool) -> int | None:
        """Knob i one STEP further, or None at its end."""
        knob, p = self.problem.knobs[i], self.pos[i]
        if (loosen and p <= knob.lo) or (not loosen and p >= knob.hi):
            return None
        rows = max(1, round(STEP * knob.values))
        rows = min(rows, p - knob.lo) if loosen else min(rows, knob.hi - p)
        return self.snap(i, rows, loosen)

    def move(self, i: int, to: int, need: int, loosen: bool, first: bool = False) -> Move | None:
        """Knob i toward `to`, stopped where it reaches `need` (or, with `first`, where it first
        changes anything); None if the whole way changes nothing."""
        cum = self.curve(i, to)
        if cum.size == 0 or cum[-1] == 0:
            return None
        goal = need if cum[-1] >= need else (1 if first else 0)
        if goal:
            to = self.snap(i, int(np.searchsorted(cum, goal, "left")) + 1, loosen)
        crossed = abs(to - self.pos[i])
        return Move(i, to, int(cum[crossed - 1]), crossed / self.problem.knobs[i].values)

    def apply(self, move: Move, loosen: bool) -> None:
        """Move one knob; update failed checks, passing rows per unit and the kept count."""
        rows = self.crossed(move.knob, move.to)
        if loosen:
            self.fails[rows] -= 1
            flipped = rows[self.fails[rows] == 0]
        else:
            flipped = rows[self.fails[rows] == 0]
            self.fails[rows] += 1
        unit = self.problem.unit[flipped]
        touched = np.unique(unit)
        before = np.count_nonzero(self.count[touched])
        (np.add if loosen else np.subtract).at(self.count, unit, 1)
        self.kept += int(np.count_nonzero(self.count[touched])) - int(before)
        self.pos[move.knob] = move.to


def reach_acceptance(problem: Problem, target: float) -> tuple[list[int], dict[str, Any]]:
    """Knob positions reaching `target` acceptance (at least it when loosening, at most it when
    tightening), and what changed; a target outside the reachable range is a SynthgateError."""
    if not isinstance(target, int | float) or not 0.0 <= target <= 1.0:
        raise SynthgateError(f"--target-acceptance: must be between 0 and 1; got {target!r}")
    goal = target * problem.rows
    reach = [problem.keep_rate([getattr(k, end) for k in problem.knobs]) for end in ("hi", "lo")]
    if not reach[0] * problem.rows - 1e-9 <= goal <= reach[1] * problem.rows + 1e-9:
        raise SynthgateError(
            f"--target-acceptance {target:g}: out of reach by moving the numeric bounds; "
            f"acceptance runs from {reach[0]:.4g} (every bound at its tightest) to "
            f"{reach[1]:.4g} (every bound at its loosest)"
        )
    search = Search(problem)
    before = search.kept
    up, down = math.ceil(goal - 1e-9), math.floor(goal + 1e-9)
    loosen = search.kept < up
    while (need := up - search.kept if loosen else search.kept - down) > 0:
        best = _best(search, need, loosen)
        if best is None:
            _together(search, need, loosen)
        else:
            search.apply(best, loosen)
    direction = "none" if search.kept == before else ("loosen" if loosen else "tighten")
    data = {
        "target": target,
        "direction": direction,
        "before": before / problem.rows,
        "accepted": search.kept,
        "acceptance": search.kept / problem.rows,
        "reachable": reach,
        "changes": changes(problem, search.pos),
    }
    data["total_change"] = sum(c["change"] for c in data["changes"])
    return search.pos, data


def _best(search: Search, need: int, loosen: bool) -> Move | None:
    """The single-knob move with the most rows per quantile unit: one STEP each, else (when no
    step changes anything) each knob as far as its first change. A move that overshoots the
    target by more than OVERSHOOT (a tie of many rows crossed at once) comes last."""
    knobs = search.problem.knobs
    slack = math.floor(OVERSHOOT * search.problem.rows)
    for first in (False, True):
        found = []
        for i, knob in enumerate(knobs):
            to = search.stepped(i, loosen) if not first else (knob.lo if loosen else knob.hi)
            if to is not None and to != search.pos[i]:
                move = search.move(i, to, need, loosen, first)
                found += [move] if move else []
        if found:
            return max(
                found,
                key=lambda m: (m.change - need <= slack, m.change / m.cost, -m.cost, -m.knob),
            )
    return None


def _together(search: Search, need: int, loosen: bool) -> None:
    """Every knob one STEP, in order, until the target is met: rows that fail several rules
    come back only when their rules move together."""
    moved = False
    for i in range(len(search.problem.knobs)):
        to = search.stepped(i, loosen)
        if to is None:
            continue
        move = search.move(i, to, need, loosen) or Move(i, to, 0, 0.0)
        search.apply(move, loosen)
        moved = True
        need -= move.change
        if need <= 0:
            return
    if not moved:  # unreachable: the range check above guarantees a knob can still move
        raise RuntimeError(
            "internal error: target acceptance not reached with every knob at its end"
        )


def changes(problem: Problem, positions: list[int]) -> list[dict[str, Any]]:
    """Each moved knob: old and new bound, share of values rejected, change in quantile units."""
    out = []
    for knob, p, p0 in zip(problem.knobs, positions, problem.current(), strict=True):
        if p != p0:
            out.append(
                {
                    "knob": knob.name,
                    "column": knob.column,
                    "side": knob.side,
                    "old": knob.current,
                    "new": knob.threshold(p),
                    "old_quantile": knob.quantile(p0),
                    "new_quantile": knob.quantile(p),
                    "change": abs(p - p0) / knob.values,
                }
            )
    return out
