"""End to end on SMS Spam: clean held-out rows pass, every planted defect fails for its reason,
and near copies of real rows (edits, rewordings) pass with their closeness recorded."""

from __future__ import annotations

import random

import plant
import polars as pl
import pytest

import synthgate

N = 25  # planted rows of each defect (the issue asks for at least 20)


def _build(sms: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(7)
    real, held = plant.holdout(sms, 0.2, seed=7)
    # off-label: held-out ham messages sent in as "spam", the case label-conditioned generation
    # fails at most (a spam sample that reads as ham); kept out of the clean rows
    ham = held.filter(pl.col("label") == "ham")["text"].to_list()
    relabelled = rng.sample(ham, N)
    held = held.filter(~pl.col("text").is_in(relabelled))
    clean = held.with_columns(kind=pl.lit("clean"))
    real_texts = real["text"].to_list()
    real_labels = real["label"].to_list()
    vocab = sorted({w for t in real_texts for w in t.split()})
    long_real = [t for t in real_texts if len(t.split()) >= 20]
    held_texts = held["text"].to_list()
    planted: list[tuple[str, str, str]] = []  # (kind, label, text)
    for t in rng.sample(real_texts, N):
        planted.append(("exact", "ham", plant.exact_copy(t, rng)))
    label_of = dict(zip(real_texts, real_labels, strict=True))
    for t in rng.sample(long_real, N):
        edits = rng.choice([2, 3])
        planted.append(("near", label_of[t], plant.near_copy(t, rng, vocab, edits=edits)))
    for t in rng.sample(held_texts, N):
        planted.append(("loop", "ham", plant.loop(t, rng)))
    for t in rng.sample(held_texts, N):
        planted.append(("artifact", "ham", plant.artifact(t, rng)))
    for i in rng.sample(range(len(real_texts)), N):
        planted.append(
            (
                "echo",
                real_labels[i],
                plant.label_echo(held_texts[i % len(held_texts)], real_labels[i]),
            )
        )
    for _ in range(N):
        planted.append(("empty", "ham", plant.empty(rng)))
    long_real_12 = [t for t in real_texts if len(t.split()) >= 12]
    for t in rng.sample(long_real_12, N):
        planted.append(("semantic", label_of[t], plant.semantic_copy(t, rng)))
    for t in relabelled:
        planted.append(("off_label", plant.off_label("ham", ["ham", "spam"], rng), t))
    defects = pl.DataFrame(planted, schema=["kind", "label", "text"], orient="row")
    # drifted "paraphrases": an unrelated held-out text given as the candidate of a real source
    # (ham from ham: two spam offers read alike whatever they sell)
    long_ham = [t for t in long_real if label_of[t] == "ham"]
    sources = rng.sample(long_ham, N)
    drift_texts = [plant.drift(src, ham, rng) for src in sources]
    held_label = dict(zip(held_texts, held["label"].to_list(), strict=True))
    drifted = pl.DataFrame(
        {
            "kind": ["drift"] * N,
            "label": [held_label[t] for t in drift_texts],  # its own label: only drift is wrong
            "text": drift_texts,
            "source": sources,
        }
    )
    # within-candidate duplicates: a changed-case copy of a clean row, after it in input order
    originals = clean.head(N).with_row_index("orig")
    dups = pl.DataFrame(
        {
            "kind": ["dup"] * N,
            "label": originals["label"],
            "text": [plant.exact_copy(t, rng) for t in originals["text"]],
            "orig": originals["orig"].cast(pl.String),
        }
    )
    candidates = pl.concat([clean, defects, drifted, dups], how="diagonal").select(
        "kind", "label", "text", "source", "orig"
    )
    return real, candidates


@pytest.fixture(scope="module")
def scored(sms: pl.DataFrame) -> pl.DataFrame:
    real, candidates = _build(sms)
    out = synthgate.score(candidates, real)
    assert out.height == candidates.height
    assert out["text"].to_list() == candidates["text"].to_list()
    return out


def test_clean_held_out_rows_are_accepted(scored: pl.DataFrame) -> None:
    clean = scored.filter(pl.col("kind") == "clean")
    assert clean.height > 800
    assert clean["accepted"].mean() >= 0.90


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("exact", "dedup_real_exact"),
        ("loop", "repetition_loop_frac>0.5"),
        ("artifact", "quality_artifacts>0"),
        ("echo", "quality_label_echo"),
        ("empty", "quality_invalid"),
        ("drift", "similarity_cosine<0.5"),
    ],
)
def test_each_planted_defect_is_rejected_for_its_reason(
    scored: pl.DataFrame, kind: str, reason: str
) -> None:
    rows = scored.filter(pl.col("kind") == kind)
    assert rows.height == N
    missed = rows.filter(~pl.col("reasons").list.contains(reason))
    assert missed.height == 0, missed.select("text", "reasons").to_dicts()[:3]
    assert not rows["accepted"].any()


def test_near_copies_are_not_exact_copies(scored: pl.DataFrame) -> None:
    near = scored.filter(pl.col("kind") == "near")
    assert not near["dedup_real_exact"].any()


def test_off_label_rows_are_rejected_below_their_labels_floor(scored: pl.DataFrame) -> None:
    """A ham message labelled spam: on SMS the classifier reads both labels, so the spam floor
    is the fixed 0.2 (scorers.label.floor_ratio), not the 1% quantile of real spam's p."""
    rows = scored.filter(pl.col("kind") == "off_label")
    assert rows.height == N
    assert rows["reasons"].list.contains("label_p_margin<0").mean() >= 0.9
    assert (rows["label_p_intended"] < 0.2).mean() >= 0.9


@pytest.mark.parametrize(
    ("kind", "column", "close"),
    [("near", "dedup_real_jaccard", 0.6), ("semantic", "dedup_semantic_real_cosine", 0.85)],
)
def test_near_and_reworded_copies_pass_with_their_closeness_recorded(
    scored: pl.DataFrame, kind: str, column: str, close: float
) -> None:
    """Issue 10: closeness alone is not a defect (edits of a real row are augmentations); it is
    recorded, beside the real rows' own closeness, for a rule that `regate` or `tune` may set."""
    rows = scored.filter((pl.col("kind") == kind) & ~pl.col("dedup_real_exact"))
    assert rows.height >= 20  # a rewording that changed nothing is an exact copy, rejected
    assert (rows[column] > close).mean() >= 0.8  # what the old default rules rejected
    assert rows["accepted"].mean() >= 0.9, rows.filter(~pl.col("accepted"))["reasons"].to_list()


def test_within_candidate_copies_name_their_original(scored: pl.DataFrame) -> None:
    dups = scored.filter(pl.col("kind") == "dup")
    assert not dups["accepted"].any()
    ids = scored["id"]
    kept = 0
    for row in dups.iter_rows(named=True):
        original = scored.row(int(row["orig"]), named=True)
        if original["accepted"]:
            assert row["reasons"] == [f"duplicate_of:{ids[int(row['orig'])]}"]
            kept += 1
    assert kept >= 20
