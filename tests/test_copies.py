"""What counts as a copy (issue 10): exact normalised copies of real rows are always rejected;
near copies, such as one-word edits, are augmentations and pass the default gate (their
closeness is reported beside the real set's own); the unique step drops copies among
candidates, not every variant of one source; lengths are measured against the real rows of the
candidate's own label. These runs use the embedded model (all-MiniLM-L6-v2), as users do."""

from __future__ import annotations

import polars as pl
import pytest

import synthgate
from synthgate.pipeline import score_step
from synthgate.report.page import render_report
from synthgate.scorers.base import Resources
from synthgate.scorers.dedup import DedupScorer
from synthgate.scorers.quality import QualityScorer

REAL = [
    "Are you coming to the cinema tonight or not?",
    "I will call you when I get home from work.",
    "Can you pick up some milk on the way back please",
    "Sorry, I missed your call. Talk tomorrow?",
    "Shall we meet at the park later today?",
    "My train is late again so see you at eight.",
    "Did you remember to feed the cat this morning?",
    "The weather is lovely so fancy a walk by the river?",
]
SOURCE = "Can you pick up some milk on the way back please"
CANDIDATES = {
    "copy": "can you pick up some MILK on the way back, please!",  # exact after normalising
    "swap": "Can you pick up some milk on the back way please",  # EDA: two words swapped
    "delete": "Can you pick up milk on the way back please",  # EDA: one word deleted
    "insert": "Can you pick up some milk on the way back home please",  # EDA: one word added
    "twin": "can you pick up milk on the way back please!!",  # a copy of "delete"
    "new": "Running late, start dinner without me and save me some.",
}
LEXICAL_OFF = {"scorers": {"label": {"enabled": False}, "discriminator": {"enabled": False}}}


@pytest.fixture(scope="module")
def scored() -> pl.DataFrame:
    cand = pl.DataFrame(
        {
            "id": list(CANDIDATES),
            "text": list(CANDIDATES.values()),
            "source": [SOURCE] * 5 + [None],  # "new" was derived from no real row
        }
    )
    return synthgate.score(cand, pl.DataFrame({"text": REAL}), LEXICAL_OFF)


def test_an_exact_copy_of_a_real_row_is_always_rejected(scored: pl.DataFrame) -> None:
    row = scored.row(by_predicate=pl.col("id") == "copy", named=True)
    assert row["dedup_real_exact"] is True
    assert "dedup_real_exact" in row["reasons"] and not row["accepted"]


def test_one_word_edits_of_a_real_row_pass_the_default_gate(scored: pl.DataFrame) -> None:
    edits = scored.filter(pl.col("id").is_in(["swap", "delete", "insert"]))
    assert edits["dedup_semantic_real_cosine"].min() > 0.9  # as close as near copies get
    assert edits["dedup_real_jaccard"].min() > 0.6  # what the old default rule rejected
    assert edits["accepted"].to_list() == [True, True, True], edits["reasons"].to_list()


def test_the_unique_step_drops_copies_among_candidates_not_siblings(
    scored: pl.DataFrame,
) -> None:
    by_id = {r["id"]: r for r in scored.iter_rows(named=True)}
    assert by_id["twin"]["dedup_exact_cluster"] == "delete"
    assert by_id["twin"]["reasons"] == ["duplicate_of:delete"]
    # the siblings of one source are one family in dedup_cluster, yet all of them are kept
    family = {by_id[k]["dedup_cluster"] for k in ("swap", "delete", "insert", "twin")}
    assert len(family) == 1
    assert all(by_id[k]["accepted"] for k in ("swap", "delete", "insert", "new"))


def test_the_old_family_unique_step_is_one_setting_away() -> None:
    cand = pl.DataFrame({"id": ["a", "b"], "text": [CANDIDATES["swap"], CANDIDATES["delete"]]})
    config = {**LEXICAL_OFF, "gate": {"unique": {"column": "dedup_cluster"}}}
    out = synthgate.score(cand, pl.DataFrame({"text": REAL}), config)
    assert out["reasons"].to_list() == [[], ["duplicate_of:a"]]


def test_exact_clusters_group_equal_normalised_text() -> None:
    real = pl.DataFrame({"id": ["r0"], "text": ["Something else entirely, about trains."]})
    cands = pl.DataFrame(
        {
            "id": ["c0", "c1", "c2", "c3", "c4"],
            "text": ["Hello there!", "hello THERE", "", "", "Hi"],
        }
    )
    out = DedupScorer(semantic=False).fit(cands, real, Resources()).score(cands)
    assert out["dedup_exact_cluster"].to_list() == ["c0", "c0", "c2", "c3", "c4"]


def test_templated_real_rows_sit_closer_to_each_other_than_diverse_ones(sms) -> None:
    """The yardstick the report shows for near copies: templated data reads looser."""
    fills = ["John", "Sarah", "Mike", "Anna", "Tom", "Lucy", "Raj", "Mei", "Ola", "Sam"]
    items = ["phone", "pizza", "gym", "dentist", "voucher", "parcel"]
    templated = [
        f"Dear {name}, your {item} order has been shipped today."
        for name in fills
        for item in items
    ]
    diverse = (
        sms.filter(pl.col("label") == "ham")
        .unique("text", keep="first", maintain_order=True)
        .head(60)["text"]
    )
    near = {}
    for kind, texts in (("templated", templated), ("diverse", diverse.to_list())):
        cand = pl.DataFrame({"text": ["A candidate sentence about the weekend."]})
        found = score_step(cand, pl.DataFrame({"text": texts}), LEXICAL_OFF)
        near[kind] = found.summaries["dedup"]["real_nearest_cosine"]
    assert near["templated"]["rows"] == 60 and near["diverse"]["rows"] == 60
    assert near["templated"]["p50"] > 0.9 > near["diverse"]["p50"]
    assert near["templated"]["p50"] > near["diverse"]["p95"]


def test_the_report_shows_novelty_beside_the_real_rows_own(tmp_path) -> None:
    cand = tmp_path / "cand.csv"
    real = tmp_path / "real.csv"
    pl.DataFrame({"text": list(CANDIDATES.values())}).write_csv(cand)
    pl.DataFrame({"text": REAL}).write_csv(real)
    conf = tmp_path / "c.toml"
    conf.write_text("[scorers.label]\nenabled = false\n[scorers.discriminator]\nenabled = false\n")
    result = synthgate.run_job(cand, real, tmp_path / "run", conf)
    reference = result.report["scorers"]["dedup"]["real_nearest_cosine"]
    assert reference["rows"] == len(REAL) and set(reference) >= {"p50", "p90", "p95", "p99"}
    page = render_report(synthgate.load_run(tmp_path / "run"))
    assert "Novelty against the real set" in page
    assert "real rows: nearest other real row" in page


def test_length_is_measured_against_the_candidates_own_label() -> None:
    short = ["ok", "ok then", "sure thing", "fine by me", "yes", "great, thanks", "cool", "no"]
    long = [
        f"This is a {'much ' * (i % 4)}longer description of item {i}, with clauses in it."
        for i in range(30)
    ]
    real = pl.DataFrame({"text": short + long, "label": ["short"] * 8 + ["long"] * 30})
    cand = pl.DataFrame({"text": ["ok right", "ok right"], "label": ["short", "long"]})
    z = QualityScorer().fit(cand, real, Resources()).score(cand)["quality_length_z"].to_list()
    assert -3.5 < z[0] < 3.5  # a short text of the short class is not an outlier
    assert z[1] < -3.5  # the same text labelled with the long class is
