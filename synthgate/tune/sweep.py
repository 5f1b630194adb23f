"""Keep-rate sweeps: each knob across its column's quantiles with every other rule held fixed, the
effect of each check no knob controls (flags, missing values) and of the unique step."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgate.tune.engine import Knob, Problem

GRID = np.linspace(0.0, 1.0, 41)
"""Quantiles tried per knob: 0, 0.025, ..., 1 (41 points: a curve smooth enough to read, and
few enough that the label metrics of every point stay cheap)."""


def grid(knob: Knob) -> list[int]:
    """Positions of the knob at its column's GRID quantiles and at the config's bound, in
    increasing order of the bound (a max's positions count down as its bound goes up)."""
    finite = knob.hi - knob.lo
    if finite <= 0:  # a pinned knob (tune --freeze), or a column with no value that can fail
        return [knob.position(knob.current)]
    # numpy's "inverted_cdf" quantile (a data value, no interpolation) of the sorted finite values
    index = np.clip(np.ceil(GRID * finite).astype(np.int64) - 1, 0, finite - 1)
    at = knob.sorted_w[knob.lo + index]
    found = {int(p) for p in np.searchsorted(knob.sorted_w, at, "left")}
    return sorted(found | {knob.position(knob.current)}, reverse=knob.side == "max")


def shown(knob: Knob, position: int) -> float | int:
    """The bound shown for a sweep point: the config's own, else the column value at it."""
    if position == knob.position(knob.current):
        return knob.current
    s = knob.s_at(position)
    t = (s if knob.side == "min" else -s) + 0.0
    return int(t) if knob.integer and t.is_integer() else t


def joint_counts(
    problem: Problem, fails: np.ndarray, index: int, positions: list[int]
) -> np.ndarray:
    """Rows kept at each of `positions` of knob `index`, every other knob where `fails` (checks
    failed per row) was counted. A unit is kept iff its best member among rows passing every
    other check passes this bound, so one max per unit and one sorted search serve every
    position."""
    knob = problem.knobs[index]
    own = knob.w < knob.s_at(knob.position(knob.current))
    others = (fails - own) == 0
    best = np.full(problem.units, -np.inf)
    np.maximum.at(best, problem.unit[others], knob.w[others])
    best.sort()
    s = np.array([knob.s_at(p) for p in positions])
    return problem.units - np.searchsorted(best, s, "left")


def sweeps(problem: Problem) -> list[dict[str, Any]]:
    """Per knob: its current bound and, per grid point, the keep-rate of the bound alone and the
    joint keep-rate (every other rule and the unique step as configured)."""
    out = []
    current = problem.current()
    fails = problem.fails(current)
    for i, knob in enumerate(problem.knobs):
        positions = grid(knob)
        joint = joint_counts(problem, fails, i, positions)
        points = [
            {
                "threshold": shown(knob, p),
                "quantile": knob.quantile(p),
                "alone": (problem.rows - p) / problem.rows,
                "joint": int(kept) / problem.rows,
                "current": p == current[i],
            }
            for p, kept in zip(positions, joint, strict=True)
        ]
        out.append(
            {
                "knob": knob.name,
                "column": knob.column,
                "side": knob.side,
                "current": knob.current,
                "current_quantile": knob.quantile(current[i]),
                "values": knob.values,
                "points": points,
            }
        )
    return out


def fixed_effects(problem: Problem) -> list[dict[str, Any]]:
    """Per check no knob controls, the joint keep-rate with and without it."""
    fails = problem.fails(problem.current())
    now = problem.kept(fails == 0) / problem.rows
    out = []
    for reason, mask in problem.fixed.items():
        without = problem.kept((fails - mask) == 0) / problem.rows
        out.append({"check": reason, "rejects": int(mask.sum()), "with": now, "without": without})
    return out


def overview(problem: Problem, accepted: int) -> dict[str, Any]:
    """Joint keep-rate now, without the unique step, and over the range knobs can reach."""
    current = problem.current()
    passing = problem.fails(current) == 0
    return {
        "rows": problem.rows,
        "run_accepted": accepted,
        "joint_keep_rate": problem.kept(passing) / problem.rows,
        "without_unique": int(passing.sum()) / problem.rows,
        "unique_step": problem.unique,
        "loosest": problem.keep_rate([k.lo for k in problem.knobs]),
        "tightest": problem.keep_rate([k.hi for k in problem.knobs]),
    }
