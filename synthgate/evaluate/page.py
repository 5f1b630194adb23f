"""evaluation.json and evaluation.html: the downstream comparison as data, a table and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from synthgate import html
from synthgate.errors import SynthgateError
from synthgate.evaluate.classifier import describe_c
from synthgate.evaluate.inputs import overlap_lines
from synthgate.io.files import write_text

JSON_FILE = "evaluation.json"
HTML_FILE = "evaluation.html"
METRIC_NAMES = {"micro_f1": "micro F1", "macro_f1": "macro F1", "weighted_f1": "weighted F1"}
IDS_SHOWN = 50


def write_pages(data: dict[str, Any], out: Path) -> Path:
    """evaluation.json and evaluation.html in `out`; returns `out`."""
    if out.exists() and not out.is_dir():
        raise SynthgateError(f"{out}: exists and is not a directory")
    write_text(out / JSON_FILE, json.dumps(data, indent=2) + "\n")
    write_text(out / HTML_FILE, render(data))
    return out


def pm(stat: dict[str, Any]) -> str:
    """`mean ± std` with three decimals."""
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def render(data: dict[str, Any]) -> str:
    """The evaluation page: a self-contained HTML document."""
    rows = data["rows"]
    intro = (
        f"Run {data['run'] or '(in memory)'}: {rows['candidates']:,} candidates, "
        f"{rows['accepted']:,} accepted. Trained on {data['train']} ({rows['train']:,} rows), "
        f"scored on {data['test']} ({rows['test']:,} rows) with {data['classifier']} "
        f"(text: {data['columns']['text']}, label: {data['columns']['label']}), "
        f"{data['seeds']} seeds (mean ± sample std over seeds). Every condition trains on every "
        "real training row once; all and accepted add each of their candidates once. A seed "
        "varies only what is random: the subset drawn for random, the duplicates drawn for "
        "oversample, and the classifier's random_state."
    )
    body = [
        html.para(intro),
        html.para(describe_c(data["regularisation"], data["train"])),
        *([html.para(spread_note(data), cls="note")] if spread_note(data) else []),
        *[html.para(w, cls="note") for w in warnings(data)],
        html.section(
            "Scores on the real test set",
            _scores_table(data),
            *_verdict(data),
            _plot(data),
        ),
        html.section("Recall per class", _recall_table(data)),
        html.section("Leakage", *_leakage(data)),
    ]
    return html.page("synthgate evaluation", body)


def spread_note(data: dict[str, Any]) -> str:
    """Why some conditions show a std of 0 (said, so a 0 is not read as stability)."""
    if not data.get("deterministic_classifier") or data["seeds"] < 2:
        return ""
    return (
        f"{data['classifier']} is deterministic (lbfgs ignores random_state) and "
        f"{', '.join(data['same_rows_every_seed'])} train on the same rows for every seed: "
        "each is one fit, and its std of 0 is by construction, not a measure of stability. "
        "Only oversample and random vary with the seed; their std is the spread of those draws."
    )


def warnings(data: dict[str, Any]) -> list[str]:
    """Lines a reader must see before trusting the table."""
    out = []
    if data["rows"]["accepted_used"] == 0:
        out.append(
            "No accepted candidate is usable: 'accepted' and 'random' train on real rows only."
        )
    dropped = data["dropped_candidates"]
    unknown = dropped["unknown_label"]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items()))
        out.append(
            f"{sum(unknown.values())} candidates carry a label the train set lacks and are left "
            f"out of every training set: {listed}."
        )
    if dropped["unlabelled"]:
        out.append(f"{dropped['unlabelled']} candidates have no label and are left out.")
    unseen = data["unseen_test_labels"]
    if unseen:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(unseen.items()))
        out.append(f"Test labels never seen in the train set (recall 0 by construction): {listed}.")
    leaked = data["leakage"]["all"]["test_rows"]
    if leaked:
        out.append(f"{leaked} test rows are duplicated by candidates (see Leakage).")
    out += overlap_lines(data.get("overlap"))
    return out


def _scores_table(data: dict[str, Any]) -> str:
    header = ["condition", "training set", "train rows", "candidate rows"]
    header += list(METRIC_NAMES.values())
    rows = []
    for name, cond in data["conditions"].items():
        rows.append(
            [
                name,
                cond["description"],
                round(float(np.mean(cond["train_rows"]))),
                round(float(np.mean(cond["candidate_rows"]))),
                *(pm(cond["metrics"][m]) for m in METRIC_NAMES),
            ]
        )
    return html.table(header, rows)


def _recall_table(data: dict[str, Any]) -> str:
    labels = data["labels"]
    rows = [
        [name, *(pm(cond["recall"][lab]) for lab in labels)]
        for name, cond in data["conditions"].items()
    ]
    return html.table(["condition", *labels], rows)


def _plot(data: dict[str, Any]) -> str:
    """Grouped bars: one group per condition, one bar per F1 average, std as error bars."""
    names = list(data["conditions"])
    fig = html.figure(7.5, 3.4)
    ax = fig.add_subplot()
    width = 0.8 / len(METRIC_NAMES)
    x = np.arange(len(names))
    for i, (key, label) in enumerate(METRIC_NAMES.items()):
        stats = [data["conditions"][n]["metrics"][key] for n in names]
        ax.bar(
            x + (i - (len(METRIC_NAMES) - 1) / 2) * width,
            [s["mean"] for s in stats],
            width,
            yerr=[s["std"] for s in stats],
            capsize=3,
            label=label,
        )
    low = min(data["conditions"][n]["metrics"][k]["mean"] for n in names for k in METRIC_NAMES)
    ax.set_ylim(max(0.0, low - 0.1), 1.05)  # differences of a few points must be visible
    ax.set_xticks(x, names)
    ax.set_ylabel("score on the real test set")
    ax.legend(loc="upper center", ncols=len(METRIC_NAMES), fontsize="small")
    return html.svg(fig, "mean over seeds; error bars: sample std")


def describe_comparison(c: dict[str, Any]) -> str:
    """`+0.013 (3/3 seeds; spread 0.004: clear)`: a paired difference against its spread."""
    if c["clear"] is None:
        judged = "one fit each, no seed spread" if c["seeds"] > 1 else "one seed, no spread"
    else:
        judged = f"spread {c['spread']:.3f}: {'clear' if c['clear'] else 'within the spread'}"
    return f"{c['difference']:+.3f} ({c['wins']}/{c['seeds']} seeds; {judged})"


def verdict_rows(data: dict[str, Any]) -> list[list[str]]:
    """Per metric: the winner, its lead over the next, accepted against each baseline."""
    rows = []
    for metric, v in data.get("verdict", {}).items():
        rows.append(
            [
                metric.replace("_", " "),
                f"{v['best']} ({describe_comparison(v['over_next'])} over "
                f"{v['over_next']['baseline']})",
                *[describe_comparison(c) for c in v["accepted_vs"]],
            ]
        )
    return rows


def _verdict(data: dict[str, Any]) -> list[str]:
    rows = verdict_rows(data)
    if not rows:
        return []
    return [
        html.table(
            [
                "metric",
                "best condition",
                "accepted − all",
                "accepted − oversample",
                "accepted − real",
            ],
            rows,
        ),
        html.para(
            "Differences are paired by seed: the mean of the per-seed differences, the seeds on "
            "which accepted (or the best) scored higher, and the std of the per-seed differences. "
            "A difference within the spread is not a finding.",
            cls="note",
        ),
    ]


def _leakage(data: dict[str, Any]) -> list[str]:
    leak = data["leakage"]
    parts = [
        html.table(
            ["candidates", "test rows duplicated", "candidate rows that duplicate them"],
            [[k, v["test_rows"], v["candidate_rows"]] for k, v in leak.items()],
        ),
        html.para(
            "Same normalisation as dedup: HTML entities decoded, NFKC, lower case, punctuation "
            "removed, whitespace collapsed. A leaked test row inflates the conditions that "
            "train on candidates.",
            cls="note",
        ),
    ]
    ids = leak["all"]["test_ids"]
    if ids:
        more = f" … and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else ""
        parts.append(html.para("Test ids: " + ", ".join(ids[:IDS_SHOWN]) + more))
    return parts
