"""report.html: the audit page of a run. One self-contained document (inline CSS and SVG, no
script, no external URL) that says what produced the run, what the gate did and why."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthgate import html
from synthgate.config import gate_for
from synthgate.gate import Gate, format_bound
from synthgate.io.rundir import Run
from synthgate.report.generation import generation
from synthgate.report.plots import co_rejection, count_bars, distributions, share_bars
from synthgate.report.rows import NEAR_NOTE, examples, family_rejections, near_for

SECTIONS = (  # the decision first, then what a person tunes from, the record last
    ("acceptance", "What was kept, and why the rest was not"),
    ("rules", "Rules"),
    ("scores", "Each rule: its histogram and the rows either side of its thresholds"),
    ("examples", "Rejected rows, grouped by what rejected them"),
    ("co-rejection", "Co-rejection"),
    ("novelty", "Novelty against the real set"),
    ("discriminator", "Discriminator"),
    ("diversity", "Diversity"),
    ("manifest", "Run"),
)
OPEN = {"acceptance"}  # every other section is folded until clicked
GENERATION = ("generation", "Generation yield")
"""The section a generated run (`synthgate run`) adds after the decision."""
UNRECORDED = "(not recorded)"


def render_report(run: Run) -> str:
    """The run's audit page as one self-contained HTML document."""
    gate = gate_for(run.config, run.frame)
    unique = gate.unique.column if gate.unique else None
    parts = {
        "manifest": manifest(run),
        "acceptance": acceptance(run.report, family_rejections(run)),
        "rules": rules(run.report, gate),
        "scores": [
            html.para(NEAR_NOTE),
            *distributions(run, gate.rules, near_for(run, gate.rules)),
        ],
        "co-rejection": co_rejection(run.report),
        "examples": examples(run, unique),
        "novelty": novelty(run),
        "discriminator": discriminator(run.report),
        "diversity": diversity(run.report),
    }
    title = f"synthgate run: {run.path.name}" if run.path else "synthgate run report"
    sections = list(SECTIONS)
    if "generation" in run.report:
        parts["generation"] = generation(run.report)
        sections.insert(1, GENERATION)
    body = [navigation(sections)]
    body += [
        html.section(name, *parts[anchor], anchor=anchor, folded=anchor not in OPEN)
        for anchor, name in sections
    ]
    return html.page(title, body)


def navigation(sections: list[tuple[str, str]] | None = None) -> str:
    """A list of links to the page's sections (default: every section)."""
    links = "".join(
        f"<li><a href='#{a}'>{html.esc(name)}</a></li>" for a, name in sections or SECTIONS
    )
    return f"<nav><ul>{links}</ul></nav>"


def manifest(run: Run) -> list[str]:
    """What produced the run: versions, device, seed, config hash, inputs, timings."""
    rec = run.record
    seed = rec.get("seed", run.config.get("seed"))
    roles = ", ".join(f"{role}: {col}" for role, col in run.columns.items() if col)
    facts = [
        ("synthgate version", rec.get("synthgate_version")),
        ("created", rec.get("created")),
        ("device", rec.get("device")),
        ("seed", None if seed is None else str(seed)),
        ("config sha256", rec.get("config_sha256")),
        ("python", rec.get("python")),
        ("platform", rec.get("platform")),
        ("run directory", str(run.path) if run.path else None),
        ("columns", roles or None),
        ("regated", _regated(rec.get("regated_from"))),
    ]
    rows = [(k, UNRECORDED if v is None else v) for k, v in facts]
    return [html.table(["", "value"], rows), *record_tables(rec)]


def record_tables(rec: dict[str, Any]) -> list[str]:
    """The run record's inputs (path, sha256, rows), library versions and timings."""
    inputs = rec.get("inputs") or {}
    out = ["<h3>Inputs</h3>"]
    if inputs:
        body = [(k, i.get("path"), i.get("sha256"), i.get("rows")) for k, i in inputs.items()]
        out.append(html.table(["input", "path", "sha256", "rows"], body))
    else:
        out.append(html.para("No input files recorded (a run built in code).", "note"))
    libraries = rec.get("libraries") or {}
    if libraries:
        body = [(k, v or "not installed") for k, v in libraries.items()]
        out += ["<h3>Libraries</h3>", html.table(["library", "version"], body)]
    timings = rec.get("timings_s") or {}
    if timings:
        out += ["<h3>Timings</h3>", html.table(["step", "seconds"], list(timings.items()))]
    return out


