"""The leakage guard: the user's held-out test rows are never a prompt source, and a candidate
equal to, or a near or semantic copy of, one of them is flagged `leak_holdout`."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthgate.progress import Progress, silent
from synthgate.resources import Resources
from synthgate.scorers import DedupScorer
from synthgate.text import normalize

LEAK_COLUMN = "leak_holdout"
LEAK_RULE = {"enabled": True, "max": False, "on_missing": "skip", "hard": True}
"""The gate rule a run with a holdout adds: a flagged row is rejected with reason leak_holdout."""


def without_holdout(real: pl.DataFrame, holdout: pl.DataFrame) -> pl.DataFrame:
    """The real rows whose normalised text is no holdout row's: the only prompt sources."""
    held = set(normalize(holdout["text"]).to_list())
    return real.filter(~normalize(real["text"]).is_in(list(held)))


def leak_flags(
    candidates: pl.DataFrame,
    holdout: pl.DataFrame,
    config: dict[str, Any],
    progress: Progress = silent,
) -> pl.Series:
    """True where a candidate's normalised text equals a holdout row's, or its MinHash
    Jaccard to one reaches `scorers.dedup.near_threshold`, or (semantic dedup on) its cosine
    reaches `semantic_threshold`: the thresholds that make two candidates one cluster."""
    table = {k: v for k, v in config["scorers"]["dedup"].items() if k != "enabled"}
    dedup = DedupScorer(**table, seed=config["seed"])
    cand = candidates.select("id", "text")
    rows = holdout.select("id", "text")
    resources = Resources(config=config, declared=dedup.needs, rows=(cand, rows), progress=progress)
    scores = dedup.fit(cand, rows, resources).score(cand)
    exact = scores["dedup_real_exact"].fill_null(False)
    near = (scores["dedup_real_jaccard"] >= dedup.near_threshold).fill_null(False)
    semantic = (scores["dedup_semantic_real_cosine"] >= dedup.semantic_threshold).fill_null(False)
    return (exact | near | semantic).alias(LEAK_COLUMN)
