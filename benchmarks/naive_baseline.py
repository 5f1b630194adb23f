"""A naive reference for synthgate's quality, repetition and dedup scorers and its default gate.

Row by row in plain Python: no polars, no vectorisation, no MinHash and no LSH. Near duplicates
are found by the exact Jaccard of character-shingle sets, each candidate against every real row
and every other candidate (quadratic). `benchmarks/bench_score.py` times it against
`synthgate.score` and measures how often the two agree.

Where Python and synthgate's Rust regexes differ, this file follows the Rust meaning:
whitespace is Unicode White_Space (`str.isspace` also counts U+001C..U+001F), and an alphabetic
character is a letter or a letter number (Nl). Rust's Alphabetic also holds Other_Alphabetic
(some combining marks and circled letters), which Python cannot name; text such as SMS never
meets it. The repetition functions are synthgate's own: they are row-by-row Python already.
"""

from __future__ import annotations

import html
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from synthgate.config import merge_config
from synthgate.scorers import SCORERS
from synthgate.scorers.minhash import shingles
from synthgate.scorers.repetition import (
    _STRIP,
    DUP_NS,
    TOP_NS,
    compression_ratio,
    dup_lines,
    dup_ngram_chars,
    loops,
    top_ngram_chars,
)

LEXICAL = ("quality", "repetition", "dedup")
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_MAD_TO_SIGMA = 0.6745
_MIN_MAD = 0.01
_RUST_HEX = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")


# ---- quality ---------------------------------------------------------------------------------


@dataclass
class RealStats:
    """What the quality checks learn from the real set (and the candidates' labels)."""

    log_len_median: float
    log_len_mad: float
    label_echo: re.Pattern[str] | None
    artifacts: list[re.Pattern[str]]


def python_regex(rust: str) -> str:
    """A Rust-syntax pattern of synthgate's artifact list in Python syntax (`\\x{FFFD}`)."""
    return _RUST_HEX.sub(lambda m: f"\\U{int(m.group(1), 16):08x}", rust)


def fit_real(real: list[dict], candidates: list[dict], patterns: list[str]) -> RealStats:
    logs = [math.log1p(len(row.get("text") or "")) for row in real]
    median = statistics.median(logs) if logs else 0.0
    mad = statistics.median(abs(x - median) for x in logs) if logs else 0.0
    labels = sorted(
        {
            row["label"]
            for row in [*real, *candidates]
            if row.get("label") is not None and row["label"].strip()
        }
    )
    echo = None
    if labels:
        names = "|".join(re.escape(label.strip()) for label in labels)
        echo = re.compile(rf"(?i)^\s*(?:label\s*[:=]\s*)?(?:{names})\s*[:|=]")
    compiled = [re.compile(python_regex(p)) for p in patterns]
    return RealStats(median, max(mad, _MIN_MAD), echo, compiled)


def is_alphabetic(ch: str) -> bool:
    return ch.isalpha() or unicodedata.category(ch) == "Nl"


def count_words(text: str) -> int:
    """Runs of non-whitespace characters (Rust `\\S+`)."""
    count, inside = 0, False
    for ch in text:
        word_char = ch not in WHITESPACE
        count += word_char and not inside
        inside = word_char
    return count


def quality(text: str, stats: RealStats) -> dict[str, Any]:
    non_space = sum(ch not in WHITESPACE for ch in text)
    alpha = sum(is_alphabetic(ch) for ch in text)
    return {
        "quality_invalid": non_space == 0,
        "quality_words": count_words(text),
        "quality_chars": len(text),
        "quality_alpha_frac": alpha / non_space if non_space else None,
        "quality_length_z": _MAD_TO_SIGMA
        * (math.log(len(text) + 1.0) - stats.log_len_median)
        / stats.log_len_mad,
        "quality_artifacts": sum(len(p.findall(text)) for p in stats.artifacts),
        "quality_label_echo": bool(stats.label_echo.search(text)) if stats.label_echo else None,
    }


# ---- repetition ------------------------------------------------------------------------------


def repetition(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every repetition metric, without synthgate's no-repeated-word shortcut."""
    names = [
        "repetition_dup_line_frac",
        "repetition_dup_line_char_frac",
        *(f"repetition_top_{n}gram_frac" for n in TOP_NS),
        *(f"repetition_dup_{n}gram_frac" for n in DUP_NS),
        "repetition_loop_frac",
        "repetition_loop_repeats",
        "repetition_compression_ratio",
    ]
    words = [w for w in (t.strip(_STRIP).lower() for t in text.split()) if w]
    if not words:
        return dict.fromkeys(names)
    total = sum(len(w) for w in words)
    tops = [top_ngram_chars(words, n, params["top_ngram_min_count"]) / total for n in TOP_NS]
    dups = [dup_ngram_chars(words, n, params["dup_ngram_min_count"]) / total for n in DUP_NS]
    loop = loops(words, params["loop_max_span"], params["loop_min_repeats"])
    values = [*dup_lines(text), *tops, *dups, *loop, compression_ratio(text)]
    return dict(zip(names, values, strict=True))


# ---- dedup -----------------------------------------------------------------------------------


def normalize(text: str | None) -> str:
    """synthgate.text.normalize for one string: entities, NFKC, case, punctuation, spaces."""
    text = text or ""
    if "&" in text:
        for _ in range(3):
            decoded = html.unescape(text)
            if decoded == text:
                break
            text = decoded
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PS")
    parts, word = [], []
    for ch in text:
        if ch in WHITESPACE:
            if word:
                parts.append("".join(word))
                word = []
        else:
            word.append(ch)
    if word:
        parts.append("".join(word))
    return " ".join(parts)


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if inter else 0.0


def first_by_key(keys: Iterable[str]) -> dict[str, int]:
    """Each distinct non-empty key and the index of its first row."""
    out: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key and key not in out:
            out[key] = i
    return out


def best_real(node: set[bytes], real_sets: list[set[bytes]]) -> tuple[float, int]:
    """Highest exact Jaccard to a real row and its position (the first of ties; -1 if 0)."""
    best, where = 0.0, -1
    for j, other in enumerate(real_sets):
        score = jaccard(node, other)
        if score > best:
            best, where = score, j
    return best, where


def clusters(sets: list[set[bytes]], threshold: float) -> list[int]:
    """Each node's cluster: the smallest node joined to it by a chain of Jaccard >= threshold."""
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            if jaccard(sets[i], sets[j]) >= threshold:
                a, b = root(i), root(j)
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(sets))]