def _regated(source: dict[str, Any] | None) -> str:
    if not source:
        return "no: gated when scored"
    return (
        f"yes: re-gated from {source.get('path') or 'a run in memory'} "
        f"(its config sha256 {source.get('config_sha256') or UNRECORDED})"
    )


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def acceptance(
    report: dict[str, Any], families: list[tuple[str, int, int]] | None = None
) -> list[str]:
    """The decision: kept overall and per label (numbers and bars), rejections per rule."""
    rows, acc, rej = report["rows"], report["accepted"], report["rejected"]
    out = [
        html.para(f"Kept {acc:,} of {rows:,} candidates ({_rate(acc, rows)}); rejected {rej:,}."),
        *acceptance_bars(report),
        *rejection_bars(report, families),
        html.table(
            ["rows", "accepted", "rejected", "acceptance rate"],
            [(rows, acc, rej, _rate(acc, rows))],
        ),
    ]
    if acc == 0 or rej == 0:
        what = "accepted: every row failed at least one rule" if acc == 0 else "rejected"
        out.append(html.para(f"No row was {what}.", "note"))
    by_label = report.get("acceptance_by_label") or {}
    if not by_label:
        return [*out, html.para("The candidates have no labels.", "note")]
    body = [
        (
            label,
            e["rows"],
            e["accepted"],
            e["rows"] - e["accepted"],
            _rate(e["accepted"], e["rows"]),
        )
        for label, e in by_label.items()
    ]
    out.append("<h3>Per label</h3>")
    out.append(html.table(["label", "rows", "accepted", "rejected", "acceptance rate"], body))
    return out


def acceptance_bars(report: dict[str, Any]) -> list[str]:
    """One bar per label (and overall): accepted and rejected shares."""
    by_label = report.get("acceptance_by_label") or {}
    bars = [("all", report["accepted"], report["rows"])]
    bars += [(str(k), e["accepted"], e["rows"]) for k, e in by_label.items()]
    if not report["rows"]:
        return []
    return [html.inline_figure(share_bars(bars), "accepted (left) and rejected rows, per label")]


def rejection_bars(report: dict[str, Any], families: list | None) -> list[str]:
    """Rows each rule (or family) rejected, and (darker) rows it alone rejected, most first."""
    if not families:
        return []
    return [
        html.inline_figure(
            count_bars(families, report["rows"]),
            "rows rejected by each rule (light) and by that rule alone (dark); "
            "the Gopher repetition rules are counted as one family",
        )
    ]


