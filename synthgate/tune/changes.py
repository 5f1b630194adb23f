"""What a suggestion changes, whatever chose it (a target, judgements, a downstream objective):
each moved bound with the rows whose outcome it alone flips, acceptance before and after, a
warning for a bound loosened far, and suggested.toml with every changed key marked."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from synthgate.config import gate_for
from synthgate.gate import gate_frame
from synthgate.io.rundir import Run
from synthgate.tune.engine import build_problem

LOOSEN_WARN = 0.10
"""A bound loosened by more than this many quantile units (share of its column's values it
stops rejecting) is named in a warning: a large step lets in rows no one has looked at."""


def suggestion_changes(run: Run, suggested: dict[str, Any]) -> dict[str, Any]:
    """{"changes": [...], "acceptance": {"before", "after", "rows"}, "warnings": [...]} for
    `suggested` against the run's own config."""
    problem = build_problem(run.frame, run.config)
    rules = suggested["gate"]["rules"]
    before = run.frame["accepted"].to_numpy()
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    for knob in problem.knobs:
        new = rules.get(knob.column, {}).get(knob.side)
        if new is None or new == knob.current:
            continue
        p0, p = knob.position(knob.current), knob.position(new)
        alone = with_bound(run.config, knob.column, knob.side, new)
        change = {
            "knob": knob.name,
            "old": knob.current,
            "new": new,
            "direction": "loosened" if p < p0 else "tightened" if p > p0 else "same rows",
            "quantile_change": abs(p - p0) / max(knob.values, 1),
            "rows_changed": int((accepted_mask(run, alone) != before).sum()),
        }
        out.append(change)
        if p < p0 and change["quantile_change"] > LOOSEN_WARN:
            warnings.append(
                f"{knob.name} loosened {_fmt(knob.current)} -> {_fmt(new)}: it stops rejecting "
                f"{change['quantile_change']:.1%} of the column's values (more than "
                f"{LOOSEN_WARN:.0%}); look at those rows before applying it"
            )
    after = accepted_mask(run, suggested) if out else before
    rows = run.frame.height
    return {
        "changes": out,
        "acceptance": {
            "rows": rows,
            "before": int(before.sum()),
            "after": int(after.sum()),
        },
        "warnings": warnings,
    }


def describe(summary: dict[str, Any]) -> list[str]:
    """The terminal lines: each change, then acceptance before -> after."""
    acc = summary["acceptance"]
    rows = max(acc["rows"], 1)
    lines = [
        f"changed {c['knob']}: {_fmt(c['old'])} -> {_fmt(c['new'])} ({c['direction']}; "
        f"{c['rows_changed']:,} rows change outcome)"
        for c in summary["changes"]
    ] or ["no threshold changed"]
    lines.append(
        f"acceptance: {acc['before']:,} -> {acc['after']:,} of {acc['rows']:,} rows "
        f"({acc['before'] / rows:.1%} -> {acc['after'] / rows:.1%})"
    )
    return lines


def mark_changes(toml_text: str, changes: list[dict[str, Any]]) -> str:
    """suggested.toml with `# was OLD (tune)` after every key a suggestion changed."""
    old = {tuple(c["knob"].rsplit(".", 1)): c["old"] for c in changes}
    table, out = "", []
    for line in toml_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            table = stripped.strip("[]").strip('"')
        elif "=" in stripped and table.startswith("gate.rules."):
            key = stripped.split("=", 1)[0].strip()
            column = table.removeprefix("gate.rules.").strip('"')
            if (column, key) in old:
                line = f"{line}  # was {_fmt(old[(column, key)])} (tune)"
        out.append(line)
    return "\n".join(out) + ("\n" if toml_text.endswith("\n") else "")


def with_bound(config: dict[str, Any], column: str, side: str, value: float | int) -> dict:
    """A copy of `config` with one rule bound changed."""
    out = copy.deepcopy(config)
    out["gate"]["rules"][column][side] = value
    return out


def accepted_mask(run: Run, config: dict[str, Any]) -> np.ndarray:
    """`accepted` of every run row under `config`, from the stored scores (as regate gates)."""
    gate = gate_for(config, run.frame)
    return gate_frame(run.frame, gate, id_col=run.id_col)["accepted"].to_numpy()


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