def dedup(cands: list[dict], real: list[dict], params: dict[str, Any]) -> list[dict[str, Any]]:
    size = params["shingle_size"]
    keys = [normalize(row.get("text")) for row in cands]
    real_keys = [normalize(row.get("text")) for row in real]
    reals = first_by_key(real_keys)  # key -> first real row
    real_pos = {key: pos for pos, key in enumerate(reals)}
    real_rows = list(reals.values())
    real_sets = [shingles(k, size) for k in reals]
    nodes = first_by_key(keys)  # key -> first candidate row
    node_sets = [shingles(k, size) for k in nodes]
    node_of = {key: n for n, key in enumerate(nodes)}
    firsts = list(nodes.values())
    reps = clusters(node_sets, params["near_threshold"])
    out = []
    for row, key in zip(cands, keys, strict=True):
        if not key:
            out.append(_no_key(row["id"]))
            continue
        n = node_of[key]
        exact = key in real_pos
        jac, where = (1.0, real_pos[key]) if exact else best_real(node_sets[n], real_sets)
        out.append(
            {
                "dedup_real_exact": exact,
                "dedup_real_jaccard": jac,
                "dedup_real_match": real[real_rows[where]]["id"] if where >= 0 else None,
                "dedup_cluster": cands[firsts[reps[n]]]["id"],
            }
        )
    sizes = Counter(r["dedup_cluster"] for r in out)
    for r in out:
        r["dedup_cluster_size"] = sizes[r["dedup_cluster"]]
    return out


def _no_key(row_id: str) -> dict[str, Any]:
    return {
        "dedup_real_exact": None,
        "dedup_real_jaccard": None,
        "dedup_real_match": None,
        "dedup_cluster": row_id,
    }


# ---- gate ------------------------------------------------------------------------------------


def failures(column: str, value: Any, rule: dict[str, Any]) -> list[str]:
    """Reasons one rule gives one value (synthgate.gate.Rule.failures, row by row)."""
    if value is None:
        return [f"{column}:missing"] if rule["on_missing"] == "reject" else []
    out = []
    low, high = rule.get("min"), rule.get("max")
    if isinstance(high, bool):
        if value and not high:
            out.append(column)
    elif high is not None and value > high:
        out.append(f"{column}>{high:g}")
    if isinstance(low, bool):
        if not value and low:
            out.append(f"not:{column}")
    elif low is not None and value < low:
        out.append(f"{column}<{low:g}")
    return out


def gate(rows: list[dict[str, Any]], conf: dict[str, Any]) -> None:
    """Add `reasons` and `accepted` in place: the rules, then keep the first of each cluster."""
    for row in rows:
        row["reasons"] = [
            reason
            for column, rule in conf["gate"]["rules"].items()
            if rule["enabled"] and column in row
            for reason in failures(column, row[column], rule)
        ]
    unique = conf["gate"]["unique"]
    if unique["prefer"]:
        raise NotImplementedError("naive gate: only the default unique step (first in order)")
    if unique["enabled"]:
        keeper: dict[str, str] = {}
        for row in rows:
            if not row["reasons"]:
                kept = keeper.setdefault(row[unique["column"]], row["id"])
                if kept != row["id"]:
                    row["reasons"] = [f"duplicate_of:{kept}"]
    for row in rows:
        row["accepted"] = not row["reasons"]


# ---- all together ----------------------------------------------------------------------------


def lexical_config() -> dict[str, Any]:
    """The default config with only the model-free scorers of this baseline: quality,
    repetition and lexical dedup."""
    tables: dict[str, dict[str, Any]] = {n: {"enabled": n in LEXICAL} for n in SCORERS}
    tables["dedup"]["semantic"] = False
    return merge_config({"scorers": tables})


def naive_score(candidates: list[dict], real: list[dict]) -> list[dict]:
    """Score and gate every candidate under the default config: id, every metric, `reasons`,
    `accepted`, one dict per candidate in input order. Rows without `id` get their index, real
    rows without one `real:<index>`, as synthgate does."""
    conf = lexical_config()
    scorers = conf["scorers"]
    cands = [{**row, "id": str(row.get("id", i))} for i, row in enumerate(candidates)]
    reals = [{**row, "id": str(row.get("id", f"real:{i}"))} for i, row in enumerate(real)]
    stats = fit_real(reals, cands, scorers["quality"]["artifact_patterns"])
    near = dedup(cands, reals, scorers["dedup"])
    rows = []
    for row, dup in zip(cands, near, strict=True):
        text = row.get("text") or ""
        rows.append(
            {
                "id": row["id"],
                **quality(text, stats),
                **repetition(text, scorers["repetition"]),
                **dup,
            }
        )
    gate(rows, conf)
    return rows
