"""tuning.html, tuning.json and suggested.toml: what `tune` found, for a person and for regate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgate import config as cfg
from synthgate import html
from synthgate.io.files import write_text
from synthgate.io.rundir import Run
from synthgate.tune.changes import mark_changes

if TYPE_CHECKING:
    from synthgate.tune.tuning import Tuning

JOINT, ALONE, MARK, NEW = "#264653", "#8ab17d", "#e76f51", "#2a9d8f"
METRICS = (("precision", "#264653"), ("recall", "#e9c46a"), ("f1", "#e76f51"))


def write_tuning(tuning: Tuning, run: Run, out_dir: str | Path) -> Path:
    """Write tuning.html, tuning.json and suggested.toml atomically into `out_dir`."""
    out = Path(out_dir)
    write_text(out / "tuning.json", json.dumps(tuning.data, indent=2, allow_nan=False) + "\n")
    changes = tuning.data.get("suggestion", {}).get("changes", [])
    write_text(out / "suggested.toml", mark_changes(cfg.dumps(tuning.config), changes))
    write_text(out / "tuning.html", render_tuning(tuning, run))
    return out


def render_tuning(tuning: Tuning, run: Run) -> str:
    """tuning.html as one self-contained document (inline CSS and SVG, no script)."""
    data = tuning.data
    moved = _moved(data)
    parts = [acceptance(data), suggestion(data), keep_rates(data["sweeps"], moved)]
    if "labels" in data:
        parts.append(labels(data["labels"], data["sweeps"]))
    if "extra" in data:
        extra = data["extra"]
        parts.append(
            html.section(
                extra["title"], html.para(extra["note"]), html.table(extra["header"], extra["rows"])
            )
        )
    title = f"synthgate tuning: {run.path.name}" if run.path else "synthgate tuning"
    return html.page(title, parts)


def outcome(data: dict[str, Any]) -> list[str]:
    """What applying suggested.toml changes, checked by the gate itself: each changed bound with
    the rows it alone flips, acceptance before and after, and the warnings."""
    found = data.get("suggestion")
    if not found or not found["changes"]:
        return []
    acc = found["acceptance"]
    rows = [
        [c["knob"], c["old"], c["new"], c["direction"], c["rows_changed"]] for c in found["changes"]
    ]
    parts = [
        html.table(
            ["bound", "old", "new", "", "rows that change outcome (this bound alone)"], rows
        ),
        html.para(
            f"Accepted after regate: {acc['before']:,} -> {acc['after']:,} of {acc['rows']:,} rows."
        ),
    ]
    parts += [html.para(f"Warning: {w}", "note") for w in found["warnings"]]
    return parts


def _moved(data: dict[str, Any]) -> dict[str, float | int]:
    """knob -> suggested bound, for the knobs a suggestion moved."""
    found = data.get("target_acceptance") or data.get("target_precision") or {}
    return {c["knob"]: c["new"] for c in found.get("changes", [])}


def acceptance(data: dict[str, Any]) -> str:
    """Acceptance now, without the unique step, over the reachable range; flag effects."""
    o = data["overview"]
    rows = [
        ["rows", o["rows"]],
        ["accepted by the run", o["run_accepted"]],
        ["joint keep-rate at the config's thresholds", o["joint_keep_rate"]],
        ["keep-rate without the unique step", o["without_unique"]],
        ["keep-rate with every numeric bound at its loosest", o["loosest"]],
        ["keep-rate with every numeric bound at its tightest", o["tightest"]],
    ]
    fixed = [[f["check"], f["rejects"], f["with"], f["without"]] for f in data["fixed"]]
    parts = [html.table(["", "value"], rows)]
    if fixed:
        parts += [
            html.para("Checks that are not swept (flags, missing values): on and off.", "note"),
            html.table(["check", "rows it rejects", "keep-rate with it", "without it"], fixed),
        ]
    return html.section("Acceptance", *parts, anchor="acceptance")


def suggestion(data: dict[str, Any]) -> str:
    """The suggested thresholds and what they reach."""
    if "target_acceptance" in data:
        t = data["target_acceptance"]
        said = (
            f"Target acceptance {t['target']:g}: {t['acceptance']:.4g} reached "
            f"({t['accepted']:,} rows; {t['before']:.4g} before), "
            f"{t['total_change']:.4g} quantile units of change in all."
        )
        if "labels" in t:
            got = {k: html.fmt(t["labels"][k]["value"]) for k in ("precision", "recall")}
            said += f" On the judged rows: precision {got['precision']}, recall {got['recall']}."
    elif "target_precision" in data:
        t = data["target_precision"]
        got = {k: html.fmt(t["labels"][k]["value"]) for k in ("precision", "recall")}
        said = (
            f"Target precision {t['target']:g} on the judged rows: precision {got['precision']}, "
            f"recall {got['recall']}, acceptance {t['acceptance']:.4g}; "
            f"{t['total_change']:.4g} quantile units of change in all."
        )
    else:
        note = "No target asked: suggested.toml is the run's config."
        if "suggested_by" in data:
            note = f"suggested.toml holds the thresholds chosen by {data['suggested_by']} (below)."
        return html.section(
            "Suggestion", html.para(note, "note"), *outcome(data), anchor="suggestion"
        )
    rows = [
        [c["knob"], c["old"], c["new"], c["old_quantile"], c["new_quantile"], c["change"]]
        for c in t["changes"]
    ]
    header = ["bound", "old", "new", "share rejected (old)", "(new)", "change (quantile units)"]
    unit = (
        "A quantile unit is the share of a column's values that cross the bound. "
        "`synthgate regate RUN --config suggested.toml --out NEW` applies the suggestion."
    )
    if data.get("frozen"):
        unit += f" Held where they are (--freeze, hard rules): {', '.join(data['frozen'])}."
    return html.section(
        "Suggestion",
        html.para(said),
        html.table(header, rows),
        html.para(unit, "note"),
        *outcome(data),
        anchor="suggestion",
    )


def keep_rates(sweeps: list[dict[str, Any]], moved: dict[str, float | int]) -> str:
    """Per knob: a summary row, a small curve, and every sweep point folded away."""
    rows = []
    for s in sweeps:
        now = next(p for p in s["points"] if p["current"])
        ends = s["points"][0]["joint"], s["points"][-1]["joint"]
        rows.append(
            [
                s["knob"],
                s["current"],
                s["current_quantile"],
                now["alone"],
                now["joint"],
                min(ends),
                max(ends),
            ]
        )
    header = [
        "bound",
        "current",
        "share rejected",
        "keep-rate (bound alone)",
        "joint keep-rate",
        "lowest joint",
        "highest joint",
    ]
    plots = "".join(_keep_plot(s, moved.get(s["knob"])) for s in sweeps)
    detail = "".join(_detail(s) for s in sweeps)
    note = (
        "Each bound swept over its column's quantiles (0 to 1 by 0.025) with every other rule "
        "and the unique step as configured: the joint keep-rate. Dashed: the bound alone."
    )
    return html.section(
        "Keep-rate per bound",
        html.para(note, "note"),
        html.table(header, rows),
        f"<div class='grid'>{plots}</div>",
        detail,
        anchor="sweeps",
    )


def _keep_plot(sweep: dict[str, Any], new: float | int | None) -> str:
    x = [p["threshold"] for p in sweep["points"]]
    fig = html.figure(3.4, 2.3)
    ax = fig.add_subplot()
    joint = [p["joint"] for p in sweep["points"]]
    ax.plot(x, joint, color=JOINT, marker=".", ms=3, lw=1.2, label="joint")
    ax.plot(x, [p["alone"] for p in sweep["points"]], color=ALONE, ls="--", lw=1, label="alone")
    ax.axvline(sweep["current"], color=MARK, lw=1)
    if new is not None:
        ax.axvline(new, color=NEW, lw=1, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(sweep["knob"], fontsize=9)
    ax.set_ylabel("keep-rate", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="best")
    caption = f"{sweep['knob']}: current {html.fmt(sweep['current'])}"
    return html.svg(fig, caption + (f", suggested {html.fmt(new)}" if new is not None else ""))


def _detail(sweep: dict[str, Any]) -> str:
    header = ["threshold", "share rejected", "alone", "joint"]
    with_labels = "labels" in sweep["points"][0]
    if with_labels:
        header += ["precision", "95% CI", "recall", "95% CI", "F1", "95% CI"]
    rows = []
    for p in sweep["points"]:
        row = [p["threshold"], p["quantile"], p["alone"], p["joint"]]
        if with_labels:
            for name, _ in METRICS:
                low, high = p["labels"][name]["ci"]
                row += [p["labels"][name]["value"], f"{html.fmt(low)} – {html.fmt(high)}"]
        rows.append(row + (["current"] if p["current"] else [""]))
    table = html.table([*header, ""], rows)
    return f"<details><summary>{html.esc(sweep['knob'])}: every point</summary>{table}</details>"


def labels(found: dict[str, Any], sweeps: list[dict[str, Any]]) -> str:
    """Counts of the judgements, metrics at the config, and P/R/F1 curves per knob."""
    now = found["current"]
    counts = (
        f"{found['judged']:,} judged rows ({found['good']:,} good, {found['bad']:,} bad; "
        f"{found['not_judged']:,} left unjudged). Precision: good among accepted judged rows; "
        "recall: accepted among good judged rows; 95% percentile bootstrap intervals over "
        f"{found['resamples']:,} resamples of the judged rows (seed {found['seed']}). A sample "
        "from `synthgate sample` favours rows near a threshold, so these describe the sample."
    )
    rows = [[n, now[n]["value"], *now[n]["ci"]] for n, _ in METRICS]
    plots = "".join(_label_plot(s) for s in sweeps)
    return html.section(
        "Human judgements",
        html.para(counts, "note"),
        html.table(["at the config", "value", "95% CI low", "high"], rows),
        f"<div class='grid'>{plots}</div>",
        anchor="labels",
    )


def _label_plot(sweep: dict[str, Any]) -> str:
    x = [p["threshold"] for p in sweep["points"]]
    fig = html.figure(3.4, 2.3)
    ax = fig.add_subplot()
    for name, color in METRICS:
        y = [_nan(p["labels"][name]["value"]) for p in sweep["points"]]
        low = [_nan(p["labels"][name]["ci"][0]) for p in sweep["points"]]
        high = [_nan(p["labels"][name]["ci"][1]) for p in sweep["points"]]
        ax.fill_between(x, low, high, color=color, alpha=0.15, lw=0)
        ax.plot(x, y, color=color, lw=1.2, label=name)
    ax.axvline(sweep["current"], color=MARK, lw=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(sweep["knob"], fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="lower left")
    return html.svg(fig, f"{sweep['knob']}: precision, recall, F1 with 95% bands")


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value
