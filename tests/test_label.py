"""Label fidelity on SMS Spam: off-label candidates are caught, on-label ones pass, and inputs
without usable labels give nulls and say why."""

from __future__ import annotations

import json

import plant
import polars as pl
import pytest

from synthgate.config import DEFAULT_RULES
from synthgate.embed import Embedder, Embeddings
from synthgate.errors import ConfigError
from synthgate.scorers.base import Resources
from synthgate.scorers.label import SHOWN_LABELS, LabelScorer, closest_label

# The default gate rule (benchmarks/label_features.py); 0.2 until config.py carries it.
MIN_P = DEFAULT_RULES.get("label_p_intended", ({"min": 0.2}, ""))[0]["min"]
N_OFF = 30  # planted per direction


def _ids(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.with_columns(id=pl.format(prefix + "{}", pl.int_range(pl.len())))


@pytest.fixture(scope="module")
def data(sms: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, Embeddings]:
    """1,000 real SMS; held-out SMS as candidates: 160 with their label, 60 with the wrong one."""
    real, held = plant.holdout(sms, 0.2, seed=0)
    ham, spam = held.filter(label="ham"), held.filter(label="spam")
    on = pl.concat([ham.head(130), spam.head(30)]).with_columns(kind=pl.lit("on"))
    off = pl.concat(
        [
            ham.slice(130, N_OFF).with_columns(label=pl.lit("spam")),  # reads as ham
            spam.slice(30, N_OFF).with_columns(label=pl.lit("ham")),  # reads as spam
        ]
    ).with_columns(kind=pl.lit("off"))
    real, cand = _ids(real.head(1000), "r"), _ids(pl.concat([on, off]), "c")
    return real, cand, Embeddings.build([real["text"], cand["text"]], Embedder())


@pytest.fixture(scope="module")
def scored(data) -> tuple[LabelScorer, pl.DataFrame]:
    real, cand, emb = data
    scorer = LabelScorer().fit(cand, real, Resources(emb))
    return scorer, cand.hstack(scorer.score(cand))


def test_off_label_candidates_are_caught(scored) -> None:
    _, out = scored
    off = out.filter(kind="off")
    assert off.height == 2 * N_OFF
    caught = off["label_p_intended"] < MIN_P
    assert (
        caught.mean() >= 0.9
    )  # the misses are spam that reads like chat: "I have won ... wot do i do"
    assert caught.filter(off["label"] == "spam").sum() >= N_OFF - 1  # "spam" that reads as ham
    assert (off["label_predicted"] != off["label"]).mean() >= 0.95


def test_on_label_held_out_rows_pass(scored) -> None:
    _, out = scored
    on = out.filter(kind="on")
    assert (on["label_p_intended"] >= MIN_P).mean() >= 0.95
    assert (on["label_predicted"] == on["label"]).mean() >= 0.95


def test_off_label_rows_fall_below_floors_the_real_set_shows_it_reads(scored) -> None:
    """On SMS the classifier reads both labels (other rows fall below 0.2 far more often than
    a label's own), so each floor is the fixed 0.2: a ham message labelled spam is rejected
    even where 1% of real spam reads lower than it; held-out rows keep their label."""
    scorer, out = scored
    assert scorer.summary_["floors"] == {"ham": MIN_P, "spam": MIN_P}
    for label, seen in scorer.summary_["floor_evidence"].items():
        assert seen["other_below"] >= scorer.floor_ratio * seen["real_below"], label
    off, on = out.filter(kind="off"), out.filter(kind="on")
    assert (off.filter(label="spam")["label_p_margin"] < 0).sum() >= N_OFF - 1
    assert (off["label_p_margin"] < 0).mean() >= 0.9
    assert (on["label_p_margin"] >= 0).mean() >= 0.95


def _proba(own: list[float], other: list[float]) -> tuple[object, object]:
    """Out-of-fold p of two labels: label a's rows read `own` as a, b's rows read `other`."""
    import numpy as np

    p_a = np.array(own + other)
    return np.array(["a"] * len(own) + ["b"] * len(other)), np.c_[p_a, 1 - p_a]


def test_floor_is_floor_max_where_other_labels_rows_fall_below_it_far_more_often() -> None:
    # 5% of a's rows under 0.2 against 90% of b's rows: the cut reads a; its 1% quantile (0.05)
    # would let b rows between 0.05 and 0.2 pass as a
    labels, proba = _proba([0.05] * 5 + [0.9] * 95, [0.1] * 90 + [0.3] * 10)
    floors, evidence = LabelScorer()._floors(labels, proba, ["a", "b"])
    assert floors["a"] == 0.2
    assert evidence["a"] == {"real_below": 0.05, "other_below": 0.9}


def test_floor_falls_to_the_quantile_where_the_cut_does_not_read_the_label() -> None:
    # 30% of a's rows and 45% of b's under 0.2 (ratio 1.5 < 3): a fixed 0.2 would reject 30%
    # of a's real rows, so the floor is the 1% quantile of a's own p
    labels, proba = _proba([0.01] * 30 + [0.6] * 70, [0.1] * 45 + [0.7] * 55)
    floors, _ = LabelScorer()._floors(labels, proba, ["a", "b"])
    assert floors["a"] == 0.01
    assert LabelScorer(floor_ratio=0)._floors(labels, proba, ["a", "b"])[0]["a"] == 0.2
    assert LabelScorer(floor_ratio=1.4)._floors(labels, proba, ["a", "b"])[0]["a"] == 0.2


def test_summary_is_json_with_cv_accuracy(scored) -> None:
    scorer, _ = scored
    summary = json.loads(json.dumps(scorer.summary_))
    assert summary["classes"] == ["ham", "spam"]
    assert summary["cv_accuracy"] > 0.9
    assert summary["real_rows"]["ham"] + summary["real_rows"]["spam"] == 1000
    assert summary["scored"] == 160 + 2 * N_OFF
    assert summary["warnings"] == []
    assert summary["skipped"] is None


def test_dtypes_and_split_batches(data, scored) -> None:
    scorer, _ = scored
    _, cand, _ = data
    whole = scorer.score(cand)
    assert whole.schema == pl.Schema(LabelScorer.columns)
    parts = pl.concat([scorer.score(cand.slice(i, 7)) for i in range(0, cand.height, 7)])
    assert parts.equals(whole)
    assert whole["label_p_intended"].null_count() == 0


def test_no_labels_give_nulls(data) -> None:
    real, cand, emb = data
    for c, r in ((cand.drop("label"), real), (cand, real.drop("label"))):
        scorer = LabelScorer().fit(c, r, Resources(emb))
        out = scorer.score(c)
        assert out.null_count().row(0) == (c.height,) * out.width  # label_unknown too
        assert out.width == len(LabelScorer.columns)
        assert scorer.summary_["skipped"].startswith("label scorer skipped: ")
    assert "real rows per label: none" in scorer.summary_["skipped"]


def test_null_label_and_blank_text_give_nulls(data) -> None:
    real, cand, emb = data
    odd = pl.DataFrame(
        {"id": ["x1", "x2", "x3"], "text": ["Free prize, call now", "   ", None]},
        schema_overrides={"text": pl.String},
    ).with_columns(label=pl.Series([None, "spam", "ham"], dtype=pl.String))
    both = pl.concat([cand.select("id", "text", "label"), odd])
    out = LabelScorer(cv_folds=0).fit(both, real, Resources(emb)).score(odd)
    assert out.null_count().row(0) == (3, 3, 3, 1)  # p, margin, predicted null; unknown set
    assert out["label_unknown"].to_list() == [None, False, False]  # a known label, blank text


def test_label_absent_from_real_is_null_and_named(data) -> None:
    real, cand, emb = data
    cand = cand.with_columns(
        label=pl.when(pl.int_range(pl.len()) < 12).then(pl.lit("promo")).otherwise("label")
    )
    scorer = LabelScorer(cv_folds=0).fit(cand, real, Resources(emb))
    promo = scorer.score(cand).head(12)
    assert promo["label_p_intended"].null_count() == 12
    assert promo["label_predicted"].is_in(["ham", "spam"]).all()
    assert promo["label_unknown"].all()
    assert scorer.summary_["warnings"] == [
        "label 'promo': no real row has it; 12 candidates flagged label_unknown "
        "(real labels: 'ham', 'spam')"
    ]


def test_label_with_one_real_row_is_left_out(data) -> None:
    real, cand, emb = data
    real = real.with_columns(
        label=pl.when(pl.col("id") == "r0").then(pl.lit("promo")).otherwise("label")
    )
    cand = cand.with_columns(
        label=pl.when(pl.col("id") == "c0").then(pl.lit("promo")).otherwise("label")
    )
    scorer = LabelScorer(cv_folds=0).fit(cand, real, Resources(emb))
    out = scorer.score(cand)
    assert out["label_p_intended"].null_count() == 1
    assert not out["label_unknown"].any()  # one real row has it: known, just not learnt
    assert scorer.summary_["classes"] == ["ham", "spam"]
    assert "label 'promo': only 1 real row(s)" in scorer.summary_["warnings"][0]


def test_single_class_real_gives_nulls_and_says_why(data) -> None:
    real, cand, emb = data
    ham = real.filter(label="ham")
    scorer = LabelScorer().fit(cand, ham, Resources(emb))
    out = scorer.score(cand)
    assert out.null_count().row(0) == (cand.height,) * 3 + (0,)
    # the classifier is skipped, yet a spam candidate's label is still one no real row has
    assert out["label_unknown"].to_list() == (cand["label"] == "spam").to_list()
    assert "needs 2+ labels" in scorer.summary_["skipped"]
    assert scorer.summary_["skipped"].endswith(f"real rows per label: 'ham': {ham.height}")


def test_without_embeddings_falls_back_to_tfidf(data) -> None:
    real, cand, _ = data
    scorer = LabelScorer(cv_folds=0).fit(cand, real, Resources())
    out = cand.hstack(scorer.score(cand))
    assert "TF-IDF" in scorer.summary_["warnings"][0]
    assert (out.filter(kind="off")["label_p_intended"] < 0.5).mean() >= 0.9
    assert LabelScorer(features="tfidf").needs == ()
    assert LabelScorer().needs == ("embeddings",)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"features": "bert"}, "features"),
        ({"c": 0.0}, "c"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"floor_ratio": -1.0}, "floor_ratio"),
    ],
)
def test_bad_parameters_name_the_key(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^scorers\.label\.{key}: "):
        LabelScorer(**params)


def test_a_label_in_the_wrong_case_is_flagged_and_the_real_one_named(data) -> None:
    real, cand, emb = data
    spam = cand["label"] == "spam"
    cand = cand.with_columns(label=pl.when(spam).then(pl.lit("SPAM")).otherwise("label"))
    scorer = LabelScorer(cv_folds=0).fit(cand, real, Resources(emb))
    out = scorer.score(cand)
    assert out["label_unknown"].to_list() == spam.to_list()
    assert out.filter(spam)["label_p_intended"].null_count() == spam.sum()
    assert scorer.summary_["warnings"] == [
        f"label 'SPAM': no real row has it; {spam.sum()} candidates flagged label_unknown "
        "(did you mean 'spam'?)"
    ]


def test_closest_label_is_case_insensitive_first_then_difflib() -> None:
    known = ["ham", "spam", "Sports"]
    assert closest_label("SPAM", known) == "spam"
    assert closest_label(" sports ", known) == "Sports"
    assert closest_label("spma", known) == "spam"
    assert closest_label("hamm", known) == "ham"
    assert closest_label("weather", known) is None


def test_many_unknown_labels_are_named_up_to_a_limit(data) -> None:
    real, cand, emb = data
    n = SHOWN_LABELS + 3
    cand = cand.with_columns(label=pl.format("topic{}", pl.int_range(pl.len()) % n))
    scorer = LabelScorer(features="tfidf", cv_folds=0).fit(cand, real, Resources(emb))
    warnings = scorer.summary_["warnings"]
    assert len(warnings) == SHOWN_LABELS + 1
    assert warnings[-1].startswith("3 more labels no real row has, on ")
    assert scorer.score(cand)["label_unknown"].all()
