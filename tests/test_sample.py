"""synthgate sample: strata, near-threshold weighting, determinism and the review CSV."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from synthgate.config import merge_config
from synthgate.errors import SynthgateError
from synthgate.io.csvsafe import unneutralise
from synthgate.io.files import read_table
from synthgate.pipeline import gate_step
from synthgate.sample import allocate, sample, write_sample

COLUMNS = {"text": "text", "label": "label", "id": "id"}
SAMPLE_COLUMNS = ["id", "label", "text", "accepted", "reasons", "stratum", "judgement"]


def small_run(with_labels: bool = True):
    """12 rows, two labels; outcomes: accepted, similarity_cosine, quality_words, unique."""
    sim = [0.9, 0.7, 0.55, 0.3, 0.45, 0.99, 0.8, 0.6, 0.2, 0.85, 0.75, 0.65]
    words = [5, 6, 7, 8, 9, 5, 1, 2, 6, 7, 8, 9]
    cluster = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c0", "c10", "c11"]
    frame = pl.DataFrame(
        {
            "id": ["007", "12", "1e3", "NA", "x,y", "5", "6", "7", "8", "9", "10", "11"],
            "text": [f"text number {i}" for i in range(12)],
            "label": ["a", "b"] * 6,
            "similarity_cosine": sim,
            "quality_words": words,
            "dedup_cluster": cluster,
        }
    )
    if not with_labels:
        frame = frame.drop("label")
    config = merge_config(
        {
            "gate": {
                "unique": {"column": "dedup_cluster"},
                "rules": {
                    "similarity_cosine": {"min": 0.5, "max": 0.98},
                    "quality_words": {"min": 3},
                },
            }
        }
    )
    return gate_step(frame, config, COLUMNS if with_labels else {**COLUMNS, "label": None})


def uniform_run(rows: int = 2000):
    """One rule (similarity_cosine >= 0.5) over evenly spread values: the bound is the median."""
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(rows)],
            "text": [f"t{i}" for i in range(rows)],
            "similarity_cosine": np.linspace(0.0, 1.0, rows),
        }
    )
    # The max of 1.5 lies beyond every value, so no row is near it: only the min counts.
    config = merge_config({"gate": {"rules": {"similarity_cosine": {"min": 0.5, "max": 1.5}}}})
    return gate_step(frame, config, {**COLUMNS, "label": None})


def strata_of(run) -> set[str]:
    return set(sample(run, run.frame.height)["stratum"].to_list())


def test_strata_are_label_by_outcome_and_each_is_covered() -> None:
    run = small_run()
    everything = sample(run, 100)
    assert everything.height == 12
    assert everything.columns == SAMPLE_COLUMNS
    found = strata_of(run)
    assert found == {
        "a / accepted",
        "b / accepted",
        "a / similarity_cosine",
        "b / similarity_cosine",
        "a / quality_words",
        "b / quality_words",
        "b / unique",  # row 9 repeats cluster c0 of row 0
    }
    picked = sample(run, len(found), seed=3)
    assert picked.height == len(found)
    assert set(picked["stratum"]) == found
    assert picked["judgement"].to_list() == [""] * len(found)


def test_reasons_are_joined_and_accepted_kept() -> None:
    frame = sample(small_run(), 100)
    row = frame.filter(pl.col("id") == "9").row(0, named=True)
    assert row["reasons"] == "duplicate_of:007"
    assert row["accepted"] is False
    both = frame.filter(pl.col("id") == "8").row(0, named=True)  # 0.2 and 6 words: one reason
    assert both["reasons"] == "similarity_cosine<0.5"
    assert frame.filter("accepted").height == int(small_run().frame["accepted"].sum())


def test_allocation_gives_every_stratum_one_then_proportional() -> None:
    # n=10 over 90/9/1: one each, then the 7 left go where the share 10*size/100 is furthest
    # ahead of what is given: a (9.0 - 1) every time.
    assert allocate({"a": 90, "b": 9, "c": 1}, 10) == {"a": 8, "b": 1, "c": 1}
    # 40 over 50/30/20: shares 20/12/8 exactly.
    assert allocate({"a": 50, "b": 30, "c": 20}, 40) == {"a": 20, "b": 12, "c": 8}
    # Fewer rows than strata: the largest strata get one.
    assert allocate({"a": 5, "b": 3, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    # Shares 0.98 / 49.02: the small stratum gets its one row, no more.
    assert allocate({"a": 2, "b": 100}, 50) == {"a": 1, "b": 49}
    # Never more than a stratum holds.
    assert allocate({"a": 2, "b": 3}, 10) == {"a": 2, "b": 3}


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    run = uniform_run()
    first = sample(run, 50, seed=7)
    assert first.equals(sample(run, 50, seed=7))
    assert set(first["id"]) != set(sample(run, 50, seed=8)["id"])


def test_rows_near_the_threshold_are_over_represented() -> None:
    run = uniform_run()
    values = dict(zip(run.frame["id"], run.frame["similarity_cosine"], strict=True))
    near = []
    for seed in range(3):
        picked = sample(run, 200, seed=seed)
        assert picked["stratum"].value_counts().sort("stratum")["count"].to_list() == [100, 100]
        dist = np.abs(np.array([values[i] for i in picked["id"]]) - 0.5)
        near.append(float(np.mean(dist < 0.1)))
    # Uniform draws would put 20% of rows within 0.1 of the bound (0.1 of each stratum's 0.5);
    # weights exp(-d / 0.1) put up to (1 - e^-1) / (1 - e^-5) = 64% there (drawing without
    # replacement flattens that a little); measured 0.600-0.615 over seeds 0-5.
    assert min(near) > 0.5, near


def test_n_larger_than_the_run_gives_every_row() -> None:
    run = small_run()
    frame = sample(run, 10_000)
    assert sorted(frame["id"]) == sorted(run.frame["id"])


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_n_below_one_or_not_an_int_is_refused(n) -> None:
    with pytest.raises(SynthgateError, match="--n: must be an int >= 1"):
        sample(small_run(), n)


def test_no_labels_means_outcome_strata_and_no_label_column() -> None:
    run = small_run(with_labels=False)
    frame = sample(run, 100)
    assert "label" not in frame.columns
    assert set(frame["stratum"]) == {"accepted", "similarity_cosine", "quality_words", "unique"}


def test_csv_round_trips_ids_and_awkward_text(tmp_path) -> None:
    texts = [
        'He said "hi", then left',
        "line one\nline two",
        "comma, comma, comma",
        "windows\r\nline end",
        '=SUM(A1) and a "quoted, comma"',
        "",
    ]
    ids = ["007", "1e3", "NA", "x,y", " 5", "12"]
    frame = pl.DataFrame(
        {"id": ids, "text": texts, "label": ["a"] * 6, "similarity_cosine": [0.7] * 6}
    )
    config = merge_config({"gate": {"rules": {"similarity_cosine": {"min": 0.5}}}})
    run = gate_step(frame, config, COLUMNS)
    path = write_sample(sample(run, 6), tmp_path / "review.csv")
    back = read_table(path)
    assert back.columns == SAMPLE_COLUMNS
    got = dict(zip(back["id"], back["text"], strict=True))
    # the formula is written quoted (see test_cells_a_spreadsheet_would_run_are_quoted)
    assert got == dict(zip(ids, [*texts[:4], "'" + texts[4], texts[5]], strict=True))
    undone = dict(zip(back["id"], unneutralise(back["text"]), strict=True))
    assert undone == dict(zip(ids, texts, strict=True))
    assert back["judgement"].to_list() == [""] * 6


def test_write_sample_refuses_a_directory(tmp_path) -> None:
    with pytest.raises(SynthgateError, match="is a directory"):
        write_sample(sample(small_run(), 3), tmp_path)


def test_a_filled_in_sample_is_read_back_by_tune_labels(tmp_path) -> None:
    from synthgate.tune.labels import read_judgements

    run = small_run()
    frame = sample(run, 6, seed=1)
    filled = frame.with_columns(
        judgement=pl.Series(["good", "bad", "", "Good", "bad", ""][: frame.height])
    )
    path = write_sample(filled, tmp_path / "review.csv")
    back = read_judgements(path, run)
    assert back["id"].to_list() == frame["id"].to_list()
    assert back["good"].to_list() == [True, False, None, True, False, None][: frame.height]


# ids a spreadsheet would run (OWASP CSV injection), ones with quotes before a trigger, and
# plain ones that must be left alone
FORMULA_IDS = ["-1", "=A1", "@x", "+1", "\tx", "\rx", "'=A1", "''-2", "'abc", "a=b", "7"]
WRITTEN_IDS = ["'-1", "'=A1", "'@x", "'+1", "'\tx", "'\rx", "''=A1", "'''-2", "'abc", "a=b", "7"]


def formula_run():
    """One row per awkward id; a text, a label and a user column a spreadsheet would run."""
    n = len(FORMULA_IDS)
    frame = pl.DataFrame(
        {
            "id": FORMULA_IDS,
            "text": ['=HYPERLINK("http://x","click")'] * n,
            "label": ["@spam"] * n,
            "note": ["-2+3"] * n,  # the user's own column: kept, and quoted too
            "score": [-1.5] * n,  # a number is never a formula: left as it is
            "similarity_cosine": [0.7] * n,
        }
    )
    config = merge_config({"gate": {"rules": {"similarity_cosine": {"min": 0.5}}}})
    return gate_step(frame, config, COLUMNS)


def test_cells_a_spreadsheet_would_run_are_quoted(tmp_path) -> None:
    path = write_sample(sample(formula_run(), 100), tmp_path / "review.csv")
    back = read_table(path)
    assert sorted(back["id"]) == sorted(WRITTEN_IDS)
    assert set(back["text"]) == {'\'=HYPERLINK("http://x","click")'}
    assert set(back["label"]) == {"'@spam"}
    assert set(back["note"]) == {"'-2+3"}
    assert set(back["score"]) == {"-1.5"}


def test_quoted_ids_read_back_exactly_by_tune_labels(tmp_path) -> None:
    from synthgate.tune.labels import read_judgements

    run = formula_run()
    filled = sample(run, 100).with_columns(judgement=pl.lit("good"))
    back = read_judgements(write_sample(filled, tmp_path / "review.csv"), run)
    assert sorted(back["id"]) == sorted(FORMULA_IDS)
    assert back["good"].all()


def test_the_review_file_keeps_the_inputs_own_columns(tmp_path) -> None:
    frame = pl.DataFrame(
        {
            "uid": ["a", "b", "c"],
            "body": ["one text here", "two text here", "three text here"],
            "label": ["x", "y", "x"],
            "source": ["src one", "src two", "src three"],
            "text": ["a clash", "with the", "sample's text"],  # not the text role here
            "stratum": [1, 2, 3],
            "tags": [["t1"], [], None],  # nested: written as JSON
            "similarity_cosine": [0.7, 0.2, 0.9],
        }
    )
    config = merge_config({"gate": {"rules": {"similarity_cosine": {"min": 0.5}}}})
    run = gate_step(frame, config, {"text": "body", "label": "label", "id": "uid"})
    picked = sample(run, 10)
    assert picked.columns == [
        "id", "label", "text", "source", "input_text", "input_stratum", "tags",
        "accepted", "reasons", "stratum", "judgement",
    ]  # fmt: skip
    back = read_table(write_sample(picked, tmp_path / "review.csv")).sort("id")
    assert back["text"].to_list() == frame["body"].to_list()
    assert back["source"].to_list() == frame["source"].to_list()
    assert back["input_text"].to_list() == frame["text"].to_list()
    assert back["input_stratum"].to_list() == ["1", "2", "3"]
    assert back["tags"].to_list() == ['["t1"]', "[]", ""]  # CSV has no null: empty
    assert "similarity_cosine" not in back.columns  # scores stay in scored.parquet