def _bound(value: float | bool | None, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # a flag: max = false rejects rows where it is true
        return f"{str(value).lower()} (flag)" if kind == "max" else str(value).lower()
    return format_bound(value)


RULES_NOTE = (
    "A row is rejected when any rule fails, and every failing rule is recorded. 'Rejected only "
    "by' counts the rows this rule alone rejected: loosening that one rule alone would recover "
    "exactly those rows. 'Skipped' counts rows whose value was null and that the rule let "
    "through (on_missing = 'skip')."
)


def rules(report: dict[str, Any], gate: Gate) -> list[str]:
    """Per rule: thresholds, rows it rejected, rows it alone rejected, rows it skipped."""
    body = rule_rows(report, gate)
    header = ["rule", "min", "max", "on missing", "rejected by", "rejected only by", "skipped"]
    out = [html.para(RULES_NOTE)]
    if body:
        out.append(html.table(header, body))
    else:
        out.append(html.para("No rule is enabled: every row is accepted.", "note"))
    inactive = report.get("inactive_rules") or []
    if inactive:
        out.append(html.para("Inactive (their scorer did not run): " + ", ".join(inactive), "note"))
    reasons = report.get("rejected_by_reason") or {}
    if reasons:
        out.append("<h3>Rejections per reason</h3>")
        out.append(html.table(["reason", "rows"], list(reasons.items())))
    return out


def rule_rows(report: dict[str, Any], gate: Gate) -> list[list[Any]]:
    """One row per rule (and the unique step): bounds, on_missing, rejected, only, skipped."""
    by, only = report.get("rejected_by_rule", {}), report.get("rejected_only_by_rule", {})
    skipped = report.get("skipped_by_rule", {})
    body: list[list[Any]] = []
    for r in gate.rules:
        bounds = [_bound(r.min, "min"), _bound(r.max, "max"), r.on_missing]
        body.append([r.column, *bounds, by.get(r.column, 0), only.get(r.column, 0)])
        body[-1].append(skipped.get(r.column, ""))
    if gate.unique is not None:
        keep = f"one per {gate.unique.column}"
        body.append(["unique", keep, "", "", by.get("unique", 0), only.get("unique", 0), ""])
    known = {r.column for r in gate.rules} | {"unique"}
    body += [[k, "", "", "", v, only.get(k, 0), ""] for k, v in by.items() if k not in known]
    return body


NOVELTY = "dedup_semantic_real_cosine"


def novelty(run: Run) -> list[str]:
    """How close candidates are to their nearest real row, beside how close real rows are to
    each other: the yardstick for a near-copy threshold, which the default gate does not set."""
    reference = ((run.report.get("scorers") or {}).get("dedup") or {}).get("real_nearest_cosine")
    if not reference or not reference.get("rows") or NOVELTY not in run.frame.columns:
        return [html.para("No semantic nearest-neighbour search ran in this run.", "note")]
    names = [k for k in reference if k.startswith("p")]
    cosine = run.frame[NOVELTY].cast(pl.Float64)
    accepted = run.frame["accepted"].fill_null(False)
    body = [["real rows: nearest other real row", reference["rows"], *map(reference.get, names)]]
    for label, values in (
        ("candidates: nearest real row", cosine),
        ("accepted", cosine.filter(accepted)),
    ):
        found = values.drop_nulls()
        body.append([label, found.len(), *(_quantile(found, k) for k in names)])
    top = reference[names[-1]]
    closer = [
        f"{int((values.drop_nulls() >= top).sum()):,} of {values.drop_nulls().len():,} {label}"
        for label, values in (("candidates", cosine), ("accepted rows", cosine.filter(accepted)))
    ]
    intro = html.para(
        f"Cosine of each candidate's embedding to its nearest real row ({NOVELTY}), beside the "
        "cosine of each distinct real text to its nearest other one. Real rows of templated data "
        "sit close to each other, so closeness alone does not make a copy: exact copies are "
        "rejected (dedup_real_exact); near ones are left to you (a rule on this column or "
        "dedup_real_jaccard, set by regate or tune). At or above the real rows' "
        f"{names[-1]} ({html.fmt(top)}): {'; '.join(closer)}."
    )
    return [intro, html.table(["rows", "count", *names], body)]


def _quantile(values: pl.Series, name: str) -> float | None:
    if not values.len():
        return None
    return round(float(values.quantile(int(name[1:]) / 100, "linear")), 4)


def discriminator(report: dict[str, Any]) -> list[str]:
    """The discriminator's dataset-level ROC-AUC, explained."""
    found = (report.get("scorers") or {}).get("discriminator")
    if not found:
        return [html.para("The discriminator scorer did not run.", "note")]
    if "roc_auc" not in found:
        return [html.para(str(found.get("skipped", "The discriminator reported no ROC-AUC.")))]
    explain = html.para(
        "A classifier trained to tell candidates from real rows, scored out of fold over every "
        "candidate (before gating). ROC-AUC 0.5 means real and synthetic rows are "
        "indistinguishable; 1.0 means every candidate can be told from real text."
    )
    return [explain, html.table(["measure", "value"], list(found.items()))]


DIVERSITY_COLUMNS = (
    ("accepted", "accepted rows"),
    ("real", "real rows"),
    ("sample", "sample size"),
    ("accepted_distinct_1", "accepted distinct-1"),
    ("real_distinct_1", "real distinct-1"),
    ("accepted_distinct_2", "accepted distinct-2"),
    ("real_distinct_2", "real distinct-2"),
    ("coverage", "coverage"),
)


def diversity(report: dict[str, Any]) -> list[str]:
    """Distinct-n and coverage of the accepted set beside the real set, per label."""
    found = report.get("diversity") or {}
    if not found:
        return [html.para("No diversity was measured for this run.", "note")]
    has_coverage = any("coverage" in e for e in found.values())
    cols = [c for c in DIVERSITY_COLUMNS if c[0] != "coverage" or has_coverage]
    body = [[group, *(e.get(k) for k, _ in cols)] for group, e in found.items()]
    notes = (
        "Distinct-n is the share of distinct word n-grams among all n-grams (Li et al. 2016), "
        "measured on samples of equal size from the accepted and the real rows, since it falls "
        "as a set grows. "
    )
    notes += (
        "Coverage is the share of real rows whose 5-nearest-neighbour ball among real rows holds "
        "an accepted row (Naeem et al. 2020)."
        if has_coverage
        else "Coverage is absent: the run kept no embeddings (save_embeddings = false)."
    )
    return [html.para(notes), html.table(["group", *(name for _, name in cols)], body)]
