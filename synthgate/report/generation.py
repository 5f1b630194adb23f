"""report.html's section on a generated run: yield (accepted ÷ generated) per label and per
round, and why the rest was rejected."""

from __future__ import annotations

from typing import Any

from synthgate import html

TOP_REASONS = 3  # the most frequent reasons shown per row of the tables


def generation(report: dict[str, Any]) -> list[str]:
    """Tables per label and per round from report.json's `generation`."""
    gen = report["generation"]
    head = ["generated", "accepted", "yield", "main reasons for rejection"]
    by_label = [(label, e["quota"], *_cells(e)) for label, e in gen.get("by_label", {}).items()]
    by_round = [(n, *_cells(e)) for n, e in gen.get("by_round", {}).items()]
    out = [
        "<h3>Per label</h3>",
        html.table(["label", "quota", *head], by_label),
        "<h3>Per round</h3>",
        html.table(["round", *head], by_round),
    ]
    if "leak_holdout" in gen:
        out.append(
            html.para(f"Copies of holdout rows rejected (leak_holdout): {gen['leak_holdout']:,}.")
        )
    return out


def _cells(entry: dict[str, Any]) -> tuple[Any, ...]:
    reasons = sorted(entry["rejected_by_reason"].items(), key=lambda kv: -kv[1])[:TOP_REASONS]
    why = ", ".join(f"{reason} ({n:,})" for reason, n in reasons) or "–"
    share = "–" if entry["yield"] is None else f"{100 * entry['yield']:.1f}%"
    return entry["generated"], entry["accepted"], share, why
